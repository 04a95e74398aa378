"""What a QEMU guest is made of before it first starts: the files behind
:meth:`QemuDriver.spawn`.

* :func:`prepare_base`: the image's cached qcow2 base (converted once per host when the
  image is not qcow2), checked bootable, and the guest's overlay on it sized to the flavor
  (or, on a cold migration's destination, the overlay the source host had, rebased onto
  this host's base);
* :func:`recipe_for`: the guest's recipe, QEMU's command line with only CPU, memory,
  serial console, screen (VNC on a Unix socket) and QMP, and the QMP commands that add the
  disks and NICs under our own ids (``disk-root``, ``disk-config``, ``vol-<volume>``,
  ``nic-<port>``).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import GuestSpec, Phase, PhaseTimer, SpawnFailed, root_volume
from ownstack.compute.drivers.qemu import nics as qemu_nics
from ownstack.compute.drivers.qemu import volumes as qemu_volumes
from ownstack.compute.drivers.qemu.host import Accel
from ownstack.compute.drivers.qemu.images import BaseImage, QemuImg
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe, opt


async def prepare_base(spec: GuestSpec, files: GuestFiles, phases: PhaseTimer,
                       images: QemuImg, bases: Path) -> BaseImage | None:
    """The image's base and the guest's overlay on it; ``None`` for a guest booted
    from volume (its root disk is the volume's file, plugged with the volumes)."""
    image = spec.image
    if image is None:
        if root_volume(spec) is None:
            raise SpawnFailed("no image and no root volume to boot from",
                              retryable=False)
        return None
    if image.disk_format != "qcow2":
        async with phases.phase(Phase.IMAGE_CONVERT):
            base, _ = await images.base_for(image, bases)
    async with phases.phase(Phase.DISKS):
        if image.disk_format == "qcow2":
            base, _ = await images.base_for(image, bases)
        await images.check_bootable(base, image.id, files.directory)
        if spec.disk is not None:       # a cold migration's: the guest's own disk
            await images.adopt_overlay(base, spec.disk, files.disk)
        else:
            await images.create_overlay(base, files.disk, spec.root_gb, image.id)
    return base


def recipe_for(spec: GuestSpec, files: GuestFiles, base: BaseImage | None,
               config_drive: bool, accel: Accel, qemu_binary: str) -> Recipe:
    uuid = spec.uuid
    kvm = accel == Accel.KVM
    smbios = ("type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,"
              f"version={_version()},serial={uuid},uuid={uuid},family=Virtual Machine")
    argv = [
        qemu_binary, "-name", f"guest=instance-{uuid},debug-threads=on",
        "-uuid", uuid, "-machine", f"pc,accel={accel.value},usb=off",
        "-cpu", "host" if kvm else "max", "-m", f"{spec.memory_mb}M",
        "-smp", str(spec.vcpus), "-nodefaults", "-no-user-config", "-display", "none",
        "-smbios", smbios, "-rtc", "base=utc",
        # The serial port is a socket the console proxy joins, and QEMU copies all it
        # writes to console.log, joined or not (the console log keeps working).
        "-chardev", f"socket,id=serial0,path={opt(files.serial)},server=on,wait=off,"
                    f"logfile={opt(files.console)},logappend=on",
        "-serial", "chardev:serial0",
        # A screen, served as VNC on a Unix socket only (noVNC's proxy joins it).
        "-vga", "std", "-vnc", f"unix:{opt(files.vnc)}",
        "-qmp", f"unix:{opt(files.qmp)},server=on,wait=off",
        "-pidfile", str(files.pidfile), "-daemonize", "-S", "-msg", "timestamp=on",
    ]
    # The root disk first, so the guest names it vda: the image's overlay, or for a
    # guest booted from volume the root volume (its other volumes follow).
    root = root_volume(spec) if base is None else None
    devices: list[tuple[str, dict[str, Any]]] = [
        ("blockdev-add", {"node-name": "root", "driver": "qcow2",
                          "file": {"driver": "file", "filename": str(files.disk)}}),
        ("device_add", {"driver": "virtio-blk-pci", "id": "disk-root", "drive": "root",
                        "bootindex": 0}),
    ] if root is None else []
    if root is not None:
        qemu_volumes.check(root)
        devices += qemu_volumes.commands(root)
    if config_drive:
        devices += [
            ("blockdev-add", {"node-name": "config", "driver": "raw", "read-only": True,
                              "file": {"driver": "file", "read-only": True,
                                       "filename": str(files.config_drive)}}),
            ("device_add", {"driver": "virtio-blk-pci", "id": "disk-config",
                            "drive": "config"}),
        ]
    for volume in spec.volumes:
        if volume is not root:
            qemu_volumes.check(volume)
            devices += qemu_volumes.commands(volume)
    for index, nic in enumerate(spec.nics):
        devices += qemu_nics.commands(nic, f"net{index}")
    return Recipe(uuid=uuid, name=spec.name, argv=argv, devices=devices,
                  image_id=spec.image.id if spec.image is not None else "",
                  base=str(base.path) if base is not None else "",
                  accel=accel.value,
                  taps=[nic.tap_name for nic in spec.nics], config_drive=config_drive)


def _version() -> str:
    try:
        return metadata.version("ownstack")
    except metadata.PackageNotFoundError:
        return "0"
