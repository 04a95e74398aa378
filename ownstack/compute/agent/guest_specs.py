"""The driver's view of an instance: the :class:`GuestSpec` (and its NICs) that a driver
spawns, made from the :class:`InstanceSpec` the conductor answers."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ownstack.compute.agent.volumes import volume_spec, wanted_volumes
from ownstack.compute.drivers.base import GuestSpec, ImageRef, NicSpec, SpawnFailed
from ownstack.compute.rpc import InstanceSpec


def boots_from_volume(desired: InstanceSpec) -> bool:
    """A server booted from volume keeps no image (``image_ref`` ""): its root is the
    mapping with boot_index 0."""
    return not desired["image_ref"]


def guest_spec(desired: InstanceSpec, image: ImageRef | None) -> GuestSpec:
    """The driver's view of the instance. Raises :class:`SpawnFailed` (not retryable) for
    user data that is not base64, which the API should have refused."""
    flavor = desired["flavor"]
    user_data: bytes | None = None
    if desired["user_data"]:
        try:
            user_data = base64.b64decode(desired["user_data"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SpawnFailed(f"user_data is not valid base64: {exc}",
                              retryable=False) from None
    return GuestSpec(
        uuid=desired["uuid"], name=desired["name"], hostname=desired["hostname"],
        vcpus=int(flavor["vcpus"]), memory_mb=int(flavor["ram"]),
        root_gb=int(flavor.get("disk") or 0), image=image,
        ephemeral_gb=int(flavor.get("ephemeral") or 0), swap_mb=int(flavor.get("swap") or 0),
        config_drive=desired["config_drive"], project_id=desired["project_id"],
        availability_zone=desired["availability_zone"] or "",
        launch_index=desired["launch_index"], key_name=desired["key_name"],
        key_data=desired["key_data"], user_data=user_data, admin_pass=desired["admin_pass"],
        metadata=dict(desired["metadata"]),
        nics=tuple(nic_spec(nic) for nic in desired.get("nics") or ()),
        volumes=tuple(volume_spec(entry) for entry in wanted_volumes(desired)))


def nic_spec(nic: dict[str, Any]) -> NicSpec:
    """The driver's view of one of the InstanceSpec's ``nics``."""
    return NicSpec(port_id=str(nic["port_id"]), mac=str(nic["mac"]),
                   tap_name=str(nic["tap_name"]), bridge=str(nic["bridge"]),
                   mtu=int(nic.get("mtu") or 1500), network_id=str(nic.get("network_id") or ""))
