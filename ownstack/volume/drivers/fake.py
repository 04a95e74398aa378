"""The fake volume driver: a host's storage in memory, the same contract as ``file``.

The *host* and the *driver* are separate, as a disk and its agent are: a
:class:`FakeVolumeHost` holds the volumes and snapshots (and what is being made, which a
killed agent leaves behind), and a :class:`FakeVolumeDriver` drives one. A new driver on
the same host (an agent restart) finds what is there. Data is modelled by one byte per
volume, the *pattern* of its first 64 KiB (0 for zeros), so the contract can check that a
clone, a snapshot or a revert carries the data it should; a raw image copied in gives its
pattern, any other format zeros.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
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

__all__ = ["FakeVolumeDriver", "FakeVolumeHost", "from_config"]

PATTERN_BYTES: Final = 65536
_CAPABILITIES: Final[Mapping[str, bool]] = {
    Capability.SNAPSHOTS.value: True, Capability.CLONES.value: True,
    Capability.REVERT.value: True, Capability.IMAGES.value: True, Capability.THIN.value: True}


@dataclass
class FakeVolume:
    size_gb: int
    pattern: int = 0


@dataclass
class FakeVolumeHost:
    """The simulated storage: it outlives any one driver."""

    host: str = "fake-host"
    capacity_gb: int = 1000
    volumes: dict[str, FakeVolume] = field(default_factory=dict)
    snapshots: dict[str, FakeVolume] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)      # ids a killed agent left half-made
    delay: float = 0.0                                  # seconds each copy takes

    def pattern(self, volume_id: str) -> int:
        return self.volumes[volume_id].pattern

    def write(self, volume_id: str, pattern: int) -> None:
        """A guest writes the first 64 KiB of the volume (behind the agent's back)."""
        self.volumes[volume_id].pattern = pattern


_HOSTS: dict[str, FakeVolumeHost] = {}


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> FakeVolumeDriver:
    """One simulated host per (state directory, host) in this process, so an agent
    restarted in the same process finds its volumes again."""
    key = f"{state_dir}:{host}"
    found = _HOSTS.get(key)
    if found is None:
        found = _HOSTS[key] = FakeVolumeHost(host, int(options.get("fake_capacity_gb")
                                                       or 1000))
    return FakeVolumeDriver(found)


class FakeVolumeDriver:
    name = "fake"

    def __init__(self, host: FakeVolumeHost) -> None:
        self.host = host

    @property
    def capabilities(self) -> Mapping[str, bool]:
        return dict(_CAPABILITIES)

    def _stored(self, volume_id: str) -> StoredVolume:
        volume = self.host.volumes[volume_id]
        return StoredVolume(volume_id, volume.size_gb, "raw", f"fake://{volume_id}")

    async def _making(self, key: str) -> None:
        """What takes time on a real host; a cancel here leaves a partial object."""
        self.host.partial.add(key)
        await asyncio.sleep(self.host.delay)

    def _made(self, key: str) -> None:
        self.host.partial.discard(key)

    async def init_host(self) -> None:
        self.host.partial.clear()

    async def close(self) -> None:
        """Nothing to release."""

    async def capacity(self) -> Capacity:
        used = sum(v.size_gb for v in self.host.volumes.values()) + sum(
            s.size_gb for s in self.host.snapshots.values())
        return Capacity(self.host.capacity_gb, max(self.host.capacity_gb - used, 0))

    async def volumes(self) -> list[StoredVolume]:
        return [self._stored(volume_id) for volume_id in sorted(self.host.volumes)]

    async def volume(self, volume_id: str) -> StoredVolume | None:
        return self._stored(volume_id) if volume_id in self.host.volumes else None

    async def snapshots(self) -> list[StoredSnapshot]:
        return [StoredSnapshot(snapshot_id, f"fake://{snapshot_id}")
                for snapshot_id in sorted(self.host.snapshots)]

    async def _put(self, volume_id: str, size_gb: int, pattern: int) -> StoredVolume:
        if volume_id in self.host.volumes:
            return self._stored(volume_id)
        await self._making(volume_id)
        if (await self.capacity()).free_gb < size_gb:
            self._made(volume_id)
            raise DriverError(f"not enough space: {size_gb} GiB asked for")
        self.host.volumes[volume_id] = FakeVolume(size_gb, pattern)
        self._made(volume_id)
        return self._stored(volume_id)

    async def create_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        return await self._put(volume_id, size_gb, 0)

    async def create_from_image(self, volume_id: str, size_gb: int, image: Path,
                                image_format: str) -> StoredVolume:
        if image_format not in IMAGE_FORMATS:
            raise DriverError(f"images of format {image_format} cannot be copied into "
                              "a volume")
        data = await asyncio.to_thread(_head, image)
        if image_format == "raw":
            size = await asyncio.to_thread(lambda: image.stat().st_size)
            if size > size_gb * GIB:
                raise DriverError(f"the image's virtual size is larger than the volume "
                                  f"({size_gb} GiB)")
        pattern = data[0] if image_format == "raw" and data and len(set(data)) == 1 else 0
        return await self._put(volume_id, size_gb, pattern)

    async def create_from_snapshot(self, volume_id: str, size_gb: int, snapshot_id: str
                                   ) -> StoredVolume:
        snapshot = self.host.snapshots.get(snapshot_id)
        if snapshot is None:
            raise SnapshotMissing(snapshot_id)
        return await self._put(volume_id, max(size_gb, snapshot.size_gb), snapshot.pattern)

    async def create_from_volume(self, volume_id: str, size_gb: int, source_id: str
                                 ) -> StoredVolume:
        source = self.host.volumes.get(source_id)
        if source is None:
            raise VolumeMissing(source_id)
        return await self._put(volume_id, max(size_gb, source.size_gb), source.pattern)

    async def delete_volume(self, volume_id: str) -> None:
        self.host.volumes.pop(volume_id, None)

    async def extend_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        volume = self.host.volumes.get(volume_id)
        if volume is None:
            raise VolumeMissing(volume_id)
        if size_gb < volume.size_gb:
            raise DriverError(f"volume {volume_id} is {volume.size_gb} GiB; it cannot "
                              f"shrink to {size_gb} GiB")
        volume.size_gb = size_gb
        return self._stored(volume_id)

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        if snapshot_id not in self.host.snapshots:
            volume = self.host.volumes.get(volume_id)
            if volume is None:
                raise VolumeMissing(volume_id)
            await self._making(snapshot_id)
            self.host.snapshots[snapshot_id] = FakeVolume(volume.size_gb, volume.pattern)
            self._made(snapshot_id)
        return StoredSnapshot(snapshot_id, f"fake://{snapshot_id}")

    async def delete_snapshot(self, snapshot_id: str) -> None:
        self.host.snapshots.pop(snapshot_id, None)

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        volume = self.host.volumes.get(volume_id)
        if volume is None:
            raise VolumeMissing(volume_id)
        snapshot = self.host.snapshots.get(snapshot_id)
        if snapshot is None:
            raise SnapshotMissing(snapshot_id)
        await self._making(volume_id)
        volume.pattern = snapshot.pattern
        self._made(volume_id)
        return self._stored(volume_id)

    async def export_volume(self, volume_id: str, disk_format: str, dest: Path) -> None:
        """A sparse raw file of the volume's pattern; other formats are made by qemu-img
        from it, since what is uploaded must pass the image service's checks."""
        if disk_format not in EXPORT_FORMATS:
            raise DriverError(f"volumes cannot be exported as {disk_format}")
        volume = self.host.volumes.get(volume_id)
        if volume is None:
            raise VolumeMissing(volume_id)
        try:
            await self._export(volume, disk_format, dest)
        except BaseException:
            await asyncio.to_thread(dest.unlink, missing_ok=True)
            raise

    async def _export(self, volume: FakeVolume, disk_format: str, dest: Path) -> None:
        await asyncio.to_thread(_write_raw, dest, volume.pattern)
        if disk_format != "raw":
            raw = dest.with_name(dest.name + ".raw")
            await asyncio.to_thread(dest.rename, raw)
            try:
                process = await asyncio.create_subprocess_exec(
                    "qemu-img", "convert", "-q", "-f", "raw", "-O", EXPORT_FORMATS[disk_format],
                    str(raw), str(dest), stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
                _, stderr = await process.communicate()
                if process.returncode != 0:
                    raise DriverError(f"qemu-img convert failed: "
                                      f"{stderr.decode(errors='replace').strip()[-300:]}")
            finally:
                await asyncio.to_thread(raw.unlink, missing_ok=True)

    async def describe_volume(self, volume_id: str) -> dict[str, Any] | None:
        volume = self.host.volumes.get(volume_id)
        if volume is None:
            return None
        return {"driver": self.name, "size_gb": volume.size_gb, "pattern": volume.pattern}


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(PATTERN_BYTES)


def _write_raw(dest: Path, pattern: int) -> None:
    with open(dest, "wb") as handle:
        handle.write(bytes([pattern]) * PATTERN_BYTES)
