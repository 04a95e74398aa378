"""Disk image formats: what a file is, and is it safe to hand a hypervisor?

The rules every service applies to a disk image it did not make itself: the image service
to each upload, the volume agent to an image it copies into a volume. An image file can
make whoever opens it read other files: a qcow2 header may name a backing file or an
external data file, and a VMDK descriptor names its extents. If a service (or QEMU) opens
such an image, it reads a host file, such as ``/etc/shadow`` or another tenant's disk, as
if it were part of the guest's disk. That is the class of attack behind OSSA-2024-001
(CVE-2024-32498) and several before it. A file that breaks a rule below raises
:class:`UnsafeDiskImage`, whose message says which.

Two layers, the second being authoritative:

1. A header pre-check in Python, before any tool opens the file, so that ``qemu-img``
   itself never follows a reference: a qcow2 header with a backing file, an external data
   file or encryption, and a VMDK text descriptor (which can only point at other files),
   are refused outright.
2. ``qemu-img info --output=json --force-share <path>`` under ``prlimit`` (address space
   ``memory_mb`` MiB, ``timeout`` CPU seconds) and a wall-clock ``timeout`` (the process
   is killed when it expires). Format probing is left to qemu-img (no ``-f``), so the
   detected format is what a hypervisor probing the file would see. Its answer must pass:

   - **format match**: the declared ``disk_format`` must match the detected format:
     qcow2->qcow2, raw->raw, vmdk->vmdk, vdi->vdi, vhd->vpc, vhdx->vhdx,
     ploop->parallels; iso, ami, ari and aki accept raw (an ISO is probed as raw). So a
     "raw" image whose bytes are qcow2 (with a backing file: the classic exploit), VMDK,
     LUKS, ... is refused;
   - **no backing file** (``backing-filename``, ``full-backing-filename``);
   - **no external data file** (qcow2 ``format-specific.data.data-file``);
   - **no encryption** (``encrypted``, qcow2 ``encrypt``): nobody here can read it;
   - **VMDK**: ``create-type`` is ``monolithicSparse`` or ``streamOptimized``, and every
     extent's file is the image itself;
   - **qemu-img must succeed**: data it cannot parse (junk declared as qcow2), a timeout
     or a resource limit hit are refused with qemu-img's message (the path removed).

A host without qemu-img or prlimit raises :class:`InspectorMissing`: an operator's
problem, not the image's.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class UnsafeDiskImage(ValueError):
    """The file is not what was declared, or is unsafe to hand a hypervisor."""

    @property
    def message(self) -> str:
        return str(self)


class InspectorMissing(RuntimeError):
    """qemu-img or prlimit is not installed on this host."""


# disk_format -> the formats qemu-img may detect for it.
ACCEPTED_DETECTIONS: dict[str, frozenset[str]] = {
    "qcow2": frozenset({"qcow2"}),
    "raw": frozenset({"raw"}),
    "vmdk": frozenset({"vmdk"}),
    "vdi": frozenset({"vdi"}),
    "vhd": frozenset({"vpc"}),
    "vhdx": frozenset({"vhdx"}),
    "ploop": frozenset({"parallels"}),
    "iso": frozenset({"raw"}),
    "ami": frozenset({"raw"}),
    "ari": frozenset({"raw"}),
    "aki": frozenset({"raw"}),
}
SAFE_VMDK_TYPES = frozenset({"monolithicSparse", "streamOptimized"})

_QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2
_HEADER_BYTES = 4096              # qemu probes 2 KiB; a little more costs nothing
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class InspectResult:
    format: str                   # as qemu-img names it: qcow2, raw, vpc, parallels, ...
    virtual_size: int


async def inspect_image(path: Path, *, declared_format: str,
                        timeout: int, memory_mb: int,
                        ) -> InspectResult:
    """Inspect the file at ``path`` and return its format and virtual size, or raise
    :class:`UnsafeDiskImage` when it breaks a rule in this module's docstring."""
    # Absolute, so that qemu-img never reads a "protocol:" prefix from the name.
    path = Path(await asyncio.to_thread(os.path.abspath, path))
    await asyncio.to_thread(precheck_header, path)
    info = await _qemu_img_info(path, timeout=timeout, memory_mb=memory_mb)
    return check_info(info, path=str(path), declared_format=declared_format)


