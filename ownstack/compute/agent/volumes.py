"""The agent's ``sync_volumes`` step: the guest's volumes follow the server's mappings.

What the server wants (:func:`wanted_volumes`) is every ``attached`` mapping, each with the
connection info the volume service gave; an ``attaching`` one is connected first (the
conductor updates the attachment with this host's connector), plugged, and completed; a
``detaching`` one is unplugged, then its attachment deleted. Each change is its own
:meth:`~ownstack.compute.drivers.base.ComputeDriver.plug_volumes` call, so a failure is
the failing volume's alone:

* an attach that cannot be done (the volume service refuses the connector, the driver
  cannot open the file, or cannot plug at all) releases the attachment and removes the
  mapping, with an instance fault and a failed ``compute_attach_volume`` event, as Nova
  cleans up a failed attach;
* a detach the guest does not let go of within ``compute.volume_detach_timeout``
  (:class:`~ownstack.compute.drivers.base.DetachTimeout`) leaves the volume plugged, the
  mapping ``attached`` and the volume ``in-use`` again (``os-roll_detaching``), with a
  fault saying so: nothing stays ``detaching``.

Every step is idempotent, so an agent killed in the middle does the rest on its next pass:
the mapping is still ``attaching`` (or ``detaching``), connecting again gives the same
connection info, and the driver plugs what is missing and unplugs what is extra, looking
at the running guest itself (no device is added twice, none is left behind). A volume
plugged that no mapping wants any more (a mapping removed while the guest kept it) is
unplugged on the same pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ownstack.common.agent import Outcome
from ownstack.compute import rpc
from ownstack.compute.agent.conductor_api import ConductorAPI
from ownstack.compute.drivers.base import (
    Capability,
    ComputeDriver,
    DetachTimeout,
    DriverError,
    GuestInfo,
    GuestNotFound,
    VolumeSpec,
)
from ownstack.compute.faults import Fault
from ownstack.compute.rpc import InstanceSpec

log = logging.getLogger(__name__)

EVENT_ATTACH = "compute_attach_volume"
EVENT_DETACH = "compute_detach_volume"
EVENT_EXTEND = "compute_extend_volume"
_IN_FLIGHT = (rpc.VOLUME_ATTACHING, rpc.VOLUME_DETACHING)


def connected(entry: dict[str, Any]) -> bool:
    return bool(entry.get("connection_info"))


def wanted_volumes(desired: InstanceSpec) -> list[dict[str, Any]]:
    """The ``volumes`` entries in the guest's recipe: attached and connected."""
    return [entry for entry in desired.get("volumes") or ()
            if entry.get("attach_state") == rpc.VOLUME_ATTACHED and connected(entry)]


def needs_sync(desired: InstanceSpec, observed: GuestInfo | None) -> bool:
    """Whether a mapping is being attached or detached, or the guest's volumes differ
    from the attached ones (only a driver that reports them can differ)."""
    entries = desired.get("volumes") or ()
    if any(entry.get("attach_state") in _IN_FLIGHT for entry in entries):
        return True             # with no guest, an attach fails and a detach is done
    return (observed is not None and observed.volumes is not None
            and observed.volumes != tuple(str(e["volume_id"])
                                          for e in wanted_volumes(desired)))


def volume_spec(entry: dict[str, Any]) -> VolumeSpec:
    """The driver's view of one of the InstanceSpec's ``volumes``, from the
    connection_info the volume service gave (decision 41: a file, its format, its access
    mode)."""
    data = (entry.get("connection_info") or {}).get("data") or {}
    boot_index = entry.get("boot_index")
    return VolumeSpec(volume_id=str(entry["volume_id"]), path=Path(str(data.get("path"))),
                      format=str(data.get("format") or "raw"),
                      read_only=data.get("access_mode") == "ro",
                      boot_index=None if boot_index is None else int(boot_index),
                      device_name=entry.get("device_name"))


