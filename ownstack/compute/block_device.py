"""A server create's ``block_device_mapping_v2``, read and checked as Nova checks it
(``nova/block_device.py`` ``BlockDeviceDict.from_api``, ``compute/api.py``
``_check_and_transform_bdm``, ``_validate_bdm`` and ``_check_requested_image``).

:func:`parse` is the request's own consistency (no I/O): the sources and destinations
ownstack boots from, the boot sequence, the sizes that must be given, the number of
devices. :func:`boot_source` then looks at what the mappings name, as the caller (their
token): the volume must exist for them and be ``available`` (another project's is
Nova's 400 "failed to get volume"), the root volume bootable, the image active and no
larger than the volume asked for, the snapshot there.

What ownstack does not boot from is a 400 that says so: a local disk other than the
image's root (``blank`` to ``local``: ephemeral and swap come from the flavor only), a
``local`` destination that is not the image boot, ``no_device`` entries (accepted and
ignored, as Nova drops them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ownstack.common.booleans import bool_from_string
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.compute.errors import InvalidServerRequest

GIB: Final = 1024 ** 3

SOURCE_IMAGE: Final = "image"
SOURCE_VOLUME: Final = "volume"
SOURCE_SNAPSHOT: Final = "snapshot"
SOURCE_BLANK: Final = "blank"
DEST_VOLUME: Final = "volume"
DEST_LOCAL: Final = "local"

MAX_LOCAL_DEVICES: Final = 3        # Nova's [DEFAULT]max_local_block_devices
# Disks a guest can have (Nova's [compute]max_disk_devices_to_attach, unlimited there):
# every disk is a virtio-blk PCI device, and the i440fx bus has 32 slots for all of them,
# the NICs' and the config drive's included.
MAX_DISK_DEVICES: Final = 24
DISK_BUSES: Final = frozenset({"virtio", "scsi", "ide", "usb", "sata", "fdc", "xen",
                               "uml", "lxc", "ploop"})   # Nova's DiskBus.ALL


class InvalidBDM(InvalidServerRequest):
    """Nova's ``InvalidBDM`` family: 400 ``Block Device Mapping is Invalid...``."""

    code = "compute.invalid_bdm"

    def __init__(self, message: str = "Block Device Mapping is Invalid.") -> None:
        super().__init__(message)


def invalid_format(details: str) -> InvalidBDM:
    return InvalidBDM(f"Block Device Mapping is Invalid: {details}")


class BootSequenceInvalid(InvalidBDM):
    def __init__(self) -> None:
        super().__init__("Block Device Mapping is Invalid: Boot sequence for the instance "
                         "and image/block device mapping combination is not valid.")


class TooManyDiskDevices(Forbidden):
    """Nova's ``TooManyDiskDevices`` (an ``InvalidBDM`` with code 403)."""

    code = "compute.too_many_disk_devices"

    def __init__(self, maximum: int) -> None:
        super().__init__(f"The maximum allowed number of disk devices ({maximum}) to "
                         f"attach to a single instance has been exceeded.")


