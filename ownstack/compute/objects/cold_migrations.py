"""Cold migration (``migrate``): a resize to the same flavor on another host.

It rides the resize's machinery (:mod:`ownstack.compute.objects.resizes`,
:mod:`ownstack.compute.conductor.resize`): a migration record of type ``migration``,
the task ``resize_prep``, the conductor picks a destination host other than the source
and moves the allocations (the old one held by the migration's uuid on the source
provider, the same flavor claimed for the instance on the destination's), then
``VERIFY_RESIZE``; ``confirmResize`` and ``revertResize`` as for a resize.

The instance's ``task_args`` carry ``source_host`` for as long as the migration can be
reverted: the source's agent keeps its powered-off guest while they do, and destroys
it once they no longer do (confirmed).

Only hypervisors that can hand a guest over to another host can be cold migrated: the
fake driver's nodes (whose guests keep no disk files) and QEMU, whose destination agent
pulls the guest's overlay from the source agent over the bus (decision 56,
:mod:`ownstack.compute.agent.disk_transfer`). A server on any other hypervisor is refused
with a 400 before anything changes. A server with volumes
(attached, or booted from one) is refused too: its attachments would have to move to the
destination's connector, which is not done yet.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.compute import states
from ownstack.compute.objects import actions
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    ComputeNode,
    ComputeService,
    Flavor,
    Instance,
)
from ownstack.compute.objects.server_actions import Transition, begin, check_can_begin
from ownstack.compute.rpc import COMPUTE_BINARY

SOURCE_HOST: Final = "source_host"
REQUESTED_HOST: Final = "requested_host"
MIGRATION_TYPE: Final = "migration_type"
# Hypervisor types (os-hypervisors' hypervisor_type) whose guests can move between hosts.
MOVABLE_HYPERVISORS: Final = frozenset({"fake", "QEMU"})
MIGRATE: Final = Transition("migrate", actions.MIGRATE,
                            frozenset({states.ACTIVE, states.STOPPED}), frozenset({None}),
                            states.RESIZE_PREP)


def is_cold_migration(task_args: object) -> bool:
    return isinstance(task_args, dict) and task_args.get(MIGRATION_TYPE) == mig.MIGRATION


async def _other_hosts(db: AsyncSession, source: str | None) -> list[str]:
    rows = await db.execute(sa.select(ComputeService.host).where(
        ComputeService.binary == COMPUTE_BINARY, ComputeService.disabled.is_(False)))
    return sorted({str(host) for (host,) in rows if host != source})


async def check_can_migrate(db: AsyncSession, instance: Instance, requested: str | None,
                            *, is_admin: bool) -> None:
    """The 409s (lock, state) then the 400s of a cold migration, as Nova orders them."""
    check_can_begin(instance, MIGRATE, is_admin=is_admin)
    types = {str(t) for (t,) in await db.execute(sa.select(ComputeNode.hypervisor_type)
                                                 .where(ComputeNode.host == instance.host))}
    if not types or not types <= MOVABLE_HYPERVISORS:
        raise BadRequest(
            f"Cold migration is not supported for servers on host {instance.host} "
            f"(hypervisor {', '.join(sorted(types)) or 'unknown'}): ownstack cannot move "
            f"that hypervisor's guests between hosts.")
    volumes = (await db.execute(sa.select(sa.func.count()).select_from(BlockDeviceMapping)
                                .where(BlockDeviceMapping.instance_uuid == instance.uuid,
                                       BlockDeviceMapping.deleted.is_(False),
                                       BlockDeviceMapping.destination_type == "volume"))
               ).scalar_one()
    if volumes:
        raise BadRequest("Cold migration of a server with volumes is not supported yet: "
                         "its volume attachments would have to move to the other host.")
    if requested is not None:
        service = (await db.execute(sa.select(ComputeService).where(
            ComputeService.host == requested, ComputeService.binary == COMPUTE_BINARY))
        ).scalar_one_or_none()
        if service is None:
            raise BadRequest(f"Compute host {requested} could not be found.")
        if requested == instance.host:
            raise BadRequest("Cannot migrate to the host where the server exists.")
        return
    if not await _other_hosts(db, instance.host):
        raise BadRequest("No valid host was found. There is no compute host other than "
                         f"{instance.host}, the server's own.")


async def begin_migrate(db: AsyncSession, ctx: RequestContext, instance: Instance,
                        requested: str | None, *, is_admin: bool) -> str:
    """Start a cold migration (checked by :func:`check_can_migrate`); the migration's
    uuid."""
    flavor = dict(instance.flavor)
    type_id = (await db.execute(sa.select(Flavor.id).where(
        Flavor.flavorid == str(flavor.get("id"))))).scalar_one_or_none()
    migration = await mig.create(db, instance, migration_type=mig.MIGRATION,
                                 new_flavor=flavor, old_type_id=type_id,
                                 new_type_id=type_id)
    await begin(db, ctx, instance, MIGRATE, is_admin=is_admin,
                task_args={"migration": migration.uuid, "old_vm_state": instance.vm_state,
                           "old_flavor": flavor, "new_flavor": flavor,
                           MIGRATION_TYPE: mig.MIGRATION, SOURCE_HOST: instance.host,
                           REQUESTED_HOST: requested})
    return migration.uuid

