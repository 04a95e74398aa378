"""The conductor's sweep: level-triggered repair of what a lost message or a killed
process left behind. Each pass looks at durable state only, so running it twice, or in
two conductors at once, is harmless (every change is a compare-and-swap).

* BUILD instances waiting for a host longer than :attr:`Sweeper.stale_after` are scheduled
  (a lost ``schedule_instances`` cast, or a conductor killed mid-schedule; an allocation
  it already claimed is reused or dropped by the scheduler).
* BUILD instances older than ``compute.build_timeout`` go to ERROR ("Build timed out"),
  their host cleared and their allocation released.
* Instances being deleted on a host whose service is down (or with no host at all) are
  finished here, since no agent will report them destroyed.
* Ports of deleted instances are released (deleted, or unbound when the user brought
  them) when that failed or never ran (``network_status`` still says they may exist).
* Volume mappings of deleted instances are released (attachments deleted, volumes marked
  ``delete_on_termination`` deleted) when that failed or never ran.
* Allocations still held by deleted instances are removed (checked every
  :attr:`Sweeper.orphan_interval` seconds: it asks Placement about every node), and those
  of migrations that are over are settled (dropped, or handed back to their instance).
* Resizes waiting in ``resize_prep`` longer than :attr:`Sweeper.stale_after` are prepared
  (a lost ``resize_instance`` cast, or a conductor killed mid-claim), and resizes left
  unconfirmed longer than ``compute.resize_confirm_window`` are confirmed.
* Shelved servers past ``compute.shelved_offload_time`` are offloaded, offloaded servers
  left in ``unshelving`` are scheduled, and offloaded servers hold no allocation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from sqlalchemy import func, select

from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.conductor import networks, volumes
from ownstack.compute.conductor.build import Builder
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.conductor.resize import Resizer
from ownstack.compute.conductor.shelve import Shelver
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.hosts import agent_is_up
from ownstack.compute.objects.instances import latest_request_ids, update_instance
from ownstack.compute.objects.models import ComputeNode, ComputeService, Instance

log = logging.getLogger(__name__)

BATCH = 200          # rows one pass handles per kind; the next pass takes the rest
CONCURRENCY = 8      # stuck instances scheduled at once


class Sweeper:
    def __init__(self, env: ConductorEnv, builder: Builder,
                 resizer: Resizer | None = None, shelver: Shelver | None = None) -> None:
        self.env = env
        self.builder = builder
        self.resizer = resizer or Resizer(env)
        self.shelver = shelver or Shelver(env, builder)
        self.stale_after = 5.0          # seconds a BUILD row may wait for a host
        self.orphan_interval = 60.0     # seconds between orphan-allocation checks
        self._last_orphan_check: float | None = None

    async def sweep(self) -> None:
        """One pass of every repair; a failing one is logged and does not stop the rest."""
        steps: list[Callable[[], Awaitable[int]]] = [
            self.time_out_builds, self.schedule_stuck, self.finish_orphaned_deletes,
            self.release_ports, self.release_volumes, self.prepare_stuck_resizes,
            self.resizer.auto_confirm, self.shelver.offload_due, self.unshelve_stuck]
        now = time.monotonic()
        if self._last_orphan_check is None or \
                now - self._last_orphan_check >= self.orphan_interval:
            self._last_orphan_check = now
            steps.append(self.remove_orphan_allocations)
        for step in steps:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("conductor sweep step %s failed", step.__name__)

    async def time_out_builds(self) -> int:
        timeout = self.env.config.compute.build_timeout
        cutoff = utcnow() - timedelta(seconds=timeout)
        async with self.env.db.read() as db:
            uuids = list((await db.execute(
                select(Instance.uuid).where(
                    Instance.deleted.is_(False), Instance.vm_state == states.BUILDING,
                    Instance.created_at < cutoff)
                .where((Instance.task_state.is_(None))
                       | Instance.task_state.in_([states.SCHEDULING, states.SPAWNING]))
                .limit(BATCH))).scalars())
        timed_out = 0
        for uuid in uuids:
            if uuid in self.builder.in_flight:
                continue
            fault = Fault("Build timed out", details=f"The server was still building after "
                          f"compute.build_timeout ({timeout:g} seconds).").record()
            started = time.time()
            async with self.env.db.write() as db:
                done = await update_instance(
                    db, uuid, expected_task_state=[None, states.SCHEDULING, states.SPAWNING],
                    expected_vm_state=states.BUILDING, vm_state=states.ERROR,
                    task_state=None, host=None, node=None, fault=fault)
                request_id = (await latest_request_ids(db, [uuid])).get(uuid)
                if done and request_id:
                    await actions.record_event(db, uuid, request_id, "conductor_build_timeout",
                                               start=started, finish=time.time(),
                                               result=actions.ERROR, details="Build timed out")
            if done:
                timed_out += 1
                await self.env.placement.delete_allocations(uuid)
        return timed_out

    async def schedule_stuck(self) -> int:
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.env.db.read() as db:
            uuids = [uuid for uuid in (await db.execute(
                select(Instance.uuid).where(
                    Instance.deleted.is_(False), Instance.vm_state == states.BUILDING,
                    Instance.task_state == states.SCHEDULING, Instance.host.is_(None),
                    func.coalesce(Instance.updated_at, Instance.created_at) < cutoff)
                .order_by(Instance.created_at).limit(BATCH))).scalars()
                if uuid not in self.builder.in_flight]
        await _bounded(uuids, self._schedule_one)
        return len(uuids)

    async def _schedule_one(self, uuid: str) -> None:
        try:
            await self.builder.schedule(uuid, recovering=True)
        except Exception:
            log.exception("sweep could not schedule instance %s", uuid)

    async def finish_orphaned_deletes(self) -> int:
        """Deletes no agent will finish: no host, or a host whose service is down."""
        async with self.env.db.read() as db:
            rows = (await db.execute(
                select(Instance.uuid, Instance.host).where(
                    Instance.deleted.is_(False), Instance.task_state == states.DELETING)
                .limit(BATCH))).all()
            hosts = {host for _, host in rows if host}
            services = {s.host: s for s in (await db.execute(select(ComputeService).where(
                ComputeService.host.in_(hosts),
                ComputeService.binary == rpc.COMPUTE_BINARY))).scalars()} if hosts else {}
        now, down_time = utcnow(), self.env.config.compute.service_down_time
        finished = 0
        for uuid, host in rows:
            service = services.get(host) if host else None
            if service is not None and agent_is_up(service, down_time, now):
                continue
            if await self.builder.finish_delete(uuid, None):
                finished += 1
        return finished

    async def release_ports(self) -> int:
        """Ports of deleted instances whose release failed (the network service was
        down) or never ran (a process killed between the delete and the release)."""
        return await networks.release_deleted(self.env, BATCH, self.builder.in_flight)

    async def release_volumes(self) -> int:
        """Volume mappings of deleted instances (their attachments, and the volumes
        deleted on termination) that a failed or killed release left."""
        return await volumes.release_deleted(self.env, BATCH)

    async def remove_orphan_allocations(self) -> int:
        async with self.env.db.read() as db:
            nodes = list((await db.execute(select(ComputeNode.uuid))).scalars())
        consumers: set[str] = set()
        for node in nodes:
            consumers |= await self.env.placement.provider_consumers(node)
        if not consumers:
            return 0
        async with self.env.db.read() as db:
            deleted = list((await db.execute(select(Instance.uuid).where(
                Instance.uuid.in_(sorted(consumers)), Instance.deleted.is_(True)))).scalars())
            # Offloaded servers hold nothing (a conductor killed before it dropped it).
            deleted += list((await db.execute(select(Instance.uuid).where(
                Instance.uuid.in_(sorted(consumers)), Instance.deleted.is_(False),
                Instance.vm_state == states.SHELVED_OFFLOADED,
                Instance.task_state.is_(None)))).scalars())
            held = await mig.by_uuids(db, consumers)
            gone = set((await db.execute(select(Instance.uuid).where(
                Instance.uuid.in_(sorted({m.instance_uuid for m in held})),
                Instance.deleted.is_(True)))).scalars()) if held else set()
        for uuid in deleted:
            await self.env.placement.delete_allocations(uuid)
        over = [m for m in held if m.status in mig.DONE]
        for migration in over:
            await self.resizer.settle(migration)
        # A server deleted without its agent (a host that is down) left its resize open.
        orphaned = [m for m in held if m.status not in mig.DONE and m.instance_uuid in gone]
        for migration in orphaned:
            await self.resizer.abandon(migration.uuid)
        return len(deleted) + len(over) + len(orphaned)

    async def unshelve_stuck(self) -> int:
        return await self.shelver.unshelve_stuck(self.stale_after)

    async def prepare_stuck_resizes(self) -> int:
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.env.db.read() as db:
            stuck = await mig.with_status(db, [mig.PRE_MIGRATING], updated_before=cutoff,
                                          limit=BATCH)
        prepared = 0
        for migration in stuck:
            try:
                prepared += await self.resizer.prepare(migration.instance_uuid, migration.uuid)
            except Exception:
                log.exception("sweep could not prepare the resize of %s",
                              migration.instance_uuid)
        return prepared


async def _bounded(items: Sequence[str], work: Callable[[str], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: str) -> None:
        async with gate:
            await work(item)
    await asyncio.gather(*(one(item) for item in items))