@dataclass
class Mapping:
    """One requested mapping, as ``BlockDeviceDict`` holds it once read."""

    source_type: str
    destination_type: str
    boot_index: int | None               # None (or negative in the request): not bootable
    uuid: str | None = None              # the image, volume or snapshot id
    volume_size: int | None = None       # GiB
    delete_on_termination: bool = False
    device_name: str | None = None
    volume_type: str | None = None
    tag: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None
    guest_format: str | None = None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0

    @property
    def makes_volume(self) -> bool:
        """A volume compute creates at boot (from an image, a snapshot, or blank)."""
        return self.destination_type == DEST_VOLUME and self.source_type != SOURCE_VOLUME

    @classmethod
    def of_row(cls, bdm: Any) -> Mapping:
        """The mapping a stored row was made from (:meth:`row`)."""
        uuid = {SOURCE_VOLUME: bdm.volume_id, SOURCE_IMAGE: bdm.image_id,
                SOURCE_SNAPSHOT: bdm.snapshot_id}.get(bdm.source_type)
        return cls(source_type=bdm.source_type, destination_type=bdm.destination_type,
                   boot_index=bdm.boot_index, uuid=uuid, volume_size=bdm.volume_size,
                   delete_on_termination=bool(bdm.delete_on_termination),
                   device_name=bdm.device_name, volume_type=bdm.volume_type, tag=bdm.tag,
                   disk_bus=bdm.disk_bus, device_type=bdm.device_type,
                   guest_format=bdm.guest_format)

    def row(self) -> dict[str, Any]:
        """The columns of its :class:`~ownstack.compute.objects.models.BlockDeviceMapping`
        (the volume and the attachment come later)."""
        return {"source_type": self.source_type, "destination_type": self.destination_type,
                "boot_index": self.boot_index, "device_name": self.device_name,
                "delete_on_termination": self.delete_on_termination,
                "volume_id": self.uuid if self.source_type == SOURCE_VOLUME else None,
                "image_id": self.uuid if self.source_type == SOURCE_IMAGE else None,
                "snapshot_id": self.uuid if self.source_type == SOURCE_SNAPSHOT else None,
                "volume_size": self.volume_size, "volume_type": self.volume_type,
                "tag": self.tag, "disk_bus": self.disk_bus or "virtio",
                "device_type": self.device_type or "disk",
                "guest_format": self.guest_format}


@dataclass
class Request:
    """What a create's mappings ask for: the root (``None``: boot the image of
    ``imageRef``), and the volumes, root first."""

    root: Mapping | None
    volumes: list[Mapping] = field(default_factory=list)
    image_boot_id: str | None = None      # the image of an image-to-local root mapping

    @property
    def volume_backed(self) -> bool:
        return self.root is not None and self.root.destination_type == DEST_VOLUME


def _boot_index(value: Any) -> int | None:
    if value is None:
        return None
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise invalid_format("Boot index is invalid.") from None
    return index if index >= 0 else None


