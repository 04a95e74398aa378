"""Resize in the conductor: the Placement side of a migration, as Nova holds it.

* :meth:`Resizer.prepare` (``resize_instance`` cast, and the sweep for one a lost cast or a
  killed conductor left in ``resize_prep``): the instance's allocation moves to the
  migration's uuid as consumer and the instance's uuid gets the new flavor's, in one
  ``POST /allocations`` guarded by both consumer generations; then the instance goes to
  ``resize_migrating`` and its agent is nudged. A move a killed conductor already made is
  found (the migration holds allocations) and not made twice. No room: the migration is
  ``error``, the server back where it was, with a fault.
* :func:`agent_report`: the agent's reports that end a step of the resize carry
  ``migration`` (its uuid and new status); the migration row and the instance's flavor
  follow in the agent's transaction.
* :meth:`Resizer.settle`: once a migration is confirmed, reverted or in error, its uuid
  holds nothing: confirmed drops the old allocation, reverted (and error) moves it back
  to the instance. Idempotent, so the sweep calls it for any finished migration whose
  uuid still holds allocations (a conductor killed after the agent's report).
* :meth:`Resizer.auto_confirm`: Nova's ``resize_confirm_window``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.clients.placement import ConsumerWrite
from ownstack.common.db.base import utcnow
from ownstack.compute import rpc, states
from ownstack.compute.conductor import cold_migrate
from ownstack.compute.conductor.build import Builder
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.conductor.scheduler.request_spec import requested_resources
from ownstack.compute.errors import ConcurrentUpdate
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions, resizes
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.instances import get_instance, latest_request_ids, update_instance
from ownstack.compute.objects.models import Instance, Migration

log = logging.getLogger(__name__)

EVENT_PREP = "conductor_migrate_server"     # Nova's conductor event for resize/migrate
MIGRATION_CONSUMER: Final = "MIGRATION"
_TRIES: Final = 3


class NoRoom(Exception):
    """The host cannot hold the new flavor beside the old one."""


class Resizer:
    def __init__(self, env: ConductorEnv, builder: Builder | None = None) -> None:
        self.env = env
        self.builder = builder or Builder(env)     # the scheduler, for a cold migration

    # --- prepare ----------------------------------------------------------------------------

    async def prepare(self, instance_uuid: str, migration_uuid: str) -> bool:
        """Claim the new flavor and hand the resize to the agent; ``False`` when there was
        nothing to do (already done, or the server moved on)."""
        started = time.time()
        async with self.env.db.read() as db:
            instance = await get_instance(db, instance_uuid)
            migration = await mig.get(db, migration_uuid)
            request_id = (await latest_request_ids(db, [instance_uuid])).get(instance_uuid)
        if migration is None or migration.status != mig.PRE_MIGRATING:
            return False
        if instance is None or instance.task_state != states.RESIZE_PREP \
                or (instance.task_args or {}).get("migration") != migration_uuid:
            await self.abandon(migration_uuid)      # the server moved on (a delete)
            return False
        host = instance.host or ""
        dest, dest_node = host, instance.node
        try:
            if migration.migration_type == mig.MIGRATION:
                dest, dest_node = await cold_migrate.move_to_destination(
                    self.env, self.builder, instance, migration)
            else:
                if not self.env.config.compute.allow_resize_to_same_host:
                    raise NoRoom("compute.allow_resize_to_same_host is off, and ownstack "
                                 "resizes a server only on its own host")
                await self._move_to_migration(instance, migration)
        except (NoRoom, cold_migrate.NoDestination) as exc:
            await self._no_room(instance, migration, request_id, started, str(exc))
            return False
        async with self.env.db.write() as db:
            moved = await update_instance(
                db, instance_uuid, expected_task_state=states.RESIZE_PREP,
                expected_host=host, task_state=states.RESIZE_MIGRATING)
            if moved:
                await mig.set_status(db, migration_uuid, mig.MIGRATING,
                                     expected=[mig.PRE_MIGRATING], dest_compute=dest,
                                     dest_node=dest_node, dest_host=dest)
                if request_id:
                    await actions.record_event(db, instance_uuid, request_id, EVENT_PREP,
                                               start=started, finish=time.time(),
                                               result=actions.SUCCESS, host=host)
        if not moved:       # deleted meanwhile: its delete drops what the migration holds
            await self.settle_one(migration_uuid)
            return False
        await self.env.bus.cast(rpc.compute_topic(host), "reconcile_instance",
                                {"uuid": instance_uuid, "request_id": request_id})
        return True

    async def _move_to_migration(self, instance: Instance, migration: Migration) -> None:
        """The instance's allocation to the migration, the new flavor's to the instance
        (on the same provider: a resize stays on its host). Raises :class:`NoRoom`."""
        placement = self.env.placement
        for _ in range(_TRIES):
            held = await placement.allocations(migration.uuid)
            if held.get("allocations"):
                return      # moved by a conductor killed before it could say so
            current = await placement.allocations(instance.uuid)
            old = _amounts(current)
            if not old:
                raise NoRoom(f"instance {instance.uuid} holds no allocation to resize")
            root = next((rp for rp, res in old.items() if "VCPU" in res), next(iter(old)))
            new = {root: requested_resources(migration.new_flavor)}
            ok = await placement.write_consumers({
                migration.uuid: ConsumerWrite(old, instance.project_id, instance.user_id,
                                              None, MIGRATION_CONSUMER),
                instance.uuid: ConsumerWrite(new, instance.project_id, instance.user_id,
                                             current.get("consumer_generation")),
            })
            if ok:
                return
            if not await _fits_after_all(placement, root, old, new):
                break
        raise NoRoom(f"host {instance.host} has no room for flavor "
                     f"{migration.new_flavor.get('name')} beside the server's current one")

    async def _no_room(self, instance: Instance, migration: Migration, request_id: str | None,
                       started: float, reason: str) -> None:
        message = "No valid host was found. " + reason
        async with self.env.db.write() as db:
            back = await update_instance(
                db, instance.uuid, expected_task_state=states.RESIZE_PREP,
                task_state=None, task_args={}, vcpus=int(migration.old_flavor["vcpus"]),
                memory_mb=int(migration.old_flavor["ram"]),
                fault=Fault(message).record())
            await mig.set_status(db, migration.uuid, mig.ERROR, expected=[mig.PRE_MIGRATING])
            if back and request_id:
                await actions.record_event(db, instance.uuid, request_id, EVENT_PREP,
                                           start=started, finish=time.time(),
                                           result=actions.ERROR, host=instance.host,
                                           details=message)
        log.info("instance %s: resize refused: %s", instance.uuid, message)

    async def abandon(self, migration_uuid: str) -> None:
        """A migration whose server is gone or moved on: ``error``, its allocation
        settled."""
        async with self.env.db.write() as db:
            await mig.set_status(db, migration_uuid, mig.ERROR, expected=mig.IN_PROGRESS)
        await self.settle_one(migration_uuid)

    async def abandon_for(self, instance_uuid: str) -> None:
        """The instance was deleted: whatever migration it had in flight is over."""
        async with self.env.db.read() as db:
            migration = await mig.in_progress_for(db, instance_uuid)
        if migration is not None:
            await self.abandon(migration.uuid)

    # --- settle -----------------------------------------------------------------------------

    async def settle_one(self, migration_uuid: str) -> None:
        async with self.env.db.read() as db:
            migration = await mig.get(db, migration_uuid)
        if migration is not None:
            await self.settle(migration)

    async def settle(self, migration: Migration) -> None:
        """Leave the migration's uuid holding nothing, once the migration is over:
        confirmed drops the old allocation; reverted and error hand it back to the instance
        (the new flavor's is dropped), unless the instance is being deleted or gone, when
        it is dropped too. A migration still in flight is left alone."""
        if migration.status not in mig.DONE:
            return
        placement = self.env.placement
        for _ in range(_TRIES):
            held = await placement.allocations(migration.uuid)
            old = _amounts(held)
            if not old:
                return
            if migration.status == mig.CONFIRMED:
                await placement.delete_allocations(migration.uuid)
                return
            current = await placement.allocations(migration.instance_uuid)
            async with self.env.db.read() as db:
                instance = await get_instance(db, migration.instance_uuid)
            live = instance is not None and instance.task_state != states.DELETING
            writes = {migration.uuid: ConsumerWrite(
                {}, migration.project_id, migration.user_id, held.get("consumer_generation"),
                MIGRATION_CONSUMER)}
            if live:
                writes[migration.instance_uuid] = ConsumerWrite(
                    old, migration.project_id, migration.user_id,
                    current.get("consumer_generation"))
            if await placement.write_consumers(writes):
                return
        log.warning("migration %s: its allocation kept changing; the sweep tries again",
                    migration.uuid)

    # --- auto confirm -----------------------------------------------------------------------

    async def auto_confirm(self) -> int:
        """Confirm resizes left unconfirmed longer than ``resize_confirm_window`` (0:
        never), as Nova's ``_poll_unconfirmed_resizes`` does."""
        window = self.env.config.compute.resize_confirm_window
        if window <= 0:
            return 0
        async with self.env.db.read() as db:
            due = await mig.with_status(db, [mig.FINISHED],
                                        updated_before=utcnow() - timedelta(seconds=window))
        confirmed = 0
        for migration in due:
            try:
                async with self.env.db.write() as db:
                    host = await resizes.begin_confirm(db, migration.instance_uuid,
                                                       migration.uuid)
            except ConcurrentUpdate:
                continue        # the server changed meanwhile: the next sweep sees

            if host is not None:
                confirmed += 1
                await self.env.bus.cast(rpc.compute_topic(host), "reconcile_instance",
                                        {"uuid": migration.instance_uuid, "request_id": None})
        return confirmed


def _amounts(body: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    return {rp: {rc: int(n) for rc, n in (alloc.get("resources") or {}).items()}
            for rp, alloc in (body.get("allocations") or {}).items()}


async def _fits_after_all(placement: Any, root: str, old: Mapping[str, Mapping[str, int]],
                          new: Mapping[str, Mapping[str, int]]) -> bool:
    """After a refused write: whether the provider could hold both flavors at all (a lost
    generation race is worth another try; a full host is not)."""
    inventories = await placement.inventories(root)
    usages = await placement.provider_usages(root)
    if inventories is None or usages is None:
        return False
    for rc, amount in new[root].items():
        inv = (inventories.get("inventories") or inventories).get(rc)
        if inv is None:
            return False
        capacity = (int(inv["total"]) - int(inv.get("reserved", 0))) * float(
            inv.get("allocation_ratio", 1.0))
        if int(usages.get(rc, 0)) + amount > capacity:
            return False
    return True


# --- the agent's reports -------------------------------------------------------------------

async def agent_report(db: AsyncSession, uuid: str, report: Mapping[str, Any]
                       ) -> dict[str, Any]:
    """The instance columns that go with an agent's report of a migration step
    (``{"uuid", "status"}``): the flavor the server shows from ``finished`` on (the new
    one; the old one again once reverted) and the vCPUs and RAM quotas count."""
    migration = await mig.get(db, str(report["uuid"]))
    if migration is None or migration.instance_uuid != uuid:
        return {}
    status = str(report["status"])
    if status == mig.POST_MIGRATING and migration.migration_type == mig.MIGRATION \
            and migration.dest_compute:
        # a cold migration's source handed the guest over: the server is the destination's
        return {"host": migration.dest_compute, "node": migration.dest_node}
    if status == mig.FINISHED:
        return {"flavor": dict(migration.new_flavor)}
    if status == mig.CONFIRMED:
        return {"task_args": {}, "vcpus": int(migration.new_flavor["vcpus"]),
                "memory_mb": int(migration.new_flavor["ram"])}
    if status == mig.REVERTED:
        return {"task_args": {}, "flavor": dict(migration.old_flavor),
                "vcpus": int(migration.old_flavor["vcpus"]),
                "memory_mb": int(migration.old_flavor["ram"])}
    return {}


async def is_cold_migration(db: AsyncSession, migration_uuid: str) -> bool:
    migration = await mig.get(db, migration_uuid)
    return migration is not None and migration.migration_type == mig.MIGRATION


async def source_to_clear(db: AsyncSession, migration_uuid: str, host: str) -> str | None:
    """The source host of a cold migration being confirmed on ``host``, whose agent
    destroys the guest it kept."""
    migration = await mig.get(db, migration_uuid)
    if migration is None or migration.migration_type != mig.MIGRATION \
            or not migration.source_compute or migration.source_compute == host:
        return None
    return str(migration.source_compute)


REPORTABLE: Final = {mig.POST_MIGRATING: [mig.MIGRATING],
                     mig.FINISHED: [mig.MIGRATING, mig.POST_MIGRATING],
                     mig.CONFIRMED: [mig.CONFIRMING],
                     mig.REVERTED: [mig.REVERTING]}
