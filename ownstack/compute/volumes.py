"""A server's volumes, as Nova's ``compute/api.py`` attaches and detaches them with Cinder's
attachments API (3.44+), and the errors its ``volume_attachments`` controller answers.

The API does what Nova's API and conductor do before the compute host acts: it reads the
volume with the caller's token (a volume the caller cannot see is a 404, as Nova's
``VolumeNotFound``), refuses one that already has a mapping (Nova's
``_check_volume_already_attached``), reserves it (``attachment_create`` with the server's
uuid, as the caller: Cinder's 400 for a volume that is not ``available`` passes through),
and writes the mapping in ``attaching``. Detach begins the detach in Cinder
(``os-begin_detaching``: the volume is ``detaching``) and moves the mapping to
``detaching``. Everything after that is the host's (its agent, through the conductor).

A volume on another host than the server's is refused here with the volume service's
own reason, rather than after the reservation: ownstack does not export volumes over NBD
yet, so only a guest on the volume's host can open its file.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any, Final

from ownstack.common.clients.volume import (
    VolumeClient,
    VolumeClientError,
    VolumeNotFoundError,
    VolumeUnavailable,
)
from ownstack.common.errors import BadRequest, NotFound, OwnstackError

# Nova's nova/block_device.py match_device(), the pattern its schema also checks.
DEVICE_PATTERN: Final = r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"
_DEVICE: Final = re.compile(DEVICE_PATTERN)


class VolumeNotFound(NotFound):
    code = "compute.volume_not_found"

    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    code = "compute.snapshot_not_found"

    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class VolumeNotAttached(NotFound):
    code = "compute.volume_not_attached"

    def __init__(self, server_id: str, volume_id: str) -> None:
        super().__init__(f"Instance {server_id} is not attached to volume {volume_id}")


class InvalidVolume(BadRequest):
    """Nova's ``InvalidVolume``: ``Invalid volume: <reason>``."""

    code = "compute.invalid_volume"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class InvalidInput(BadRequest):
    """Nova's ``InvalidInput``, what its Cinder wrapper makes of Cinder's 400s."""

    code = "compute.invalid_input"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class VolumeServiceUnavailable(OwnstackError):
    """The volume service did not answer (or answered 5xx) for a step a request needs."""

    status = 503
    code = "compute.volume_service_unavailable"
    message = "The volume service failed to answer; retry later."


def refused(exc: VolumeClientError, volume_id: str) -> OwnstackError:
    """The compute error for what the volume service answered, as Nova's Cinder wrapper
    translates it: not found is a 404, unreachable a 503, any other refusal
    ``InvalidInput`` with Cinder's message."""
    if isinstance(exc, VolumeNotFoundError):
        return VolumeNotFound(volume_id)
    if isinstance(exc, VolumeUnavailable):
        return VolumeServiceUnavailable()
    return InvalidInput(exc.message)


async def get_volume(caller: VolumeClient, volume_id: str) -> dict[str, Any]:
    """The volume as the caller sees it."""
    try:
        return await caller.get_volume(volume_id)
    except VolumeClientError as exc:
        raise refused(exc, volume_id) from None


def volume_host(volume: Mapping[str, Any]) -> str | None:
    """The compute host name of the volume's backend (``host@backend#pool`` -> ``host``)."""
    host = volume.get("os-vol-host-attr:host")
    return str(host).split("@")[0].split("#")[0] if host else None


def check_already_attached(volume: Mapping[str, Any], server_id: str,
                           holders: Iterable[str]) -> None:
    """Nova's ``_check_volume_already_attached``: a volume mapped to servers (``holders``)
    is refused, unless multiattach and not to this server."""
    holders = list(holders)
    if not holders:
        return
    volume_id = str(volume.get("id"))
    if not volume.get("multiattach"):
        raise InvalidVolume(f"volume {volume_id} is already attached to instances: "
                            f"{' '.join(holders)}")
    if server_id in holders:
        raise InvalidVolume(f"volume {volume_id} already attached")


def check_host(volume: Mapping[str, Any], server_host: str) -> None:
    """Only the volume's host can open its file until volumes are exported over NBD."""
    host = volume_host(volume)
    if host and server_host and host != server_host:
        raise InvalidVolume(
            f"Volume {volume.get('id')} is on host {host} and can be attached only there; "
            f"ownstack does not export volumes to other hosts (over NBD) yet, so "
            f"{server_host} cannot open it.")


def next_device_name(used: Iterable[str | None], *, config_drive: bool) -> str:
    """The next free ``/dev/vdX`` after the root disk (``vda``) and, when there is one,
    the config drive (a virtio disk too, ``vdb``), as Nova's libvirt driver picks a
    device name (and, as it does, ignoring the one the request suggests)."""
    taken = {"vda"} | ({"vdb"} if config_drive else set())
    for name in used:
        if name and (match := _DEVICE.match(name)) and match.group(1) == "/dev/v":
            taken.add(f"vd{match.group(2)}")
    for suffix in _suffixes():
        if f"vd{suffix}" not in taken:
            return f"/dev/vd{suffix}"
    raise InvalidVolume("no free device name is left on the server")


def _suffixes() -> Iterable[str]:
    letters = string.ascii_lowercase
    yield from letters
    for first in letters:
        for second in letters:
            yield first + second
