"""NICs in a QEMU guest: the QMP commands that plug one, and which a recipe has.

A NIC is two things in QEMU: a ``tap`` netdev that opens the port's tap device (the
network side made it, on its bridge), and a ``virtio-net-pci`` device ``nic-<port id>``
with the port's MAC on that netdev. A guest spawned with NICs names its netdevs
``net<index>``, a NIC hot-plugged later ``net-<port id>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ownstack.compute.drivers.base import NicSpec
from ownstack.compute.drivers.qemu.process import Recipe

DEVICE_PREFIX = "nic-"


def device_id(port_id: str) -> str:
    return f"{DEVICE_PREFIX}{port_id}"


def commands(nic: NicSpec, netdev: str) -> list[tuple[str, dict[str, Any]]]:
    """The QMP commands that give a guest ``nic``: QEMU opens the port's tap (the network
    side made it, on its bridge) and a virtio NIC with the port's MAC uses it."""
    return [
        ("netdev_add", {"type": "tap", "id": netdev, "ifname": nic.tap_name,
                        "script": "no", "downscript": "no"}),
        ("device_add", {"driver": "virtio-net-pci", "id": device_id(nic.port_id),
                        "netdev": netdev, "mac": nic.mac}
         | ({"host_mtu": nic.mtu} if nic.mtu != 1500 else {})),
    ]


def in_recipe(recipe: Recipe) -> list[str]:
    """The port ids of the recipe's NICs, in order."""
    return [str(args["id"]).removeprefix(DEVICE_PREFIX) for command, args in recipe.devices
            if command == "device_add" and str(args.get("id", "")).startswith(DEVICE_PREFIX)]


def netdev_of(recipe: Recipe, device: str) -> str | None:
    return next((str(args["netdev"]) for command, args in recipe.devices
                 if command == "device_add" and args.get("id") == device), None)


@dataclass(frozen=True)
class Changes:
    """What turns the recipe's NICs into ``wanted``: ports whose NICs go, NICs to add."""

    wanted: dict[str, NicSpec]
    gone: list[str]
    new: list[NicSpec]

    def __bool__(self) -> bool:
        return bool(self.gone or self.new)


def changes(recipe: Recipe, nics: Sequence[NicSpec]) -> Changes:
    have = in_recipe(recipe)
    wanted = {nic.port_id: nic for nic in nics}
    return Changes(wanted, gone=[port_id for port_id in have if port_id not in wanted],
                   new=[nic for nic in nics if nic.port_id not in have])
