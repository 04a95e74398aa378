"""Building instances: schedule, claim, hand to the host; reschedule; finish a delete.

The instance row is the record of progress, Placement's allocation the record of the claim,
so a conductor killed at any point leaves nothing the sweep cannot repair:

1. read the instance (``building``/``scheduling``, no host) and its server group;
2. when the sweep recovers it, or a claim is refused because the instance already holds
   one, reuse that allocation if its host still passes the filters (a conductor died after
   claiming, or a duplicate cast was faster), or drop it;
3. ask Placement for candidates, filter and weigh them, claim the best one (a lost race
   moves on to the next, and the candidates are asked for once more when all are lost);
4. ready the volumes the instance boots with (attached with the claimed host's
   connector: :mod:`ownstack.compute.conductor.boot_volumes`; a failure ends the build in
   ERROR); make the ports the instance asked for (``networks``: found again by device id
   when a killed conductor made some already; a refusal ends the build in ERROR);
   compare-and-swap the row to ``spawning`` on that host with its network info cache,
   recording the action events in the same transaction; if the row changed meanwhile
   (a delete) the claim is released, and the ports;
5. cast ``reconcile_instance`` to the host's agent.

Instances of one server group are scheduled one at a time in this process, so two members
of an anti-affinity group scheduled at once cannot both pick the same host.

Requests queue, and a single task takes them in order. When several instances with no
server group wait together (a burst of boots, or one request for many), they are placed in
one pass (:mod:`ownstack.compute.conductor.batch`): one candidates request per distinct
resource request, every choice counted against the hosts before the next is made, one
claim for all (Placement writes it all or nothing), and one transaction for their rows.
Whatever that pass cannot place, because a claim lost a race or no host was left, goes
through the one-at-a-time path above, which asks Placement afresh and writes the
NoValidHost fault when there really is no room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, case, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import Runner, run
from ownstack.compute import rpc, states
from ownstack.compute.conductor import boot_volumes, networks, volumes
from ownstack.compute.conductor.batch import (
    MAX_BATCH,
    Entry,
    candidate_providers,
    place_batch,
)
from ownstack.compute.conductor.claims import Claimed, ToPlace
from ownstack.compute.conductor.env import ConductorEnv
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
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions, block_devices
from ownstack.compute.objects.instances import (
    ALLOCATED,
    RETURNED_SPEC,
    get_instance,
    latest_request_ids,
    returned_spec,
    update_instance,
)
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    Instance,
    ServerGroup,
    ServerGroupMember,
)

log = logging.getLogger(__name__)

# How long the runner waits for more boots before a pass that is not full (decision 106):
# a pass's reads (providers, inventories, traits, consumers) serve every boot in it, and
# without the wait a pass's size hangs on how often its own database calls suspend.
GATHER_SECONDS: Final = 0.001

EVENT_BUILD = "conductor_schedule_and_build_instances"
EVENT_SCHEDULE = "schedule"
EVENT_RESCHEDULE = "conductor_reschedule"


def needs_host(instance: Instance | ToPlace) -> bool:
    return (instance.vm_state == states.BUILDING and instance.task_state == states.SCHEDULING
            and instance.host is None)


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


def _events(uuid: str, request_id: str, started: float, result: str, host: str | None,
            details: str | None) -> list[actions.Event]:
    finished = time.time()
    return [actions.Event(uuid, request_id, event, started, finished, result, host, details)
            for event in (EVENT_BUILD, EVENT_SCHEDULE)]


def _fail(item: _Queued, exc: BaseException) -> None:
    if not item.done.done():
        item.done.set_exception(exc)


# The instance as scheduling needs it, with its server group (if any), its network
# requests and whether it has volume mappings made with it and not attached yet (what
# ``Builder.commit`` would otherwise open two read sessions to learn): one statement.
_PENDING_VOLUMES: Final = exists().where(
    BlockDeviceMapping.instance_uuid == Instance.uuid, BlockDeviceMapping.deleted.is_(False),
    BlockDeviceMapping.destination_type == block_devices.DESTINATION_VOLUME,
    BlockDeviceMapping.attach_state.is_(None))
_TO_PLACE_COLUMNS: Final = (
    select(Instance.uuid, Instance.project_id, Instance.user_id, Instance.flavor,
           Instance.image_meta, Instance.availability_zone, Instance.attempts,
           Instance.vm_state, Instance.task_state, Instance.host,
           ServerGroup.uuid.label("group_uuid"), Instance.image_ref,
           Instance.network_requests, _PENDING_VOLUMES.label("volumes_pending"))
    .outerjoin(ServerGroupMember, ServerGroupMember.instance_uuid == Instance.uuid)
    .outerjoin(ServerGroup, ServerGroup.id == ServerGroupMember.group_id)
    .where(Instance.deleted.is_(False)))
TO_PLACE: Final = _TO_PLACE_COLUMNS.where(Instance.uuid.in_(bindparam("uuids", expanding=True)))
# One instance by ``= :uuid`` (most passes at the benchmark's concurrency place one): an
# expanding IN list makes SQLAlchemy rewrite the statement's text at each execution.
_TO_PLACE_ONE: Final = _TO_PLACE_COLUMNS.where(Instance.uuid == bindparam("uuid"))

# A deleted instance leaves its server group (built once, as every statement a boot or a
# delete runs: building one per call costs more CPU than running it).
_LEAVE_GROUP: Final = delete(ServerGroupMember).where(
    ServerGroupMember.instance_uuid == bindparam("b_uuid"))

# The compare-and-swap from scheduling to spawning on the claimed host (the zone is the
# host's unless the user asked for one; an admin's "zone:host" becomes the zone of the
# host it named, which the scheduler kept to).
_INSTANCES: Final = cast(Table, Instance.__table__)
_PLACE: Final = (
    update(_INSTANCES)
    .where(_INSTANCES.c.uuid == bindparam("b_uuid"), _INSTANCES.c.deleted.is_(False),
           _INSTANCES.c.task_state == states.SCHEDULING,
           _INSTANCES.c.vm_state == states.BUILDING)
    .values(host=bindparam("b_host"), node=bindparam("b_node"), task_state=states.SPAWNING,
            attempts=bindparam("b_attempts", type_=_INSTANCES.c.attempts.type),
            availability_zone=case(
                (_INSTANCES.c.availability_zone.contains(":"), bindparam("b_zone")),
                else_=func.coalesce(_INSTANCES.c.availability_zone, bindparam("b_zone"))),
            network_info=bindparam("b_network_info", type_=_INSTANCES.c.network_info.type),
            network_status=bindparam("b_network_status"),
            updated_at=bindparam("b_now", type_=_INSTANCES.c.updated_at.type),
            generation=_INSTANCES.c.generation + 1))
# The same, returning the spec the agent would read next (decision 94) where the database
# returns what an update wrote (SQLite, PostgreSQL): the cast carries it, and the agent's
# pass asks the conductor for nothing. MySQL and MariaDB have no ``UPDATE ... RETURNING``.
_PLACE_RETURNING: Final = _PLACE.returning(*RETURNED_SPEC)
_RETURNING: Final = frozenset({"sqlite", "postgresql"})


async def load_to_place(db: Runner, uuids: Sequence[str]) -> dict[str, ToPlace]:
    """The live instances among ``uuids`` as :data:`TO_PLACE` reads them, by uuid."""
    rows: dict[str, ToPlace] = {}
    # Core, not the session: plain columns, and the ORM's execution of a statement of
    # entity columns costs more than the statement (every scheduling pass runs it).
    statement, params = ((_TO_PLACE_ONE, {"uuid": uuids[0]}) if len(uuids) == 1
                         else (TO_PLACE, {"uuids": list(uuids)}))
    for row in await run(db, statement, params):
        if row.uuid not in rows:
            # ToPlace's fields in TO_PLACE's order, then what its last two columns say.
            columns = [*row[:12], bool(row.network_requests), bool(row.volumes_pending)]
            rows[row.uuid] = ToPlace(*columns)
    return rows


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


@dataclass
class _Queued:
    uuid: str
    request_id: str | None
    asked: float                         # time.time() when it was asked for
    done: asyncio.Future[None]


class Builder:
    def __init__(self, env: ConductorEnv) -> None:
        self.env = env
        self.in_flight: set[str] = set()     # uuids this process is scheduling now
        self._group_locks = KeyedLocks()
        self._queue: list[_Queued] = []
        self._runner: asyncio.Task[None] | None = None
        # Called with the uuid of an instance whose delete finishes (a resize it had in
        # flight is abandoned there).
        self.on_delete: Callable[[str], Awaitable[None]] | None = None

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        for item in self._queue:
            self.in_flight.discard(item.uuid)
            if not item.done.done():
                item.done.cancel()
        self._queue.clear()

    # --- scheduling -------------------------------------------------------------------------

    async def schedule_instances(self, uuids: Sequence[str], request_id: str | None) -> None:
        """Place the instances, in order, so later members of a group see earlier ones;
        returns once each is placed or failed, and raises what the first failure raised."""
        waits = self.enqueue(uuids, request_id)
        if waits:
            await asyncio.gather(*waits)

    def enqueue(self, uuids: Sequence[str], request_id: str | None
                ) -> list[asyncio.Future[None]]:
        """Queue the instances for placement without waiting; an instance this process is
        placing already is left to that attempt."""
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        for uuid in uuids:
            if uuid in self.in_flight:
                continue
            self.in_flight.add(uuid)
            item = _Queued(uuid, request_id, time.time(), loop.create_future())
            self._queue.append(item)
            waits.append(item.done)
        if self._queue and self._runner is None:
            self._runner = loop.create_task(self._run())
        return waits

    async def _gather(self) -> None:
        """Wait GATHER_SECONDS before a pass that is not full, so that the boots on their
        way join it rather than only those that arrived while the last pass was
        suspended."""
        if len(self._queue) < MAX_BATCH:
            await asyncio.sleep(GATHER_SECONDS)

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._gather()
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self._schedule_queued(batch)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("scheduling %d instances failed", len(batch))
                    for item in batch:
                        _fail(item, exc)
                finally:
                    for item in batch:
                        self.in_flight.discard(item.uuid)
                        if not item.done.done():
                            item.done.set_result(None)
        finally:
            self._runner = None

    async def _schedule_queued(self, items: list[_Queued]) -> None:
        async with self.env.db.plain_read() as db:
            rows = await load_to_place(db, [item.uuid for item in items])
            unknown = [item.uuid for item in items if item.request_id is None]
            request_ids = await latest_request_ids(db, unknown) if unknown else {}
        for item in items:
            if item.request_id is None:
                item.request_id = request_ids.get(item.uuid)
        waiting = [(item, rows[item.uuid]) for item in items
                   if item.uuid in rows and needs_host(rows[item.uuid])]
        grouped = [(item, row) for item, row in waiting if row.group_uuid is None]
        one_by_one = waiting
        if len(grouped) > 1:
            left = await self._place_together(grouped)
            one_by_one = [(item, row) for item, row in waiting
                          if row.group_uuid is not None or item.uuid in left]
        for item, row in one_by_one:
            try:
                await self._schedule_one(item.uuid, item.request_id, row, started=item.asked)
            except Exception as exc:
                log.exception("instance %s: scheduling failed", item.uuid)
                _fail(item, exc)

    async def _place_together(self, waiting: list[tuple[_Queued, ToPlace]]) -> set[str]:
        """Place ``waiting`` in one pass; the uuids it could not place."""
        entries = [Entry(item.uuid, row, build_request_spec(row, None), item.request_id,
                         item.asked) for item, row in waiting]
        chosen, left = await place_batch(self.env.placement, self.host_view, self.filters(),
                                         entries)
        if chosen:
            await self.commit(chosen)
        return left

    async def schedule(self, uuid: str, request_id: str | None = None, *,
                       recovering: bool = False) -> str | None:
        """Place one instance now; the chosen host, or ``None`` when there was nothing to
        do or no host. ``recovering`` (the sweep) first looks for an allocation a killed
        conductor left. A Placement outage propagates and leaves the row for the sweep."""
        if uuid in self.in_flight:
            return None
        self.in_flight.add(uuid)
        try:
            return await self._schedule_one(uuid, request_id, None, recovering=recovering)
        finally:
            self.in_flight.discard(uuid)

    async def _schedule_one(self, uuid: str, request_id: str | None, row: ToPlace | None, *,
                            recovering: bool = False, started: float | None = None
                            ) -> str | None:
        started = time.time() if started is None else started
        if row is None or request_id is None:
            async with self.env.db.read() as db:
                if row is None:
                    row = (await load_to_place(db, [uuid])).get(uuid)
                if row is not None and request_id is None:
                    request_id = (await latest_request_ids(db, [uuid])).get(uuid)
        if row is None or not needs_host(row):
            return None
        async with self._group_locks.hold(row.group_uuid):
            group = None
            if row.group_uuid is not None:      # read under the lock: earlier members placed
                async with self.env.db.read() as db:
                    group = await load_group(db, uuid)
            spec = build_request_spec(row, group)
            try:
                host = await self._place(spec, recovering)
            except NoValidHost as exc:
                await self._no_valid_host(uuid, request_id, started, exc)
                return None
            (placed,) = await self.commit([Claimed(row, host.host, host.node,
                                                   host.availability_zone, request_id,
                                                   started)])
            return placed

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
        candidates = await allocation_candidates(self.env.placement, spec.placement_query())
        known = await self.host_view(candidate_providers([candidates]))
        return select_hosts(spec, candidates, known, self.filters(), default_weighers())

    async def host_view(self, providers: Iterable[str]) -> dict[str, HostState]:
        """The compute nodes among ``providers``, as the filters see them."""
        async with self.env.db.plain_read() as db:
            return await load_hosts(db, providers)

    def filters(self) -> list[HostFilter]:
        return default_filters(utcnow(), self.env.config.compute.service_down_time)

    async def _claim(self, spec: RequestSpec, host: HostState) -> bool:
        return await self.env.placement.claim(spec.instance_uuid, host.allocations,
                                              project_id=spec.project_id,
                                              user_id=spec.user_id)

    async def _reuse_or_drop(self, spec: RequestSpec) -> HostState | None:
        """The host of the instance's existing allocation when it matches the request and
        passes every filter; otherwise the allocation is removed and ``None`` returned."""
        existing = await existing_allocations(self.env.placement, spec.instance_uuid)
        if not existing:
            return None
        if len(existing) == 1:
            ((rp_uuid, resources),) = existing.items()
            if resources == dict(spec.resources):
                host = (await self.host_view([rp_uuid])).get(rp_uuid)
                if host is not None and filter_hosts([host], spec, self.filters())[0]:
                    host.allocations = existing
                    return host
        await self.env.placement.delete_allocations(spec.instance_uuid)
        return None

    async def commit(self, claimed: Sequence[Claimed]) -> list[str | None]:
        """Make the ports of instances that asked for some, then move each instance to
        ``spawning`` on its claimed host, in one transaction with their events and network
        info caches, and hand it to the host; the host of each, or ``None`` where the
        ports could not be made (the instance is then in ERROR) or the row changed
        meanwhile (its claim is then released, and its ports)."""
        failed = await boot_volumes.prepare_for(self.env, claimed)
        infos = await networks.allocate_for(
            self.env, [c for c in claimed if c.row.uuid not in failed])
        placed: list[bool] = []
        specs: dict[str, rpc.InstanceSpec] = {}
        try:
            async with self.env.db.plain_write() as db:
                returning = db.get_bind().dialect.name in _RETURNING
                events: list[actions.Event] = []
                for claim in claimed:
                    row = claim.row
                    if row.uuid not in infos:
                        placed.append(False)
                        continue
                    info = infos[row.uuid]
                    attempts = list(row.attempts or [])
                    if claim.host not in attempts:
                        attempts.append(claim.host)
                    params = {
                        "b_uuid": row.uuid, "b_host": claim.host, "b_node": claim.node,
                        "b_attempts": attempts, "b_zone": claim.zone,
                        "b_network_info": info or [],
                        "b_network_status": None if info is None else ALLOCATED,
                        "b_now": utcnow()}
                    if returning:
                        returned = (await run(db, _PLACE_RETURNING, params)).first()
                        ok = returned is not None
                        spec = None if returned is None else returned_spec(returned)
                        if spec is not None:
                            specs[row.uuid] = spec
                    else:
                        ok = rows_matched(await run(db, _PLACE, params)) == 1
                    placed.append(ok)
                    if ok and claim.request_id:
                        events += _events(row.uuid, claim.request_id, claim.started,
                                          actions.SUCCESS, claim.host, None)
                await actions.record_events(db, events)
        except Exception:
            for claim in claimed:
                if claim.row.uuid in infos:
                    await self._release_unless_placed(claim.row.uuid, claim.host)
            raise
        hosts: list[str | None] = []
        for claim, ok in zip(claimed, placed, strict=True):
            if not ok:
                if claim.row.uuid in infos:
                    await self._release_unless_placed(claim.row.uuid, claim.host)
                    if infos[claim.row.uuid] is not None:
                        await networks.release_after_delete(self.env, claim.row.uuid)
                hosts.append(None)
                continue
            nudge: dict[str, Any] = {"uuid": claim.row.uuid, "request_id": claim.request_id}
            if claim.row.uuid in specs:
                nudge["instance"] = specs[claim.row.uuid]
                nudge["sent_at"] = time.time()
            await self.env.bus.cast(rpc.compute_topic(claim.host), "reconcile_instance", nudge)
            hosts.append(claim.host)
        return hosts

    async def _release_unless_placed(self, uuid: str, host: str) -> None:
        """Drop the claim unless the instance is live on that host (another scheduler of
        the same instance won with this very allocation)."""
        async with self.env.db.read() as db:
            instance = await get_instance(db, uuid)
        if instance is None or instance.host != host:
            await self.env.placement.delete_allocations(uuid)

    async def _no_valid_host(self, uuid: str, request_id: str | None, started: float,
                             exc: NoValidHost) -> None:
        message = "No valid host was found. " + exc.reason
        async with self.env.db.write() as db:
            failed = await update_instance(
                db, uuid, expected_task_state=states.SCHEDULING,
                expected_vm_state=states.BUILDING, vm_state=states.ERROR, task_state=None,
                fault=Fault(message, details=exc.details).record())
            if failed and request_id:
                await actions.record_events(db, _events(uuid, request_id, started,
                                                        actions.ERROR, None, message))
        if failed:      # a claim a killed conductor left behind must not outlive the build
            await self.env.placement.delete_allocations(uuid)
        log.info("instance %s: %s", uuid, message)

    # --- reschedule -------------------------------------------------------------------------

    async def reschedule(self, uuid: str, host: str, reason: str) -> bool:
        """A spawn on ``host`` failed and may work elsewhere: back to scheduling (or
        ERROR once ``scheduler_max_attempts`` hosts were tried), claim released."""
        started = time.time()
        max_attempts = self.env.config.compute.scheduler_max_attempts
        async with self.env.db.write() as db:
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
                values.update(vm_state=states.ERROR, task_state=None, fault=Fault(
                    message, details=f"Hosts tried: {', '.join(attempts)}.").record())
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
        await self.env.placement.delete_allocations(uuid)
        if not exhausted:
            await self.schedule(uuid, request_id)
        return True

    # --- delete -----------------------------------------------------------------------------

    async def finish_delete(self, uuid: str, host: str | None) -> bool:
        """The guest is gone: release the claim, mark the row deleted, leave its server
        group. Only an instance being deleted (on ``host``, when given) is touched;
        one already deleted just loses any allocation left behind."""
        async with self.env.db.read() as db:
            instance = await get_instance(db, uuid, include_deleted=True)
        if instance is not None and not instance.deleted and (
                instance.task_state != states.DELETING
                or (host is not None and instance.host != host)):
            return False
        await self.env.placement.delete_allocations(uuid)
        if self.on_delete is not None:
            await self.on_delete(uuid)
        if instance is None or instance.deleted:
            return True
        # Nova's order: the ports and volumes go before the row, so a client that sees the
        # server gone (404) may delete its subnet or volume at once. A network or volume
        # service that fails leaves its part to the sweep, which releases what deleted
        # servers still hold; both releases are idempotent.
        await networks.release_after_delete(self.env, uuid)
        await volumes.release_after_delete(self.env, uuid)
        now = utcnow()
        async with self.env.db.write() as db:
            done = await update_instance(
                db, uuid, expected_task_state=states.DELETING, deleted=True,
                vm_state=states.DELETED, task_state=None, power_state=states.PowerState.NOSTATE,
                deleted_at=now, terminated_at=now)
            if done:
                await db.execute(_LEAVE_GROUP, {"b_uuid": uuid})
        return done
