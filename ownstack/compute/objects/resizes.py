"""Resize, confirm and revert: the states each needs and the write that starts it.

As every action (:mod:`ownstack.compute.objects.server_actions`), each is accepted in one
write transaction: checks for a clear 409 or 400, then a compare-and-swap on the instance,
the migration record (:mod:`ownstack.compute.objects.migrations`) and the instance action.

* ``resize`` (ACTIVE or SHUTOFF): a migration ``pre-migrating`` holding both flavors, the
  task ``resize_prep``; the conductor claims the new flavor next. The vCPUs and RAM the
  quota counts are the larger of the two flavors until the resize is confirmed or
  reverted, as Nova counts a resized server.
* ``confirmResize`` (VERIFY_RESIZE): the migration ``confirming``, and the instance's
  ``task_args`` tell its agent to drop the kept disk; Nova sets no task state for it.
* ``revertResize`` (VERIFY_RESIZE): the migration ``reverting``, the task
  ``resize_reverting`` (a cold migration's server back on its source host).

Nova's messages: a same-flavor resize is 400 "When resizing, instances must change
flavor!"; a smaller root disk is 400 ``CannotResizeDisk`` (Nova's libvirt driver refuses
it in the compute manager, after the 202; ownstack says so before).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.compute import states
from ownstack.compute.errors import ConcurrentUpdate
from ownstack.compute.objects import actions
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.instances import get_instance, update_instance
from ownstack.compute.objects.models import Flavor, Instance, Migration
from ownstack.compute.objects.server_actions import (
    Transition,
    begin,
    check_can_begin,
    check_state,
    check_unlocked,
    lost_race,
)
from ownstack.compute.objects.servers import flavor_snapshot

RESIZE: Final = Transition("resize", actions.RESIZE,
                           frozenset({states.ACTIVE, states.STOPPED}), frozenset({None}),
                           states.RESIZE_PREP)
REVERT: Final = Transition("revert_resize", actions.REVERT_RESIZE,
                           frozenset({states.RESIZED}), frozenset({None}),
                           states.RESIZE_REVERTING)
CONFIRM_NAME: Final = "confirm_resize"
NOT_RESIZED: Final = "Instance has not been resized."


def check_new_flavor(old: Mapping[str, Any], new: Flavor | Any) -> None:
    """Nova's checks of the flavor a resize asks for (400s)."""
    if str(new.flavorid) == str(old.get("id")):
        raise BadRequest("When resizing, instances must change flavor!")
    old_disk = int(old.get("disk") or 0)
    if new.root_gb == 0 and old_disk != 0:
        raise BadRequest("Server disk was unable to be resized because: Resize to zero "
                         "disk flavor is not allowed.")
    if new.root_gb < old_disk:
        raise BadRequest("Server disk was unable to be resized because: Unable to resize "
                         "disk down.")


def check_can_resize(instance: Instance, *, is_admin: bool) -> None:
    """The 409s of a resize: the lock, a server with no host, the state."""
    check_can_begin(instance, RESIZE, is_admin=is_admin)


async def begin_resize(db: AsyncSession, ctx: RequestContext, instance: Instance,
                       flavor: Flavor | Any, extra_specs: Mapping[str, str], *,
                       is_admin: bool) -> tuple[str, str]:
    """Start a resize to ``flavor``; the host to nudge the conductor about and the
    migration's uuid."""
    check_new_flavor(instance.flavor, flavor)
    new = flavor_snapshot(flavor, dict(extra_specs))
    old = instance.flavor
    old_type_id = (await db.execute(sa.select(Flavor.id).where(
        Flavor.flavorid == str(old.get("id"))))).scalar_one_or_none()
    migration = await mig.create(db, instance, migration_type=mig.RESIZE, new_flavor=new,
                                 old_type_id=old_type_id, new_type_id=flavor.id)
    host = await begin(db, ctx, instance, RESIZE, is_admin=is_admin,
                       task_args={"migration": migration.uuid,
                                  "old_vm_state": instance.vm_state,
                                  "old_flavor": dict(old), "new_flavor": new},
                       vcpus=max(int(old["vcpus"]), int(new["vcpus"])),
                       memory_mb=max(int(old["ram"]), int(new["ram"])))
    return host, migration.uuid


async def _finished_migration(db: AsyncSession, instance: Instance) -> Migration:
    migration = await mig.in_progress_for(db, instance.uuid)
    if migration is None or migration.status != mig.FINISHED:
        raise BadRequest(NOT_RESIZED)
    return migration


async def begin_confirm_by_user(db: AsyncSession, ctx: RequestContext, instance: Instance, *,
                                is_admin: bool) -> str:
    """Confirm the resize; the host to nudge."""
    check_unlocked(instance, is_admin=is_admin)
    check_state(instance, CONFIRM_NAME, {states.RESIZED}, {None})
    migration = await _finished_migration(db, instance)
    host = await begin_confirm(db, instance.uuid, migration.uuid)
    if host is None:
        await lost_race(db, instance, CONFIRM_NAME, {states.RESIZED}, {None})
    await actions.start_action(db, ctx, instance.uuid, actions.CONFIRM_RESIZE)
    return host


async def begin_revert(db: AsyncSession, ctx: RequestContext, instance: Instance, *,
                       is_admin: bool) -> str:
    """Revert the resize; the host to nudge."""
    check_unlocked(instance, is_admin=is_admin)
    check_state(instance, REVERT.name, REVERT.vm_states, REVERT.task_states)
    migration = await _finished_migration(db, instance)
    if not await mig.set_status(db, migration.uuid, mig.REVERTING, expected=[mig.FINISHED]):
        raise BadRequest(NOT_RESIZED)
    args = {key: value for key, value in (instance.task_args or {}).items()
            if key != "confirm"}
    # A cold migration goes back to its source at once: the destination's agent then
    # destroys its guest, the source's starts the one it kept.
    back = {"host": migration.source_compute, "node": migration.source_node} \
        if migration.migration_type == mig.MIGRATION else {}
    return await begin(db, ctx, instance, REVERT, is_admin=is_admin,
                       task_args={**args, "migration": migration.uuid}, **back)


async def begin_confirm(db: AsyncSession, instance_uuid: str, migration_uuid: str
                        ) -> str | None:
    """Mark the migration ``confirming`` and ask the agent to drop the kept disk (through
    the instance's ``task_args``); the host to nudge, or ``None`` when the migration is
    not finished or the instance not resized and idle (:class:`ConcurrentUpdate` when it
    changed between the read and the write). The user's confirm and the
    conductor's automatic one both come here."""
    instance = await get_instance(db, instance_uuid)
    if instance is None or instance.vm_state != states.RESIZED or instance.task_state \
            or not instance.host:
        return None
    if not await mig.set_status(db, migration_uuid, mig.CONFIRMING, expected=[mig.FINISHED]):
        return None
    args = {**(instance.task_args or {}), "migration": migration_uuid, "confirm": True}
    if not await update_instance(db, instance_uuid, expected_task_state=None,
                                 expected_vm_state=states.RESIZED, task_args=args):
        raise ConcurrentUpdate()    # rolls the migration's status back with it
    return instance.host
