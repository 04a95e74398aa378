"""Volumes in a QEMU guest: the QMP commands that plug one, and what a running QEMU has.

A volume is two things in QEMU, both under ids derived from the volume id:

* a block node ``vol<28 hex digits of the id>`` (QEMU's node names are at most 31
  characters): the volume's format driver (``raw`` or ``qcow2``, as the volume service's
  connection info says; never probed) over a ``file`` node of its path, with
  ``backing: null`` for qcow2, so nothing a guest or a user wrote into the volume makes
  QEMU open another file (decision 41);
* a ``virtio-blk-pci`` device ``vol-<volume id>`` on that node, whose serial is the id cut
  to 20 characters (the guest's ``/dev/disk/by-id/virtio-<serial>``), as Nova's libvirt
  driver sets it.

Plugging adds the node, then the device (``blockdev-add``, ``device_add``); unplugging
removes the device (``device_del``, done once the guest let it go: ``DEVICE_DELETED``),
then the node (``blockdev-del``). :func:`present` reads which of them a running QEMU has
(``query-named-block-nodes``, ``qom-list /machine/peripheral``), so each step is done only
if it is still to be done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ownstack.compute.drivers.base import DriverError, VolumeSpec

FORMATS: Final = frozenset({"raw", "qcow2"})
DEVICE_PREFIX: Final = "vol-"
NODE_PREFIX: Final = "vol"

Command = tuple[str, dict[str, Any]]
Execute = Callable[[str, Mapping[str, Any] | None], Awaitable[Any]]


def device_id(volume_id: str) -> str:
    return f"{DEVICE_PREFIX}{volume_id}"


def node_name(volume_id: str) -> str:
    return f"{NODE_PREFIX}{volume_id.replace('-', '')[:28]}"


def check(volume: VolumeSpec) -> None:
    """Refuse what QEMU must not be asked to open: an unknown format, a relative path."""
    if volume.format not in FORMATS:
        raise DriverError(f"volume {volume.volume_id}: format {volume.format!r} is not one "
                          f"of {', '.join(sorted(FORMATS))}")
    if not volume.path.is_absolute():
        raise DriverError(f"volume {volume.volume_id}: {volume.path} is not an absolute "
                          "path")


def commands(volume: VolumeSpec) -> list[Command]:
    """The QMP commands that plug ``volume``: its block node, then its device."""
    node: dict[str, Any] = {
        "node-name": node_name(volume.volume_id), "driver": volume.format,
        "read-only": volume.read_only, "discard": "unmap",
        "file": {"driver": "file", "filename": str(volume.path),
                 "read-only": volume.read_only, "discard": "unmap"}}
    if volume.format == "qcow2":
        node["backing"] = None
    device: dict[str, Any] = {"driver": "virtio-blk-pci", "id": device_id(volume.volume_id),
                              "drive": node_name(volume.volume_id), "serial": volume.serial}
    if volume.is_root:
        device["bootindex"] = 0
    return [("blockdev-add", node), ("device_add", device)]


def in_recipe(devices: Sequence[Command]) -> list[str]:
    """The volume ids of a recipe's volume devices, in order."""
    return [str(args["id"]).removeprefix(DEVICE_PREFIX) for command, args in devices
            if command == "device_add" and str(args.get("id", "")).startswith(DEVICE_PREFIX)]


def without(devices: Sequence[Command], volume_id: str) -> list[Command]:
    """A recipe's commands without those of ``volume_id``."""
    ids = {device_id(volume_id), node_name(volume_id)}
    return [(command, args) for command, args in devices
            if args.get("id") not in ids and args.get("node-name") not in ids]


def describe(devices: Sequence[Command]) -> list[dict[str, Any]]:
    """For ``ownstack show``: each volume's QMP node and device, file and format."""
    nodes = {str(args["node-name"]): args for command, args in devices
             if command == "blockdev-add" and "node-name" in args}
    found = []
    for volume_id in in_recipe(devices):
        node = nodes.get(node_name(volume_id), {})
        found.append({"volume_id": volume_id, "qmp_node": node_name(volume_id),
                      "qmp_device": device_id(volume_id),
                      "path": (node.get("file") or {}).get("filename"),
                      "format": node.get("driver"), "read_only": bool(node.get("read-only")),
                      "serial": volume_id[:20]})
    return found


@dataclass(frozen=True)
class Present:
    """The volume nodes and devices a running QEMU has."""

    nodes: frozenset[str]
    devices: frozenset[str]

    @property
    def volume_ids(self) -> list[str]:
        """Volumes with a device (their ids are whole only in device ids)."""
        return sorted(d.removeprefix(DEVICE_PREFIX) for d in self.devices)

    def node_of(self, volume_id: str) -> str | None:
        name = node_name(volume_id)
        return name if name in self.nodes else None

    def has(self, command: str, arguments: Mapping[str, Any]) -> bool:
        if command == "blockdev-add":
            return str(arguments.get("node-name")) in self.nodes
        return str(arguments.get("id")) in self.devices


async def present(execute: Execute) -> Present:
    nodes = await execute("query-named-block-nodes", {"flat": True})
    peripherals = await execute("qom-list", {"path": "/machine/peripheral"})
    return Present(
        nodes=frozenset(str(n.get("node-name")) for n in nodes or ()
                        if str(n.get("node-name", "")).startswith(NODE_PREFIX)),
        devices=frozenset(str(p.get("name")) for p in peripherals or ()
                          if str(p.get("name", "")).startswith(DEVICE_PREFIX)))
