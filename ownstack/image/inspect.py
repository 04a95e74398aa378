"""Format inspection of uploaded image data: what is it, and is it safe to hand a hypervisor?

An image file can make whoever opens it read other files: a qcow2 header may name a
backing file or an external data file, and a VMDK descriptor names its extents. If the
service (or Nova, later) opens such an image, it reads a host file, such as
``/etc/shadow`` or another tenant's image, as if it were part of the guest's disk. That
is the class of attack behind OSSA-2024-001 (CVE-2024-32498) and several before it. So
every upload is inspected before its image becomes ``active``, and refused with a 400
(:class:`BadImageData`) when any rule fails.

The rules, and why each exists, are :mod:`ownstack.common.disk_format`'s, which the volume
agent applies too (to an image it copies into a volume); this module turns a broken rule
into the image service's 400 (:class:`BadImageData`) and removes the store path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ownstack.common import disk_format
from ownstack.common.disk_format import (
    ACCEPTED_DETECTIONS,
    SAFE_VMDK_TYPES,
    InspectResult,
    precheck_header,
)
from ownstack.image.errors import BadImageData, InspectorUnavailable

__all__ = ["ACCEPTED_DETECTIONS", "SAFE_VMDK_TYPES", "InspectResult", "check_info",
           "inspect_image", "precheck_header"]


async def inspect_image(path: Path, *, declared_format: str, timeout: int, memory_mb: int
                        ) -> InspectResult:
    """Inspect the file at ``path`` and return its format and virtual size, or raise
    :class:`BadImageData` when it breaks a rule of :mod:`ownstack.common.disk_format`."""
    try:
        return await disk_format.inspect_image(path, declared_format=declared_format,
                                               timeout=timeout, memory_mb=memory_mb)
    except disk_format.UnsafeDiskImage as exc:
        raise BadImageData(str(exc)) from None
    except disk_format.InspectorMissing:
        raise InspectorUnavailable() from None


def check_info(info: Any, *, path: str, declared_format: str) -> InspectResult:
    """The rules applied to ``qemu-img info --output=json`` of the file at ``path``."""
    try:
        return disk_format.check_info(info, path=path, declared_format=declared_format)
    except disk_format.UnsafeDiskImage as exc:
        raise BadImageData(str(exc)) from None
