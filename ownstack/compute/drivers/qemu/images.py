"""Disk files of QEMU guests: base images, per-guest overlays, snapshots (``qemu-img``).

The agent's image cache hands the driver a hash-verified file. The image service already
refused images that point at other files (backing files, data files, VMDK extents), but the
driver checks again before QEMU opens anything, as Nova does: the cache is a file on a
host, and a hypervisor is the last place to be trusting.

* **Base**: a qcow2 image without a backing file is used in place as the overlays' backing
  file. Any other format (raw, vmdk, ...) is converted once per host into
  ``<bases>/<image_id>.qcow2`` (the ``image_convert`` phase), written under a temp name and
  renamed, so a crash never leaves half a base.
* **Overlay**: ``disk.qcow2`` per guest, backed by the base, sized to the flavor's disk
  (``root_gb``; 0 keeps the image's virtual size, as in Nova). An image larger than the
  flavor's disk is refused (the API refuses it first; this is the node's own check).
  A cold migration's destination takes over the source's overlay instead, pointed at its
  own base (:meth:`QemuImg.adopt_overlay`).
* **Bootable**: the first sector of the disk must carry the BIOS boot signature
  (``0x55 0xAA``), or SeaBIOS would loop on "not a bootable disk" with the guest RUNNING
  and nothing booting. Checked on the base, read through ``qemu-img dd`` so any format works.
* **Snapshot**: the overlay and its backing chain flattened into one standalone qcow2.

Every ``qemu-img`` runs with an argument list, a wall-clock timeout, ``--force-share`` where
it only reads, and ``-f`` always given (never probed).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import DriverError, ImageRef, SpawnFailed

__all__ = ["BaseImage", "QemuImg", "QemuImgError"]

GIB = 1024 ** 3
BOOT_SIGNATURE = b"\x55\xaa"
# Glance disk_format -> qemu-img's format name. Others (iso, ami, aki, ari) do not boot as
# a disk.
QEMU_FORMATS: dict[str, str] = {
    "qcow2": "qcow2", "raw": "raw", "vmdk": "vmdk", "vdi": "vdi", "vhd": "vpc",
    "vhdx": "vhdx", "ploop": "parallels",
}


class QemuImgError(DriverError):
    """``qemu-img`` failed; ``message`` is its own explanation."""

    def __init__(self, argv: list[str], message: str) -> None:
        self.argv = argv
        self.message = message
        super().__init__(f"{' '.join(argv[:2])} failed: {message}")


@dataclass(frozen=True, slots=True)
class BaseImage:
    """A qcow2 file overlays can be backed by, with the image's virtual size."""

    path: Path
    virtual_size: int