class VolumeSync:
    """Carries out ``sync_volumes`` for one host's agent."""

    def __init__(self, *, host: str, driver: ComputeDriver, conductor: ConductorAPI,
                 detach_timeout: float, detach_attempts: int = 1) -> None:
        self.host = host
        self.driver = driver
        self.conductor = conductor
        self.detach_timeout = detach_timeout
        self.detach_attempts = max(1, detach_attempts)

    def connector(self) -> dict[str, Any]:
        """This host, as os-brick describes a compute host to Cinder."""
        return {"host": self.host, "platform": "x86_64", "os_type": "linux",
                "multipath": False, "do_local_attach": False, "mountpoint": None}

    async def sync(self, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
        """Attach what is attaching, detach what is detaching, then make the guest's
        volumes exactly the attached ones. A failure is the volume's alone, cleaned up
        and reported (a fault, a failed event): the pass itself converges."""
        uuid = desired["uuid"]
        entries = list(desired.get("volumes") or ())
        plugged = [e for e in entries if connected(e) and e.get("attach_state") in
                   (rpc.VOLUME_ATTACHED, rpc.VOLUME_DETACHING)]
        capable = self.driver.capabilities.get(Capability.VOLUME_ATTACH.value, False)
        for entry in entries:
            if entry.get("attach_state") != rpc.VOLUME_ATTACHING:
                continue
            if observed is None or not capable:
                await self._attach_failed(
                    desired, entry, time.time(),
                    "the server has no guest on its host" if observed is None else
                    f"the {self.driver.name} driver of host {self.host} cannot attach "
                    f"volumes")
            elif (done := await self._attach(desired, entry, plugged)) is not None:
                plugged.append(done)
        for entry in entries:
            if entry.get("attach_state") == rpc.VOLUME_DETACHING:
                await self._detach(desired, entry, plugged, guest=observed is not None)
        if observed is not None and capable:
            await self.driver.plug_volumes(uuid, self._specs(plugged), self.detach_timeout)
        return None

    def _specs(self, entries: Sequence[dict[str, Any]]) -> list[VolumeSpec]:
        return [volume_spec(entry) for entry in entries]

    async def _attach(self, desired: InstanceSpec, entry: dict[str, Any],
                      plugged: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Connect, plug and complete one attaching volume; the entry as plugged, or
        ``None`` when the attach failed (cleaned up) or the mapping moved on."""
        uuid, start = desired["uuid"], time.time()
        info = entry.get("connection_info")
        if not info:
            info, error = await self.conductor.connect_volume(uuid, str(entry["bdm_uuid"]),
                                                              self.connector())
            if error:
                await self._attach_failed(desired, entry, start, error)
                return None
            if info is None:
                return None             # detached or deleted meanwhile
        entry = {**entry, "connection_info": info}
        try:
            await self.driver.plug_volumes(uuid, self._specs([*plugged, entry]),
                                           self.detach_timeout)
        except DriverError as exc:
            await self._unplug_quietly(uuid, plugged)
            await self._attach_failed(desired, entry, start, str(exc))
            return None
        await self.conductor.volume_changed("volume_attached", uuid, str(entry["bdm_uuid"]))
        await self._event(desired, EVENT_ATTACH, start)
        log.info("instance %s: volume %s attached", uuid, entry["volume_id"])
        return entry

    async def _unplug_quietly(self, uuid: str, plugged: list[dict[str, Any]]) -> None:
        try:
            await self.driver.plug_volumes(uuid, self._specs(plugged), self.detach_timeout)
        except DriverError as exc:
            log.warning("instance %s: could not undo a failed attach: %s", uuid, exc)

    async def _attach_failed(self, desired: InstanceSpec, entry: dict[str, Any],
                             start: float, reason: str) -> None:
        uuid = desired["uuid"]
        message = f"Failed to attach volume {entry['volume_id']}: {reason}"
        log.warning("instance %s: %s", uuid, message)
        await self.conductor.volume_changed("volume_attach_failed", uuid,
                                            str(entry["bdm_uuid"]))
        await self._fault(desired, message)
        await self._event(desired, EVENT_ATTACH, start, message)

    async def _detach(self, desired: InstanceSpec, entry: dict[str, Any],
                      plugged: list[dict[str, Any]], *, guest: bool) -> bool:
        """Unplug one detaching volume and delete its attachment; on a guest that keeps
        it, roll the detach back. Whether it was detached."""
        uuid, start = desired["uuid"], time.time()
        rest = [e for e in plugged if e["bdm_uuid"] != entry["bdm_uuid"]]
        try:
            if guest:
                await self._unplug(uuid, entry["volume_id"], rest)
        except GuestNotFound:
            pass                        # no guest, nothing plugged: detached
        except DriverError as exc:
            reason = (f"Device detach failed for volume {entry['volume_id']}: "
                      + (f"the guest did not release it within "
                         f"{exc.timeout * self.detach_attempts:g} s"
                         if isinstance(exc, DetachTimeout) else str(exc))
                      + "; it stays attached")
            log.warning("instance %s: %s", uuid, reason)
            await self.conductor.volume_changed("volume_detach_failed", uuid,
                                                str(entry["bdm_uuid"]))
            await self._fault(desired, reason)
            await self._event(desired, EVENT_DETACH, start, reason)
            return False
        plugged[:] = rest
        await self.conductor.volume_changed("volume_detached", uuid, str(entry["bdm_uuid"]))
        await self._event(desired, EVENT_DETACH, start)
        log.info("instance %s: volume %s detached", uuid, entry["volume_id"])
        return True

    async def _unplug(self, uuid: str, volume_id: str, rest: list[dict[str, Any]]) -> None:
        """The guest's volumes made ``rest``, asking the guest again to let the volume go
        (a new unplug request) up to ``detach_attempts`` times, as Nova's libvirt driver
        does: a guest still booting misses a request sent before its hotplug driver is up,
        and only a later one reaches it. The last :class:`DetachTimeout` is raised."""
        for attempt in range(1, self.detach_attempts + 1):
            try:
                await self.driver.plug_volumes(uuid, self._specs(rest), self.detach_timeout)
                return
            except DetachTimeout:
                if attempt == self.detach_attempts:
                    raise
                log.info("instance %s: the guest has not released volume %s after %d "
                         "request(s) of %g s; asking again", uuid, volume_id, attempt,
                         self.detach_timeout)

    async def extend(self, uuid: str, volume_id: str, new_size: int) -> None:
        """An attached volume grew in the volume service (``volume-extended``): the
        guest's disk follows (``block_resize``), and the volume service is told, done or
        failed (``os-extend_volume_completion``). A lost nudge is the volume service's
        to time out (the volume ``error_extending``, never left ``extending``)."""
        start = time.time()
        desired = await self.conductor.get_instance(uuid)
        entry = next((e for e in wanted_volumes(desired) if e["volume_id"] == volume_id),
                     None) if desired is not None else None
        error: str | None = None
        if desired is None or entry is None:
            error = f"volume {volume_id} is not attached to server {uuid} on {self.host}"
        else:
            try:
                await self.driver.extend_volume(uuid, volume_spec(entry), new_size)
            except DriverError as exc:
                error = f"Failed to extend volume {volume_id}: {exc}"
        if error is not None:
            log.warning("instance %s: %s", uuid, error)
        await self.conductor.volume_extended(uuid, volume_id, error=error is not None)
        if desired is not None:
            await self._event(desired, EVENT_EXTEND, start, error)

    async def _fault(self, desired: InstanceSpec, message: str) -> None:
        await self.conductor.update_instance(desired["uuid"], "*",
                                             fault=Fault(message).report())

    async def _event(self, desired: InstanceSpec, event: str, start: float,
                     error: str | None = None) -> None:
        if desired["request_id"]:
            await self.conductor.record_events([self.conductor.event(
                desired["uuid"], desired["request_id"], event, start=start,
                finish=time.time(), error=error)])
