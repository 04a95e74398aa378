"""Shelve in the conductor: offloading (the host freed) and unshelving an offloaded server
(scheduled again like a boot). See :mod:`ownstack.compute.objects.shelves`.

* :meth:`Shelver.offloaded` (``shelve_offloaded`` call, from the agent once the guest is
  gone): SHELVED_OFFLOADED with no host, then the allocation is dropped. A conductor
  killed between the two leaves an allocation of an offloaded server, which the sweep's
  orphan check drops.
* :meth:`Shelver.offload_due`: shelved servers whose ``compute.shelved_offload_time`` has
  passed (0: at once, right after the agent's SHELVED report; -1: never) go to
  ``shelving_offloading`` and their agent is nudged.
* :meth:`Shelver.unshelve` (``unshelve_instance`` cast, and the sweep for one left
  waiting): candidates from Placement, the filters, a claim (an allocation a killed
  conductor already made is reused), the volumes attached while it was offloaded
  connected on the chosen host (:func:`~ownstack.compute.conductor.volumes.connect_on`),
  then ``spawning`` on that host; the agent spawns from the shelve image, with every
  attached volume. No host, or a volume the host cannot connect: back to
  SHELVED_OFFLOADED with the fault (and the claim released).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ownstack.common.clients.volume import VolumeUnavailable
from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.conductor import volumes
from ownstack.compute.conductor.build import Builder
from ownstack.compute.conductor.claims import ToPlace
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.conductor.scheduler.hosts import HostState
from ownstack.compute.conductor.scheduler.request_spec import RequestSpec, build_request_spec
from ownstack.compute.conductor.scheduler.scheduler import NoValidHost
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions
from ownstack.compute.objects.instances import get_instance, latest_request_ids, update_instance
from ownstack.compute.objects.models import Instance

log = logging.getLogger(__name__)

EVENT_UNSHELVE = "conductor_unshelve_instance"
BATCH = 200


class Shelver:
    def __init__(self, env: ConductorEnv, builder: Builder) -> None:
        self.env = env
        self.builder = builder

    async def offloaded(self, uuid: str, host: str) -> bool:
        async with self.env.db.write() as db:
            done = await update_instance(
                db, uuid, expected_task_state=states.SHELVING_OFFLOADING, expected_host=host,
                vm_state=states.SHELVED_OFFLOADED, task_state=None, host=None, node=None,
                power_state=states.PowerState.NOSTATE)
        if done:
            await self.env.placement.delete_allocations(uuid)
        return done

    async def offload_due(self, uuid: str | None = None) -> int:
        """Start the offload of shelved servers past ``shelved_offload_time`` (of ``uuid``
        only, when given)."""
        wait = self.env.config.compute.shelved_offload_time
        if wait < 0:
            return 0
        stmt = select(Instance.uuid, Instance.host).where(
            Instance.deleted.is_(False), Instance.vm_state == states.SHELVED,
            Instance.task_state.is_(None), Instance.host.is_not(None))
        if uuid is not None:
            stmt = stmt.where(Instance.uuid == uuid)
        if wait > 0:
            stmt = stmt.where(Instance.updated_at < utcnow() - timedelta(seconds=wait))
        async with self.env.db.read() as db:
            rows = (await db.execute(stmt.limit(BATCH))).all()
        started = 0
        for found, host in rows:
            async with self.env.db.write() as db:
                ok = await update_instance(db, found, expected_task_state=None,
                                           expected_vm_state=states.SHELVED,
                                           task_state=states.SHELVING_OFFLOADING)
            if ok:
                started += 1
                await self.env.bus.cast(rpc.compute_topic(str(host)), "reconcile_instance",
                                        {"uuid": found, "request_id": None})
        return started

    async def unshelve(self, uuid: str) -> str | None:
        started = time.time()
        async with self.env.db.read() as db:
            instance = await get_instance(db, uuid)
            request_id = (await latest_request_ids(db, [uuid])).get(uuid)
        if instance is None or instance.vm_state != states.SHELVED_OFFLOADED \
                or instance.task_state != states.UNSHELVING or instance.host is not None:
            return None
        # A new placement: the hosts its boot tried do not count against it.
        spec = build_request_spec(ToPlace(
            instance.uuid, instance.project_id, instance.user_id, dict(instance.flavor),
            dict(instance.image_meta or {}), instance.availability_zone, [],
            instance.vm_state, instance.task_state, instance.host, None), None)
        wanted = (instance.task_args or {}).get("host")
        try:
            host = await self._place(spec, wanted)
        except NoValidHost as exc:
            await self._fail(instance, request_id, started, "No valid host was found. "
                             + exc.reason)
            return None
        try:
            await volumes.connect_on(self.env, instance, str(host.host))
        except volumes.NotConnected as exc:
            await self._fail(instance, request_id, started,
                             f"Unshelve of instance {uuid} aborted: {exc.message}")
            await self.env.placement.delete_allocations(uuid)
            return None
        except VolumeUnavailable as exc:    # the sweep tries again, with this claim
            log.warning("instance %s: unshelve waits for the volume service: %s", uuid,
                        exc.message)
            return None
        args = {key: value for key, value in (instance.task_args or {}).items()
                if key not in ("host", "availability_zone")}
        values: dict[str, Any] = {"host": host.host, "node": host.node,
                                  "task_state": states.SPAWNING, "task_args": args}
        if not instance.availability_zone:
            values["availability_zone"] = host.availability_zone
        async with self.env.db.write() as db:
            ok = await update_instance(db, uuid, expected_task_state=states.UNSHELVING,
                                       expected_vm_state=states.SHELVED_OFFLOADED, **values)
            if ok and request_id:
                await actions.record_event(db, uuid, request_id, EVENT_UNSHELVE,
                                           start=started, finish=time.time(),
                                           result=actions.SUCCESS, host=host.host)
        if not ok:
            await self.env.placement.delete_allocations(uuid)
            return None
        await self.env.bus.cast(rpc.compute_topic(host.host), "reconcile_instance",
                                {"uuid": uuid, "request_id": request_id})
        return str(host.host)

    async def _place(self, spec: RequestSpec, wanted: str | None) -> HostState:
        reused = await self.builder._reuse_or_drop(spec)
        if reused is not None and (wanted is None or reused.host == wanted):
            return reused
        for host in await self.builder._hosts(spec):
            if wanted is not None and host.host != wanted:
                continue
            if await self.builder._claim(spec, host):
                return host
        where = f" on host {wanted}" if wanted else ""
        raise NoValidHost(f"No host{where} has room for {spec.describe()}.")

    async def _fail(self, instance: Instance, request_id: str | None, started: float,
                    message: str) -> None:
        """The unshelve is over: SHELVED_OFFLOADED again, with the fault."""
        async with self.env.db.write() as db:
            ok = await update_instance(db, instance.uuid,
                                       expected_task_state=states.UNSHELVING,
                                       task_state=None, fault=Fault(message).record())
            if ok and request_id:
                await actions.record_event(db, instance.uuid, request_id, EVENT_UNSHELVE,
                                           start=started, finish=time.time(),
                                           result=actions.ERROR, details=message)
        log.info("instance %s: unshelve: %s", instance.uuid, message)

    async def unshelve_stuck(self, stale_after: float) -> int:
        cutoff = utcnow() - timedelta(seconds=stale_after)
        async with self.env.db.read() as db:
            uuids = list((await db.execute(select(Instance.uuid).where(
                Instance.deleted.is_(False), Instance.vm_state == states.SHELVED_OFFLOADED,
                Instance.task_state == states.UNSHELVING, Instance.host.is_(None),
                Instance.updated_at < cutoff).limit(BATCH))).scalars())
        for uuid in uuids:
            await self.unshelve(uuid)
        return len(uuids)
