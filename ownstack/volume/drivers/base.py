"""The volume driver boundary: what the volume agent asks of a host's storage.

The agent is a level-triggered reconciler: it compares the volumes and snapshots the
control plane puts on its host with what :meth:`VolumeDriver.volumes` and
:meth:`VolumeDriver.snapshots` say exist, and closes the gap with the other methods. So
every method is idempotent, states its postconditions in its docstring, and fails with a
typed :class:`DriverError`.

Conventions every driver keeps:

* **The agent serialises calls per volume id and per snapshot id.** Calls for different
  ids may run at once (a snapshot being made of a volume while another volume is
  created); the control plane never asks for two file-changing tasks on one volume at
  once (it refuses an extend while a snapshot of the volume is being made).
* **A volume or snapshot exists whole or not at all.** Each is made under a temporary
  name and renamed when complete, so a killed agent leaves at worst a temporary, which
  :meth:`VolumeDriver.init_host` removes; what :meth:`VolumeDriver.volumes` lists is
  always complete. A method that fails leaves nothing of what it was making.
* **Data outlives the agent.** :meth:`VolumeDriver.close` removes nothing.
* **No probing.** A volume's bytes are a guest's to write, so a guest may write a qcow2
  header with a backing file into a raw volume. Every tool is told the format it opens
  (``-f``), never left to guess it, and :attr:`StoredVolume.format` is what compute must
  tell QEMU (``blockdev-add`` with that driver, and no backing). An image copied in is
  first checked with the image service's rules (:mod:`ownstack.common.disk_format`).
* **Capabilities are data.** :attr:`VolumeDriver.capabilities` holds the flags of
  :class:`Capability`; a driver reports all of them.

What compute opens is :attr:`StoredVolume.location` in :attr:`StoredVolume.format`: for
the ``file`` driver a path on the volume's host (``connection_info`` type ``file``). A
volume on another host than its guest's is a later step (an NBD export).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

GIB = 1 << 30
# The formats a volume may be exported to (an upload to an image), as Glance names them,
# and what qemu-img calls each.
EXPORT_FORMATS: Mapping[str, str] = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk",
                                     "vdi": "vdi", "vhd": "vpc", "vhdx": "vhdx"}
# The formats qemu-img may detect in an image the agent copies in (after the checks).
IMAGE_FORMATS = frozenset({"raw", "qcow2", "vmdk", "vdi", "vpc", "vhdx", "parallels"})


class Capability(StrEnum):
    """The flags in :attr:`VolumeDriver.capabilities`; every driver reports all of them."""

    SNAPSHOTS = "supports_snapshots"         # create_snapshot, create_from_snapshot
    CLONES = "supports_clones"               # create_from_volume
    REVERT = "supports_revert"               # revert_to_snapshot
    IMAGES = "supports_images"               # create_from_image, export_volume
    THIN = "thin_provisioning"               # space is taken as data is written


class DriverError(Exception):
    """A storage operation failed; the message says which and why (it reaches the user
    as the volume's error)."""


class VolumeMissing(DriverError):
    def __init__(self, volume_id: str) -> None:
        self.volume_id = volume_id
        super().__init__(f"volume {volume_id} is not on this host")


class SnapshotMissing(DriverError):
    def __init__(self, snapshot_id: str) -> None:
        self.snapshot_id = snapshot_id
        super().__init__(f"snapshot {snapshot_id} is not on this host")


@dataclass(frozen=True, slots=True)
class StoredVolume:
    """A volume as the host holds it."""

    volume_id: str
    size_gb: int                    # its virtual size, GiB
    format: str                     # what compute must open it as: qcow2, raw
    location: str                   # where compute opens it (a path, for files)


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    snapshot_id: str
    location: str


@dataclass(frozen=True, slots=True)
class Capacity:
    total_gb: int
    free_gb: int


@runtime_checkable
class VolumeDriver(Protocol):
    name: str                       # the backend's name: "file", "fake"

    @property
    def capabilities(self) -> Mapping[str, bool]: ...

    async def init_host(self) -> None:
        """Make the host ready, and remove what a killed agent left half-made (temporary
        files); never touch a complete volume or snapshot."""

    async def close(self) -> None:
        """Release the driver's resources; every volume and snapshot stays."""

    async def capacity(self) -> Capacity:
        """The backend's size and free space, reported to the control plane."""

    async def volumes(self) -> list[StoredVolume]:
        """Every complete volume on the host."""

    async def volume(self, volume_id: str) -> StoredVolume | None:
        """The complete volume of that id, or None: one lookup, not a listing."""

    async def snapshots(self) -> list[StoredSnapshot]:
        """Every complete snapshot on the host."""

    async def create_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        """A blank (zeroed) volume of ``size_gb``. Returns the volume that already
        exists under that id unchanged, so a repeated call makes nothing twice."""

    async def create_from_image(self, volume_id: str, size_gb: int, image: Path,
                                image_format: str) -> StoredVolume:
        """A volume holding the data of ``image``, a local file of ``image_format``
        (qemu-img's name) that the caller has checked with the image service's rules,
        grown to ``size_gb``. :class:`DriverError` when the image's virtual size is larger
        than ``size_gb``; nothing is left on failure."""

    async def create_from_snapshot(self, volume_id: str, size_gb: int, snapshot_id: str
                                   ) -> StoredVolume:
        """A volume holding the snapshot's data, grown to ``size_gb``;
        :class:`SnapshotMissing` when the snapshot is not here."""

    async def create_from_volume(self, volume_id: str, size_gb: int, source_id: str
                                 ) -> StoredVolume:
        """A copy of volume ``source_id`` (which may be attached: read with shared
        locks, crash-consistent), grown to ``size_gb``; :class:`VolumeMissing` when the
        source is not here."""

    async def delete_volume(self, volume_id: str) -> None:
        """Remove the volume; succeeds when it is already gone. Its snapshots stay."""

    async def extend_volume(self, volume_id: str, size_gb: int) -> StoredVolume:
        """Grow the (unattached) volume to ``size_gb``: its data kept, the new space
        zeroed. Asking for its current size does nothing; a smaller size is a
        :class:`DriverError` and changes nothing."""

    async def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        """A point-in-time copy of the volume's data (read with shared locks: of an
        attached volume, crash-consistent only). Returns an existing snapshot of that id
        unchanged."""

    async def delete_snapshot(self, snapshot_id: str) -> None:
        """Remove the snapshot; succeeds when it is already gone."""

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        """The volume's data replaced by the snapshot's, at the volume's current size;
        the snapshot stays. Replaced whole or not at all."""

    async def export_volume(self, volume_id: str, disk_format: str, dest: Path) -> None:
        """The volume's data written to ``dest`` as ``disk_format`` (a key of
        :data:`EXPORT_FORMATS`), for an upload to the image service; ``dest`` is removed
        if it fails."""

    async def describe_volume(self, volume_id: str) -> dict[str, Any] | None:
        """The host objects behind the volume (for ``ownstack show volume``); None when
        it is not here."""


class DriverFactory(Protocol):
    def __call__(self, host: str, state_dir: Path, options: Mapping[str, Any]
                 ) -> VolumeDriver: ...
