"""The QEMU compute driver (``compute.driver = "qemu"``, the default).

* :mod:`.driver`: the :class:`~ownstack.compute.drivers.base.ComputeDriver` itself;
* :mod:`.process`: a guest's files, its recipe, and its QEMU process;
* :mod:`.images`: bases, overlays and snapshots with ``qemu-img``;
* :mod:`.configdrive`: the ISO9660 config drive;
* :mod:`.host`: the KVM probe and the host's real resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import ComputeDriver

__all__ = ["from_config"]


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> ComputeDriver:
    """The agent's factory; see :func:`ownstack.compute.drivers.qemu.driver.from_config`."""
    from ownstack.compute.drivers.qemu import driver

    return driver.from_config(host, state_dir, options)
