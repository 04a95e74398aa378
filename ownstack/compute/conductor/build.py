"""Building instances: schedule, claim, hand to the host; reschedule; finish a delete.

The instance row is the record of progress, Placement's allocation the record of the claim,
so a conductor killed at any point leaves nothing the sweep cannot repair:

1. read the instance (``building``/``scheduling``, no host) and its server group;
2. when the sweep recovers it, or a claim is refused because the instance already holds
   one, reuse that allocation if its host still passes the filters (a conductor died after
   claiming, or a duplicate cast was faster), or drop it;
3. ask Placement for candidates, filter and weigh them, claim the best one (a lost race
   moves on to the next, and the candidates are asked for once more when all are lost);
4. compare-and-swap the row to ``spawning`` on that host, recording the action events in
   the same transaction; if the row changed meanwhile (a delete) the claim is released;
5. cast ``reconcile_instance`` to the host's agent.

Instances of one server group are scheduled one at a time in this process, so two members
of an anti-affinity group scheduled at once cannot both pick the same host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.conductor.placement_ops import (
    allocation_candidates,
    existing_allocations,
)
from ownstack.compute.conductor.scheduler.filters import HostFilter, default_filters
from ownstack.compute.conductor.scheduler.hosts import HostState, load_hosts
from ownstack.compute.conductor.scheduler.request_spec import (
    GroupInfo,
    RequestSpec,
    build_request_spec,
)
from ownstack.compute.conductor.scheduler.scheduler import (
    NoValidHost,
    filter_hosts,
    select_hosts,
)
from ownstack.compute.conductor.scheduler.weighers import default_weighers
from ownstack.compute.objects import actions
from ownstack.compute.objects.instances import get_instance, latest_request_ids, update_instance
from ownstack.compute.objects.models import Instance, ServerGroup, ServerGroupMember

if TYPE_CHECKING:
    from ownstack.compute.service import ComputeService

log = logging.getLogger(__name__)

EVENT_BUILD = "conductor_schedule_and_build_instances"
EVENT_SCHEDULE = "schedule"
EVENT_RESCHEDULE = "conductor_reschedule"


def make_fault(code: int, message: str, details: str | None = None) -> dict[str, Any]:
    """An ``Instance.fault`` as the API shows it."""
    return {"code": code, "message": message, "details": details or "",
            "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}


def needs_host(instance: Instance) -> bool:
    return (instance.vm_state == states.BUILDING and instance.task_state == states.SCHEDULING
            and instance.host is None)


async def group_uuid_of(db: AsyncSession, instance_uuid: str) -> str | None:
    return (await db.execute(
        select(ServerGroup.uuid).join(ServerGroupMember,
                                      ServerGroupMember.group_id == ServerGroup.id)
        .where(ServerGroupMember.instance_uuid == instance_uuid))).scalar_one_or_none()


async def load_group(db: AsyncSession, instance_uuid: str) -> GroupInfo | None:
    """The instance's server group and the hosts of its other live, placed members."""
    group = (await db.execute(
        select(ServerGroup).join(ServerGroupMember,
                                 ServerGroupMember.group_id == ServerGroup.id)
        .where(ServerGroupMember.instance_uuid == instance_uuid))).scalar_one_or_none()
    if group is None:
        return None
    hosts = (await db.execute(
        select(Instance.host)
        .join(ServerGroupMember, ServerGroupMember.instance_uuid == Instance.uuid)
        .where(ServerGroupMember.group_id == group.id, Instance.uuid != instance_uuid,
               Instance.deleted.is_(False), Instance.host.is_not(None)))).scalars()
    return GroupInfo(uuid=group.uuid, policy=group.policy, rules=dict(group.rules or {}),
                     hosts=Counter(host for host in hosts if host))


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str | None) -> AsyncIterator[None]:
        if key is None:
            yield
            return
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Builder:
    def __init__(self, svc: ComputeService) -> None:
        self.svc = svc
        self.in_flight: set[str] = set()     # uuids this process is scheduling now
        self._group_locks = KeyedLocks()

    # --- scheduling -------------------------------------------------------------------------

    async def schedule_instances(self, uuids: Sequence[str], request_id: str | None) -> None:
        """Place each instance in turn, so later members of a group see earlier ones."""
        for uuid in uuids:
            await self.schedule(uuid, request_id)

    async def schedule(self, uuid: str, request_id: str | None = None, *,
                       recovering: bool = False) -> str | None:
        """Place one instance; the chosen host, or ``None`` when there was nothing to do
        or no host. ``recovering`` (the sweep) first looks for an allocation a killed
        conductor left. A Placement outage propagates and leaves the row for the sweep."""
        if uuid in self.in_flight:
            return None
        self.in_flight.add(uuid)
        try:
            started = time.time()
            async with self.svc.read() as db:
                instance = await get_instance(db, uuid)
                if instance is None or not needs_host(instance):
                    return None
                group_uuid = await group_uuid_of(db, uuid)
                if request_id is None:
                    request_id = (await latest_request_ids(db, [uuid])).get(uuid)
            async with self._group_locks.hold(group_uuid):
                group = None
                if group_uuid is not None:      # read under the lock: earlier members placed
                    async with self.svc.read() as db:
                        group = await load_group(db, uuid)
                spec = build_request_spec(instance, group)
                try:
                    host = await self._place(spec, recovering)
                except NoValidHost as exc:
                    await self._no_valid_host(instance, request_id, started, exc)
                    return None
                return await self._commit(instance, host, request_id, started)
        finally:
            self.in_flight.discard(uuid)

    async def _place(self, spec: RequestSpec, recovering: bool) -> HostState:
        """Claim a host for ``spec``: an allocation the instance already holds if it is
        still good, else the best candidate that a concurrent claim did not fill. A fresh
        instance holds none, so only a lost claim (or ``recovering``) makes us look."""
        if recovering:
            reused = await self._reuse_or_drop(spec)
            if reused is not None:
                return reused
        lost = 0
        for _ in range(2):
            for host in await self._hosts(spec):
                if await self._claim(spec, host):
                    return host
                lost += 1
                # A duplicate scheduler of this very instance may have claimed first.
                reused = await self._reuse_or_drop(spec)
                if reused is not None:
                    return reused
        raise NoValidHost(f"Concurrent requests filled every host that fitted "
                          f"{spec.describe()} ({lost} claims lost).")

    async def _hosts(self, spec: RequestSpec) -> list[HostState]:
        candidates = await allocation_candidates(self.svc.placement, spec.placement_query())
        providers = {rp for request in candidates.get("allocation_requests") or []
                     for rp in request.get("allocations") or {}}
        async with self.svc.read() as db:
            known = await load_hosts(db, providers)
        return select_hosts(spec, candidates, known, self._filters(), default_weighers())

    def _filters(self) -> list[HostFilter]:
        return default_filters(utcnow(), self.svc.config.compute.service_down_time)

    async def _claim(self, spec: RequestSpec, host: HostState) -> bool:
        return await self.svc.placement.claim(spec.instance_uuid, host.allocations,
                                              project_id=spec.project_id,
                                              user_id=spec.user_id)

    async def _reuse_or_drop(self, spec: RequestSpec) -> HostState | None:
        """The host of the instance's existing allocation when it matches the request and
        passes every filter; otherwise the allocation is removed and ``None`` returned."""
        existing = await existing_allocations(self.svc.placement, spec.instance_uuid)
        if not existing:
            return None
        if len(existing) == 1:
            ((rp_uuid, resources),) = existing.items()
            if resources == dict(spec.resources):
                async with self.svc.read() as db:
                    host = (await load_hosts(db, [rp_uuid])).get(rp_uuid)
                if host is not None and filter_hosts([host], spec, self._filters())[0]:
                    host.allocations = existing
                    return host
        await self.svc.placement.delete_allocations(spec.instance_uuid)
        return None

    async def _commit(self, instance: Instance, host: HostState, request_id: str | None,
                      started: float) -> str | None:
        attempts = list(instance.attempts or [])
        if host.host not in attempts:
            attempts.append(host.host)
        values: dict[str, Any] = {"host": host.host, "node": host.node,
                                  "task_state": states.SPAWNING, "attempts": attempts}
        if instance.availability_zone is None:
            values["availability_zone"] = host.availability_zone
        try:
            async with self.svc.write() as db:
                placed = await update_instance(
                    db, instance.uuid, expected_task_state=states.SCHEDULING,
                    expected_vm_state=states.BUILDING, **values)
                if placed and request_id:
                    await self._events(db, instance.uuid, request_id, started,
                                       actions.SUCCESS, host.host, None)
        except Exception:
            await self._release_unless_placed(instance.uuid, host.host)
            raise
        if not placed:
            await self._release_unless_placed(instance.uuid, host.host)
            return None
        await self.svc.bus.cast(rpc.compute_topic(host.host), "reconcile_instance",
                                {"uuid": instance.uuid, "request_id": request_id})
        return host.host

    async def _release_unless_placed(self, uuid: str, host: str) -> None:
        """Drop the claim unless the instance is live on that host (another scheduler of
        the same instance won with this very allocation)."""
        async with self.svc.read() as db:
            instance = await get_instance(db, uuid)
        if instance is None or instance.host != host:
            await self.svc.placement.delete_allocations(uuid)

    async def _no_valid_host(self, instance: Instance, request_id: str | None,
                             started: float, exc: NoValidHost) -> None:
        message = "No valid host was found. " + exc.reason
        async with self.svc.write() as db:
            failed = await update_instance(
                db, instance.uuid, expected_task_state=states.SCHEDULING,
                expected_vm_state=states.BUILDING, vm_state=states.ERROR, task_state=None,
                fault=make_fault(500, message, exc.details))
            if failed and request_id:
                await self._events(db, instance.uuid, request_id, started, actions.ERROR,
                                   None, message)
        if failed:      # a claim a killed conductor left behind must not outlive the build
            await self.svc.placement.delete_allocations(instance.uuid)
        log.info("instance %s: %s", instance.uuid, message)

    @staticmethod
    async def _events(db: AsyncSession, uuid: str, request_id: str, started: float,
                      result: str, host: str | None, details: str | None) -> None:
        finished = time.time()
        for event in (EVENT_BUILD, EVENT_SCHEDULE):
            await actions.record_event(db, uuid, request_id, event, start=started,
                                       finish=finished, result=result, host=host,
                                       details=details)

    # --- reschedule -------------------------------------------------------------------------

    async def reschedule(self, uuid: str, host: str, reason: str) -> bool:
        """A spawn on ``host`` failed and may work elsewhere: back to scheduling (or
        ERROR once ``scheduler_max_attempts`` hosts were tried), claim released."""
        started = time.time()
        max_attempts = self.svc.config.compute.scheduler_max_attempts
        async with self.svc.write() as db:
            instance = await get_instance(db, uuid)
            if instance is None or instance.host != host or \
                    instance.task_state != states.SPAWNING or \
                    instance.vm_state != states.BUILDING:
                return False
            attempts = list(instance.attempts or [])
            if host not in attempts:
                attempts.append(host)
            exhausted = len(attempts) >= max_attempts
            values: dict[str, Any] = {"host": None, "node": None, "attempts": attempts}
            if exhausted:
                message = (f"Exceeded maximum number of retries. Exhausted all hosts "
                           f"available for retrying build failures for instance {uuid}. "
                           f"Last failure on {host}: {reason}")
                values.update(vm_state=states.ERROR, task_state=None, fault=make_fault(
                    500, message, f"Hosts tried: {', '.join(attempts)}."))
            else:
                values["task_state"] = states.SCHEDULING
            if not await update_instance(db, uuid, expected_task_state=states.SPAWNING,
                                         expected_vm_state=states.BUILDING,
                                         expected_host=host, **values):
                return False
            request_id = (await latest_request_ids(db, [uuid])).get(uuid)
            if request_id:
                await actions.record_event(
                    db, uuid, request_id, EVENT_RESCHEDULE, start=started,
                    finish=time.time(), result=actions.ERROR if exhausted else actions.SUCCESS,
                    host=host, details=f"spawn on {host} failed: {reason}")
        await self.svc.placement.delete_allocations(uuid)
        if not exhausted:
            await self.schedule(uuid, request_id)
        return True

    # --- delete -----------------------------------------------------------------------------

    async def finish_delete(self, uuid: str, host: str | None) -> bool:
        """The guest is gone: release the claim, mark the row deleted, leave its server
        group. Only an instance being deleted (on ``host``, when given) is touched;
        one already deleted just loses any allocation left behind."""
        async with self.svc.read() as db:
            instance = await get_instance(db, uuid, include_deleted=True)
        if instance is not None and not instance.deleted and (
                instance.task_state != states.DELETING
                or (host is not None and instance.host != host)):
            return False
        await self.svc.placement.delete_allocations(uuid)
        if instance is None or instance.deleted:
            return True
        now = utcnow()
        async with self.svc.write() as db:
            done = await update_instance(
                db, uuid, expected_task_state=states.DELETING, deleted=True,
                vm_state=states.DELETED, task_state=None, power_state=states.NOSTATE,
                deleted_at=now, terminated_at=now)
            if done:
                await db.execute(delete(ServerGroupMember)
                                 .where(ServerGroupMember.instance_uuid == uuid))
        return done