def precheck_header(path: Path) -> None:
    """Refuse, from the first bytes alone, images that would make qemu-img open another file."""
    with open(path, "rb") as file:
        head = file.read(_HEADER_BYTES)
    if head[:4] == _QCOW2_MAGIC and len(head) >= 72:
        version, backing_offset = struct.unpack(">IQ", head[4:16])
        crypt_method = struct.unpack(">I", head[32:36])[0]
        if backing_offset:
            raise UnsafeDiskImage("The image data is qcow2 with a backing file, which is not "
                               "allowed.")
        if crypt_method:
            raise UnsafeDiskImage("The image data is an encrypted qcow2, which is not allowed.")
        if version >= 3 and len(head) >= 80:
            incompatible = struct.unpack(">Q", head[72:80])[0]
            if incompatible & _QCOW2_INCOMPAT_DATA_FILE:
                raise UnsafeDiskImage("The image data is qcow2 with an external data file, "
                                   "which is not allowed.")
    if _is_vmdk_descriptor(head):
        raise UnsafeDiskImage("The image data is a VMDK descriptor file, which refers to other "
                           "files; upload a monolithicSparse or streamOptimized VMDK.")


def check_info(info: Any, *, path: str, declared_format: str) -> InspectResult:
    """Apply the rules to ``qemu-img info --output=json`` of the file at ``path``."""
    if not isinstance(info, dict):
        raise UnsafeDiskImage("qemu-img gave no usable description of the image data.")
    detected = info.get("format")
    virtual_size = info.get("virtual-size")
    if not isinstance(detected, str) or not isinstance(virtual_size, int) or virtual_size < 0:
        raise UnsafeDiskImage("qemu-img gave no usable description of the image data.")
    accepted = ACCEPTED_DETECTIONS.get(declared_format, frozenset())
    if detected not in accepted:
        raise UnsafeDiskImage(f"disk_format {declared_format} does not match the data "
                           f"(qemu-img found {detected}).")
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeDiskImage(f"The image data is {detected} with a backing file, which is not "
                           f"allowed.")
    specific = info.get("format-specific")
    data = specific.get("data") if isinstance(specific, dict) else None
    data = data if isinstance(data, dict) else {}
    if data.get("data-file"):
        raise UnsafeDiskImage(f"The image data is {detected} with an external data file, which "
                           f"is not allowed.")
    if info.get("encrypted") or data.get("encrypt"):
        raise UnsafeDiskImage(f"The image data is an encrypted {detected}, which is not allowed.")
    if detected == "vmdk":
        _check_vmdk(data, path)
    return InspectResult(format=detected, virtual_size=virtual_size)


def _check_vmdk(data: dict[str, Any], path: str) -> None:
    create_type = data.get("create-type")
    if create_type not in SAFE_VMDK_TYPES:
        raise UnsafeDiskImage(f"VMDK create-type {create_type} is not allowed; only "
                           f"monolithicSparse and streamOptimized are.")
    extents = data.get("extents")
    if not isinstance(extents, list):
        raise UnsafeDiskImage("qemu-img listed no extents for the VMDK image.")
    for extent in extents:
        filename = extent.get("filename") if isinstance(extent, dict) else None
        if filename != path:
            raise UnsafeDiskImage("The VMDK image has an extent in another file, which is not "
                               "allowed.")


def _is_vmdk_descriptor(head: bytes) -> bool:
    """qemu's own probe for a text descriptor: comments and blank lines, then ``version=``."""
    for raw_line in head.split(b"\n"):
        line = raw_line.strip(b" \r")
        if not line or line.startswith(b"#"):
            continue
        return line.startswith(b"version=")
    return False


async def _qemu_img_info(path: Path, *, timeout: int, memory_mb: int,
                         ) -> Any:
    argv = ["prlimit", f"--as={memory_mb * 1024 * 1024}", f"--cpu={timeout}", "--",
            "qemu-img", "info", "--output=json", "--force-share", str(path)]
    env = {"LC_ALL": "C", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise InspectorMissing() from None
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        raise UnsafeDiskImage(f"The image data could not be inspected: inspection timed out "
                           f"after {timeout} seconds.") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if stderr.startswith(b"prlimit:"):     # prlimit's own failure, before qemu-img ran
        raise InspectorMissing()
    if proc.returncode != 0:
        raise UnsafeDiskImage(f"The image data could not be inspected: "
                           f"{_summarize(stderr, path, proc.returncode)}")
    try:
        return json.loads(stdout)
    except ValueError:
        raise UnsafeDiskImage("qemu-img gave no usable description of the image data.") from None


def _summarize(stderr: bytes, path: Path, returncode: int | None) -> str:
    """qemu-img's last message line, without the store's path in it."""
    if returncode is not None and returncode < 0:
        return f"qemu-img was stopped by signal {-returncode} (a resource limit was hit)."
    lines = [ln.strip() for ln in stderr.decode(errors="replace").splitlines() if ln.strip()]
    message = lines[-1] if lines else f"qemu-img failed with exit status {returncode}."
    message = message.replace(str(path), "<image>").removeprefix("qemu-img: ")
    return message[:_MESSAGE_LIMIT]