def _size(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_format("volume_size is invalid.") from None


def read(item: dict[str, Any]) -> Mapping | None:
    """One API mapping (Nova's ``from_api``); ``None`` for a ``no_device`` entry."""
    if item.get("no_device"):
        return None
    source = item.get("source_type")
    if source is None:
        raise invalid_format("Some required fields are missing")
    uuid = item.get("uuid")
    if source == SOURCE_BLANK and uuid:
        raise invalid_format("Invalid device UUID.")
    if source != SOURCE_BLANK and not uuid:
        raise invalid_format("Missing device UUID.")
    destination = item.get("destination_type") or (
        DEST_VOLUME if source in (SOURCE_VOLUME, SOURCE_SNAPSHOT) else DEST_LOCAL)
    if source == SOURCE_VOLUME and destination != DEST_VOLUME:
        raise invalid_format("Mapping a volume to local is not supported.")
    volume_type = item.get("volume_type")
    if destination == DEST_LOCAL and volume_type:
        raise invalid_format("Specifying a volume_type with destination_type=local is "
                             "not supported.")
    if source == SOURCE_VOLUME and volume_type:
        raise invalid_format("Specifying volume type to existing volume is not "
                             "supported.")
    disk_bus = item.get("disk_bus")
    if disk_bus and disk_bus not in DISK_BUSES:
        raise invalid_format(f"The provided disk bus {disk_bus} is not valid.")
    return Mapping(
        source_type=str(source), destination_type=str(destination),
        boot_index=_boot_index(item.get("boot_index")),
        uuid=str(uuid) if uuid else None, volume_size=_size(item.get("volume_size")),
        delete_on_termination=bool_from_string(item.get("delete_on_termination") or False),
        device_name=item.get("device_name") or None, volume_type=volume_type or None,
        tag=item.get("tag"), disk_bus=disk_bus or None,
        device_type=item.get("device_type") or None,
        guest_format=item.get("guest_format") or None)


def parse(items: Sequence[dict[str, Any]], *, image_ref: str | None,
          max_count: int) -> Request:
    """The mappings of a create, checked for consistency (no I/O). ``image_ref``: the
    request's ``imageRef`` (its id), when given."""
    mappings = [m for m in (read(dict(item)) for item in items) if m is not None]
    locals_ = [m for m in mappings if m.destination_type == DEST_LOCAL]
    if len(locals_) > MAX_LOCAL_DEVICES:
        raise invalid_format("You specified more local devices than the limit allows")
    for m in locals_:
        if m.source_type == SOURCE_IMAGE and m.is_root:
            continue
        if m.source_type == SOURCE_IMAGE:
            raise invalid_format("Mapping image to local is not supported.")
        raise InvalidBDM("Block Device Mapping is Invalid: ownstack has no local disks "
                         "other than the image's root (source_type 'blank' with "
                         "destination_type 'local'): ephemeral and swap disks come from "
                         "the flavor.")
    # Nova's boot sequence: the bootable devices are numbered 0, 1, ... with no gap; an
    # image boot (imageRef, no mapping) is the implied mapping of index 0.
    indexes = sorted(m.boot_index for m in mappings if m.boot_index is not None)
    implied_image = bool(image_ref) and not indexes
    if implied_image:
        indexes = [0]
    if mappings and (not indexes or any(i != v for i, v in enumerate(indexes))):
        raise BootSequenceInvalid()
    if len(mappings) + implied_image > MAX_DISK_DEVICES:
        raise TooManyDiskDevices(MAX_DISK_DEVICES)
    for m in mappings:
        if m.source_type == SOURCE_IMAGE and m.destination_type == DEST_VOLUME \
                and not m.volume_size:
            raise InvalidBDM("Images with destination_type 'volume' need to have a "
                             "non-zero size specified")
        if m.source_type == SOURCE_BLANK and m.destination_type == DEST_VOLUME \
                and not m.volume_size:
            raise InvalidBDM("Blank volumes (source: 'blank', dest: 'volume') need to "
                             "have non-zero size")
        if m.volume_size is not None and m.volume_size < 1:
            raise invalid_format("volume_size must be a positive integer.")
    if max_count > 1 and any(m.source_type == SOURCE_VOLUME for m in mappings):
        raise BadRequest("Cannot attach one or more volumes to multiple instances")
    root = next((m for m in mappings if m.is_root), None)
    volumes = sorted((m for m in mappings if m.destination_type == DEST_VOLUME),
                     key=lambda m: (m.boot_index is None, m.boot_index or 0))
    image_boot = root.uuid if root is not None and root.destination_type == DEST_LOCAL \
        else None
    if root is not None and root.destination_type == DEST_LOCAL:
        root = None
    return Request(root=root, volumes=volumes, image_boot_id=image_boot)


def device_names(mappings: Sequence[Mapping], *, config_drive: bool) -> list[str]:
    """The guest's device name of each volume mapping, as Nova's libvirt driver picks
    them (a requested name is a hint it ignores): ``/dev/vda`` for the root, which is the
    image's disk when the root is not a volume, then the next free ``vdX``, the config
    drive (a virtio disk too) taking ``vdb``."""
    taken = {"a"} | ({"b"} if config_drive else set())
    letters = (chr(c) for c in range(ord("a"), ord("z") + 1))
    names = []
    for m in mappings:
        if m.is_root:
            names.append("/dev/vda")
            continue
        letter = next(x for x in letters if x not in taken)
        taken.add(letter)
        names.append(f"/dev/vd{letter}")
    return names


def check_min_disk(root: Mapping, min_disk_gb: int) -> None:
    """Nova's ``VolumeSmallerThanMinDisk`` for a root volume of a known size."""
    if root.volume_size is not None and min_disk_gb > root.volume_size:
        raise InvalidServerRequest(
            f"Volume is smaller than the minimum size specified in image metadata. "
            f"Volume size is {root.volume_size * GIB} bytes, minimum size is "
            f"{min_disk_gb * GIB} bytes.")


def check_image_fits_volume(root: Mapping, image_id: str, size: int | None,
                            virtual_size: int | None) -> None:
    """An image larger than the volume made from it: the volume service would refuse
    it; the API says so at once rather than after the server is accepted."""
    if root.volume_size is None:
        return
    limit = root.volume_size * GIB
    for what, value in (("size", size), ("virtual size", virtual_size)):
        if value and value > limit:
            raise InvalidServerRequest(
                f"Volume is smaller than the image: image {image_id}'s {what} is {value} "
                f"bytes, the volume_size {root.volume_size} GiB is {limit} bytes.")
