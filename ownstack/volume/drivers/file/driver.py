"""The ``file`` volume driver: ``volume-<id>.<format>`` and ``snapshot-<id>.qcow2`` files
in one directory per host (``<volume.volumes_dir>/<host>/``).

* A volume is ``volume.volume_format`` (qcow2 by default, or raw), sparse: a blank one is
  ``qemu-img create``; a copy (of an image, a snapshot, another volume) is ``qemu-img
  convert`` into it, then ``qemu-img resize`` to the volume's size. A volume keeps the
  format it was made in if the option changes later (its name says which).
* A snapshot is a full, sparse qcow2 copy of the volume at that moment (``convert -U``):
  independent of the volume, so the volume can be deleted, grown or reverted with no chain
  to keep; the price is the copy's time and the space its data takes.
* Every file is made as ``.tmp-<name>`` and renamed when complete, so a killed agent
  leaves only temporaries, which :meth:`FileVolumeDriver.init_host` removes.
* Every ``qemu-img`` is told the format of each file it opens (``-f``); a volume's bytes
  are a guest's, and are never probed.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Final

from ownstack.volume.drivers.base import (
    EXPORT_FORMATS,
    GIB,
    IMAGE_FORMATS,
    Capability,
    Capacity,
    DriverError,
    SnapshotMissing,
    StoredSnapshot,
    StoredVolume,
    VolumeMissing,
)
from ownstack.volume.drivers.file.qemu_img import QemuImg

VOLUME_FORMATS: Final = ("qcow2", "raw")
TEMPORARY: Final = ".tmp-"
_CAPABILITIES: Final[Mapping[str, bool]] = {
    Capability.SNAPSHOTS.value: True, Capability.CLONES.value: True,
    Capability.REVERT.value: True, Capability.IMAGES.value: True, Capability.THIN.value: True}


class FileVolumeDriver:
    name = "file"

    def __init__(self, directory: Path, *, volume_format: str = "qcow2",
                 copy_timeout: float = 3600.0, qemu_img: QemuImg | None = None) -> None:
        if volume_format not in VOLUME_FORMATS:
            raise ValueError(f"volume.volume_format must be qcow2 or raw, not "
                             f"{volume_format!r}")
        self.directory = directory
        self.volume_format = volume_format
        self.qemu_img = qemu_img or QemuImg(timeout=copy_timeout)

    @property
    def capabilities(self) -> Mapping[str, bool]:
        return dict(_CAPABILITIES)

    # -- names ---------------------------------------------------------------------------

    def _volume_path(self, volume_id: str, fmt: str) -> Path:
        return self.directory / f"volume-{volume_id}.{fmt}"

    def _snapshot_path(self, snapshot_id: str) -> Path:
        return self.directory / f"snapshot-{snapshot_id}.qcow2"

    def _temporary(self, final: Path) -> Path:
        return final.with_name(f"{TEMPORARY}{final.name}")

    async def _find(self, volume_id: str) -> tuple[Path, str] | None:
        for fmt in VOLUME_FORMATS:
            path = self._volume_path(volume_id, fmt)
            if await asyncio.to_thread(path.exists):
                return path, fmt
        return None

    async def _stored(self, volume_id: str, path: Path, fmt: str) -> StoredVolume:
        size = await asyncio.to_thread(_virtual_size, path, fmt)
        return StoredVolume(volume_id, math.ceil(size / GIB), fmt, str(path))

    # -- the host ------------------------------------------------------------------------

    async def init_host(self) -> None:
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        for leftover in await asyncio.to_thread(lambda: list(self.directory.glob(
                f"{TEMPORARY}*"))):
            await asyncio.to_thread(_remove, leftover)

    async def close(self) -> None:
        """Nothing to release: every file stays."""

    async def capacity(self) -> Capacity:
        usage = await asyncio.to_thread(shutil.disk_usage, self.directory)
        return Capacity(total_gb=usage.total // GIB, free_gb=usage.free // GIB)

    async def volumes(self) -> list[StoredVolume]:
        found = []
        for path in await asyncio.to_thread(lambda: sorted(self.directory.glob("volume-*"))):
            stem, _, fmt = path.name.removeprefix("volume-").rpartition(".")
            if fmt in VOLUME_FORMATS and stem:
                try:
                    found.append(await self._stored(stem, path, fmt))
                except (DriverError, OSError):
                    continue            # removed meanwhile, or unreadable: not listed
        return found

    async def volume(self, volume_id: str) -> StoredVolume | None:
        found = await self._find(volume_id)
        if found is None:
            return None
        try:
            return await self._stored(volume_id, *found)
        except (DriverError, OSError):
            return None

    async def snapshots(self) -> list[StoredSnapshot]:
        return [StoredSnapshot(path.name.removeprefix("snapshot-").removesuffix(".qcow2"),
                               str(path))
                for path in await asyncio.to_thread(
                    lambda: sorted(self.directory.glob("snapshot-*.qcow2")))]

    # -- volumes -------------------------------------------------------------------------

    async def create_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        existing = await self._find(volume_id)
        if existing is not None:
            return await self._stored(volume_id, *existing)
        final = self._volume_path(volume_id, self.volume_format)
        async with self._making(final) as temporary:
            await self.qemu_img.create(temporary, self.volume_format, size_gb * GIB)
        return await self._stored(volume_id, final, self.volume_format)

    async def create_from_image(self, volume_id: str, size_gb: int, image: Path,
                                image_format: str) -> StoredVolume:
        if image_format not in IMAGE_FORMATS:
            raise DriverError(f"images of format {image_format} cannot be copied into "
                              "a volume")
        info = await self.qemu_img.info(image, image_format)
        virtual = int(info.get("virtual-size") or 0)
        if virtual > size_gb * GIB:
            raise DriverError(f"the image's virtual size ({math.ceil(virtual / GIB)} GiB) "
                              f"is larger than the volume ({size_gb} GiB)")
        return await self._copy_in(volume_id, size_gb, image, image_format)

    async def create_from_snapshot(self, volume_id: str, size_gb: int, snapshot_id: str
                                   ) -> StoredVolume:
        source = self._snapshot_path(snapshot_id)
        if not await asyncio.to_thread(source.exists):
            raise SnapshotMissing(snapshot_id)
        return await self._copy_in(volume_id, size_gb, source, "qcow2")

    async def create_from_volume(self, volume_id: str, size_gb: int, source_id: str
                                 ) -> StoredVolume:
        source = await self._find(source_id)
        if source is None:
            raise VolumeMissing(source_id)
        return await self._copy_in(volume_id, size_gb, *source)

    async def _copy_in(self, volume_id: str, size_gb: int, source: Path, source_format: str
                       ) -> StoredVolume:
        existing = await self._find(volume_id)
        if existing is not None:
            return await self._stored(volume_id, *existing)
        final = self._volume_path(volume_id, self.volume_format)
        async with self._making(final) as temporary:
            await self.qemu_img.convert(source, source_format, temporary, self.volume_format)
            info = await self.qemu_img.info(temporary, self.volume_format, force_share=False)
            if int(info.get("virtual-size") or 0) < size_gb * GIB:
                await self.qemu_img.resize(temporary, self.volume_format, size_gb * GIB)
        return await self._stored(volume_id, final, self.volume_format)

    async def delete_volume(self, volume_id: str) -> None:
        for fmt in VOLUME_FORMATS:
            await asyncio.to_thread(_remove, self._volume_path(volume_id, fmt))

    async def extend_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        found = await self._find(volume_id)
        if found is None:
            raise VolumeMissing(volume_id)
        path, fmt = found
        current = await self._stored(volume_id, path, fmt)
        if size_gb < current.size_gb:
            raise DriverError(f"volume {volume_id} is {current.size_gb} GiB; it cannot "
                              f"shrink to {size_gb} GiB")
        if size_gb > current.size_gb:
            await self.qemu_img.resize(path, fmt, size_gb * GIB)
        return await self._stored(volume_id, path, fmt)

    # -- snapshots -----------------------------------------------------------------------

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        final = self._snapshot_path(snapshot_id)
        if await asyncio.to_thread(final.exists):
            return StoredSnapshot(snapshot_id, str(final))
        found = await self._find(volume_id)
        if found is None:
            raise VolumeMissing(volume_id)
        async with self._making(final) as temporary:
            await self.qemu_img.convert(found[0], found[1], temporary, "qcow2")
        return StoredSnapshot(snapshot_id, str(final))

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await asyncio.to_thread(_remove, self._snapshot_path(snapshot_id))

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        found = await self._find(volume_id)
        if found is None:
            raise VolumeMissing(volume_id)
        path, fmt = found
        source = self._snapshot_path(snapshot_id)
        if not await asyncio.to_thread(source.exists):
            raise SnapshotMissing(snapshot_id)
        size = (await self._stored(volume_id, path, fmt)).size_gb
        async with self._making(path) as temporary:
            await self.qemu_img.convert(source, "qcow2", temporary, fmt)
            info = await self.qemu_img.info(temporary, fmt, force_share=False)
            if int(info.get("virtual-size") or 0) < size * GIB:
                await self.qemu_img.resize(temporary, fmt, size * GIB)
        return await self._stored(volume_id, path, fmt)

    async def export_volume(self, volume_id: str, disk_format: str, dest: Path) -> None:
        target = EXPORT_FORMATS.get(disk_format)
        if target is None:
            raise DriverError(f"volumes cannot be exported as {disk_format}")
        found = await self._find(volume_id)
        if found is None:
            raise VolumeMissing(volume_id)
        options = ("-o", "subformat=streamOptimized") if target == "vmdk" else ()
        try:
            await self.qemu_img.convert(found[0], found[1], dest, target, options=options)
        except BaseException:
            await asyncio.to_thread(_remove, dest)
            raise

    async def describe_volume(self, volume_id: str) -> dict[str, Any] | None:
        found = await self._find(volume_id)
        if found is None:
            return None
        path, fmt = found
        info = await self.qemu_img.info(path, fmt)
        return {"driver": self.name, "path": str(path), "format": fmt,
                "virtual_size": info.get("virtual-size"),
                "actual_size": info.get("actual-size"),
                "backing_file": info.get("backing-filename"),
                "dirty": bool(info.get("dirty-flag"))}

    # -- making a file whole or not at all ------------------------------------------------

    @contextlib.asynccontextmanager
    async def _making(self, final: Path) -> AsyncIterator[Path]:
        """A temporary name for ``final``: renamed over it when the block succeeds,
        removed when it fails or is cancelled (the agent stopped)."""
        temporary = self._temporary(final)
        await asyncio.to_thread(_remove, temporary)
        try:
            yield temporary
            await asyncio.to_thread(os.replace, temporary, final)
        except BaseException:
            await asyncio.to_thread(_remove, temporary)
            raise


_QCOW2_MAGIC: Final = b"QFI\xfb"


def _virtual_size(path: Path, fmt: str) -> int:
    """A volume's virtual size, read from what it is without a process: a raw file's
    length, a qcow2's header field (bytes 24-31). Only for the driver's own files, whose
    format it made and named; a qcow2 whose header is not one is a DriverError."""
    if fmt == "raw":
        return path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(32)
    if len(head) < 32 or head[:4] != _QCOW2_MAGIC:
        raise DriverError(f"{path.name} is not a qcow2 file")
    return int.from_bytes(head[24:32], "big")


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