class QemuImg:
    """``qemu-img`` with timeouts; one per driver."""

    def __init__(self, binary: str = "qemu-img", *, timeout: float = 600.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self._convert_locks: dict[str, asyncio.Lock] = {}

    async def run(self, *args: str, timeout: float | None = None) -> bytes:
        argv = [self.binary, *args]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except FileNotFoundError:
            raise QemuImgError(argv, f"{self.binary} is not installed "
                                     f"(Debian package qemu-utils)") from None
        try:
            async with asyncio.timeout(timeout or self.timeout):
                stdout, stderr = await process.communicate()
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if process.returncode != 0:
            message = stderr.decode(errors="replace").strip().splitlines()
            raise QemuImgError(argv, message[-1] if message else f"exit {process.returncode}")
        return stdout

    async def info(self, path: Path, fmt: str, *, force_share: bool = True) -> dict[str, Any]:
        args = ["info", "--output=json", "-f", fmt]
        if force_share:
            args.append("--force-share")
        data = json.loads(await self.run(*args, str(path), timeout=30))
        if not isinstance(data, dict):
            raise QemuImgError([self.binary, "info"], "unexpected output")
        return data

    # -- bases ---------------------------------------------------------------------------

    async def base_for(self, image: ImageRef, bases: Path) -> tuple[BaseImage, bool]:
        """The qcow2 base of ``image`` and whether it had to be converted now.

        Raises :class:`SpawnFailed` (not retryable) for an image that cannot be a disk.
        """
        fmt = QEMU_FORMATS.get(image.disk_format)
        if fmt is None:
            raise SpawnFailed(f"Image {image.id} has disk_format {image.disk_format!r}, "
                              f"which does not boot as a disk.", retryable=False)
        if not image.path.is_file():
            raise SpawnFailed(f"Image {image.id} is missing from the host's image cache.")
        info = await self._checked_info(image, fmt)
        if fmt == "qcow2":
            return BaseImage(image.path, int(info["virtual-size"])), False
        target = bases / f"{image.id}.qcow2"
        lock = self._convert_locks.setdefault(image.id, asyncio.Lock())
        async with lock:
            if target.is_file():
                os.utime(target)
                return BaseImage(target, int(info["virtual-size"])), False
            os.makedirs(bases, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            try:
                await self.run("convert", "-f", fmt, "-O", "qcow2", str(image.path), str(tmp))
                tmp.rename(target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return BaseImage(target, int(info["virtual-size"])), True

    async def _checked_info(self, image: ImageRef, fmt: str) -> dict[str, Any]:
        try:
            info = await self.info(image.path, fmt)
        except QemuImgError as exc:
            raise SpawnFailed(f"Image {image.id} is not a valid {image.disk_format} disk: "
                              f"{exc.message}", retryable=False) from None
        if info.get("backing-filename") or info.get("full-backing-filename"):
            raise SpawnFailed(f"Image {image.id} names a backing file; refused.",
                              retryable=False)
        specific = (info.get("format-specific") or {}).get("data") or {}
        if specific.get("data-file") or info.get("encrypted"):
            raise SpawnFailed(f"Image {image.id} has an external data file or is encrypted; "
                              f"refused.", retryable=False)
        if not isinstance(info.get("virtual-size"), int) or info["virtual-size"] <= 0:
            raise SpawnFailed(f"Image {image.id} has no virtual size.", retryable=False)
        return info

    async def check_bootable(self, base: BaseImage, image_id: str, work_dir: Path) -> None:
        """Raise :class:`SpawnFailed` unless the first sector has the BIOS boot signature."""
        sector = work_dir / ".sector0"
        try:
            await self.run("dd", "-U", "-f", "qcow2", "-O", "raw", "bs=512", "count=1",
                           f"if={base.path}", f"of={sector}", timeout=30)
            head = sector.read_bytes()
        finally:
            sector.unlink(missing_ok=True)
        if head[510:512] != BOOT_SIGNATURE:
            raise SpawnFailed(f"Image {image_id} is not a bootable disk: its first sector has "
                              f"no boot signature (0x55AA).", retryable=False)

    # -- overlays and snapshots ----------------------------------------------------------

    async def create_overlay(self, base: BaseImage, path: Path, root_gb: int,
                             image_id: str) -> int:
        """Make ``path`` backed by ``base``; return its virtual size in bytes."""
        size = base.virtual_size if root_gb <= 0 else root_gb * GIB
        if size < base.virtual_size:
            raise SpawnFailed(
                f"Flavor's disk is too small for image {image_id}: {root_gb} GiB < the "
                f"image's virtual size of {base.virtual_size} bytes.", retryable=False)
        await self.run("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base.path),
                       str(path), str(size), timeout=60)
        return size

    async def adopt_overlay(self, base: BaseImage, received: Path, path: Path) -> int:
        """Take ``received`` (a guest's overlay from another host) over as ``path``, backed
        by ``base``; return its virtual size in bytes.

        It is checked as a base is (a plain qcow2: no external data file, not encrypted,
        at least the base's size), moved into place, and its backing file pointed at
        ``base`` without reading or writing its data (``rebase -u``): the other host's base
        held the same image, so the guest sees the same disk. Raises :class:`SpawnFailed`
        (not retryable) for a file that is not such an overlay.
        """
        try:
            info = await self.info(received, "qcow2", force_share=False)
        except QemuImgError as exc:
            raise SpawnFailed(f"The migrated disk is not a valid qcow2 overlay: "
                              f"{exc.message}", retryable=False) from None
        specific = (info.get("format-specific") or {}).get("data") or {}
        if specific.get("data-file") or info.get("encrypted"):
            raise SpawnFailed("The migrated disk has an external data file or is "
                              "encrypted; refused.", retryable=False)
        size = int(info.get("virtual-size") or 0)
        if size < base.virtual_size:
            raise SpawnFailed(f"The migrated disk ({size} bytes) is smaller than its image "
                              f"({base.virtual_size} bytes).", retryable=False)
        await asyncio.to_thread(shutil.move, received, path)
        await self.run("rebase", "-q", "-u", "-f", "qcow2", "-F", "qcow2", "-b",
                       str(base.path), str(path), timeout=60)
        return size

    async def flatten(self, overlay: Path, dest: Path, *, force_share: bool) -> int:
        """Write ``overlay`` and its backing chain to ``dest`` as one standalone qcow2."""
        args = ["convert", "-f", "qcow2", "-O", "qcow2"]
        if force_share:
            args.append("-U")
        tmp = dest.with_name(f".{dest.name}.tmp")
        try:
            await self.run(*args, str(overlay), str(tmp))
            tmp.rename(dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return os.stat(dest).st_size
