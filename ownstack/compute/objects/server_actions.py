"""Server actions: which state each action needs, and the compare-and-swap that starts it.

An action is accepted in one write transaction: check the lock, the host and the state
(for a clear 409 that names what is wrong), then :func:`update_instance` sets the new
``task_state`` only if the server is still in a state the action allows, and the instance
action is recorded in the same transaction. The compare-and-swap is what makes two racing
requests safe: the state read for the error message may be stale, the ``UPDATE ... WHERE
task_state IN (...)`` is not. The caller casts ``reconcile_instance`` to the host once the
transaction has committed; the task itself lives in the row, so a lost cast only delays it.

The states are Nova's (``nova.compute.api``'s ``check_instance_state`` decorators), less
the ones ownstack has not got (shelved, resized).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.clients.image import ImageInfo
from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.compute import states
from ownstack.compute.errors import (
    ConcurrentUpdate,
    InstanceInvalidState,
    InstanceLocked,
    InstanceNotReady,
    ServerNotFound,
)
from ownstack.compute.objects import actions, servers
from ownstack.compute.objects.instances import ANY, update_instance
from ownstack.compute.objects.models import Flavor, Instance

# Image properties a snapshot does not inherit (Nova's non_inheritable_image_properties).
_NOT_INHERITED: Final = frozenset({"cache_in_nova", "bittorrent", "img_signature",
                                   "img_signature_hash_method", "img_signature_certificate_uuid",
                                   "img_signature_key_type"})


@dataclass(frozen=True)
class Transition:
    """An action the compute agent carries out: the states it starts from, the task it sets.

    ``name`` is the word Nova's 409 uses ("Cannot 'stop' instance ..."); ``action`` the
    instance action recorded for ``os-instance-actions``.
    """

    name: str
    action: str
    vm_states: frozenset[str]
    task_states: frozenset[str | None]
    task_state: str
    check_lock: bool = True


STOP: Final = Transition("stop", actions.STOP, frozenset({states.ACTIVE, states.ERROR}),
                         frozenset({None}), states.POWERING_OFF)
START: Final = Transition("start", actions.START, frozenset({states.STOPPED}),
                          frozenset({None}), states.POWERING_ON)
SOFT_REBOOT: Final = Transition("reboot", actions.REBOOT, frozenset({states.ACTIVE}),
                                frozenset({None}), states.REBOOTING)
# A hard reboot may interrupt a reboot in progress: that is how a hung soft reboot is cured.
# Nova's ALLOW_HARD_REBOOT: a paused or suspended guest boots afresh (its memory dropped).
HARD_REBOOT: Final = Transition(
    "reboot", actions.REBOOT, frozenset({states.ACTIVE, states.STOPPED, states.ERROR,
                                         states.PAUSED, states.SUSPENDED}),
    frozenset({None, states.REBOOTING, states.REBOOTING_HARD}), states.REBOOTING_HARD)
REBUILD: Final = Transition(
    "rebuild", actions.REBUILD, frozenset({states.ACTIVE, states.STOPPED, states.ERROR}),
    frozenset({None}), states.REBUILDING)
# Nova does not check the lock for a snapshot: it changes nothing on the server (a paused
# guest's disk is still; a suspended one's is flushed and has no process).
SNAPSHOT: Final = Transition("createImage", actions.CREATE_IMAGE,
                             frozenset({states.ACTIVE, states.STOPPED, states.PAUSED,
                                        states.SUSPENDED}), frozenset({None}),
                             states.IMAGE_SNAPSHOT, check_lock=False)
# A backup is a snapshot with a rotation (Nova's backup: the same states, no lock check).
BACKUP: Final = Transition("createBackup", actions.CREATE_BACKUP, SNAPSHOT.vm_states,
                           frozenset({None}), states.IMAGE_BACKUP, check_lock=False)
# Pause and suspend (nova.compute.api's pause/unpause/suspend/resume): from one resting
# state to its twin, with no task in flight.
PAUSE: Final = Transition("pause", actions.PAUSE, frozenset({states.ACTIVE}),
                          frozenset({None}), states.PAUSING)
UNPAUSE: Final = Transition("unpause", actions.UNPAUSE, frozenset({states.PAUSED}),
                            frozenset({None}), states.UNPAUSING)
SUSPEND: Final = Transition("suspend", actions.SUSPEND, frozenset({states.ACTIVE}),
                            frozenset({None}), states.SUSPENDING)
RESUME: Final = Transition("resume", actions.RESUME, frozenset({states.SUSPENDED}),
                           frozenset({None}), states.RESUMING)
# Rescue (nova.compute.api's rescue/unrescue).
RESCUE: Final = Transition("rescue", actions.RESCUE,
                           frozenset({states.ACTIVE, states.STOPPED, states.ERROR}),
                           frozenset({None}), states.RESCUING)
UNRESCUE: Final = Transition("unrescue", actions.UNRESCUE, frozenset({states.RESCUED}),
                             frozenset({None}), states.UNRESCUING)


async def reset_state(db: AsyncSession, ctx: RequestContext, instance: Instance,
                      vm_state: str) -> str | None:
    """Nova's ``os-resetState``: the vm_state an admin names, no task, in any state and
    lock; recorded as a finished ``resetState`` action. Returns the host to nudge: its
    agent then reports what the guest really does (a guest that is not running makes an
    ``active`` server SHUTOFF), as after any change of the row."""
    if not await update_instance(db, instance.uuid, expected_task_state=ANY,
                                 vm_state=vm_state, task_state=None):
        raise ServerNotFound(instance.uuid)     # deleted since it was read
    action = await actions.start_action(db, ctx, instance.uuid, actions.RESET_STATE)
    action.finish_time = action.start_time
    await db.refresh(instance)
    return instance.host


def check_unlocked(instance: Instance, *, is_admin: bool) -> None:
    """Nova's ``check_instance_lock``: a locked server refuses everyone but admins."""
    if instance.locked and not is_admin:
        raise InstanceLocked(instance.uuid)


def check_state(instance: Instance, name: str, vm_states: Iterable[str],
                task_states: Iterable[str | None] | None) -> None:
    """Nova's ``check_instance_state``: the vm_state first, then the task_state
    (``task_states`` None: any task)."""
    if instance.vm_state not in set(vm_states):
        raise InstanceInvalidState(name, instance.uuid, "vm_state", instance.vm_state)
    if task_states is not None and instance.task_state not in set(task_states):
        raise InstanceInvalidState(name, instance.uuid, "task_state", instance.task_state)


def check_can_begin(instance: Instance, transition: Transition, *, is_admin: bool) -> str:
    """Why ``transition`` cannot start now, as a 409; else the host that will do it."""
    if transition.check_lock:
        check_unlocked(instance, is_admin=is_admin)
    if not instance.host:
        raise InstanceNotReady(instance.uuid)
    check_state(instance, transition.name, transition.vm_states, transition.task_states)
    return instance.host


async def begin(db: AsyncSession, ctx: RequestContext, instance: Instance,
                transition: Transition, *, is_admin: bool, **values: Any) -> str:
    """Start ``transition`` in the caller's write transaction, setting ``values`` with the
    new task. Returns the host to nudge once the transaction commits."""
    host = check_can_begin(instance, transition, is_admin=is_admin)
    won = await update_instance(
        db, instance.uuid, expected_task_state=list(transition.task_states),
        expected_vm_state=list(transition.vm_states), expected_host=host,
        task_state=transition.task_state, **values)
    if not won:
        await lost_race(db, instance, transition.name, transition.vm_states,
                        transition.task_states)
    await actions.start_action(db, ctx, instance.uuid, transition.action)
    await db.refresh(instance)
    return host


async def lost_race(db: AsyncSession, instance: Instance, name: str,
                    vm_states: Iterable[str], task_states: Iterable[str | None] | None
                    ) -> NoReturn:
    """Raise the 409 a lost compare-and-swap deserves, naming the state that won."""
    await db.refresh(instance)
    if instance.deleted:
        raise ServerNotFound(instance.uuid)
    check_state(instance, name, vm_states, task_states)
    raise ConcurrentUpdate()


# --- lock ---------------------------------------------------------------------------------
def locked_by_for(ctx: RequestContext, instance: Instance) -> str:
    """Nova's rule: the owner's lock when the caller is in the server's project."""
    return "owner" if ctx.project_id == instance.project_id else "admin"


def needs_unlock_override(ctx: RequestContext, instance: Instance) -> bool:
    """Nova's ``is_expected_locked_by`` negated: an owner lifting an admin's lock (or the
    other way round) needs the ``unlock:unlock_override`` rule."""
    return bool(instance.locked_by) and instance.locked_by != locked_by_for(ctx, instance)


async def lock(db: AsyncSession, ctx: RequestContext, instance: Instance,
               reason: str | None) -> None:
    """Lock the server, in any state. An owner re-locking is a no-op (as in Nova); an
    admin re-locking takes the lock over."""
    locked_by = locked_by_for(ctx, instance)
    if instance.locked and locked_by == "owner":
        return
    values: dict[str, Any] = {"locked": True, "locked_by": locked_by}
    if reason:
        values["locked_reason"] = reason
    await _update_any_state(db, instance, values)
    await actions.start_action(db, ctx, instance.uuid, actions.LOCK)


async def unlock(db: AsyncSession, ctx: RequestContext, instance: Instance) -> None:
    await _update_any_state(db, instance, {"locked": False, "locked_by": None,
                                           "locked_reason": None})
    await actions.start_action(db, ctx, instance.uuid, actions.UNLOCK)


async def _update_any_state(db: AsyncSession, instance: Instance,
                            values: Mapping[str, Any]) -> None:
    if not await update_instance(db, instance.uuid, expected_task_state=ANY, **values):
        raise ServerNotFound(instance.uuid)     # deleted since it was read
    await db.refresh(instance)


# --- rebuild ------------------------------------------------------------------------------
def rebuild_image(image: ImageInfo, flavor: Mapping[str, Any]) -> servers.ImageFacts:
    """The image a rebuild asks for, if it is active and fits the server's flavor (the
    flavor copied into the server at create, not the flavor as it is now)."""
    if image.status != "active":
        raise BadRequest(f"Image {image.id} is not active.")
    facts = servers.ImageFacts(
        id=image.id, status=image.status, disk_format=image.disk_format,
        min_disk=image.min_disk, min_ram=image.min_ram, size=image.size,
        virtual_size=image.virtual_size, properties=dict(image.properties))
    # A transient Flavor row, only to share create's checks and messages.
    servers.check_image_fits(facts, Flavor(root_gb=int(flavor.get("disk") or 0),
                                           memory_mb=int(flavor.get("ram") or 0)))
    return facts


def rebuilt_image_meta(image: servers.ImageFacts) -> dict[str, Any]:
    """The new image's facts, replacing the old image's."""
    return image.meta()


# --- snapshot -----------------------------------------------------------------------------
def snapshot_properties(ctx: RequestContext, instance: Instance,
                        metadata: Mapping[str, str]) -> dict[str, str]:
    """Nova's ``_initialize_instance_snapshot_metadata``: the base image's properties
    (less the non-inheritable ones), where the snapshot came from, then the caller's
    metadata, which wins."""
    base = (instance.image_meta or {}).get("properties") or {}
    properties = {str(k): str(v) for k, v in base.items() if k not in _NOT_INHERITED}
    properties.update({"image_type": "snapshot", "instance_uuid": instance.uuid,
                       "base_image_ref": instance.image_ref or "",
                       "user_id": ctx.user_id or ""})
    properties.update(metadata)
    return properties


def snapshot_min_disk(instance: Instance) -> int:
    """A snapshot needs at least the disk its server had (Nova: flavor root_gb, or the
    base image's min_disk when larger)."""
    meta = instance.image_meta or {}
    return max(int(instance.flavor.get("disk") or 0), int(meta.get("min_disk") or 0))


def snapshot_disk_format(instance: Instance) -> str:
    """The base image's disk format, as Nova's API creates the snapshot with (a driver
    that writes another format states so when it uploads); qcow2 when unknown."""
    return str((instance.image_meta or {}).get("disk_format") or "qcow2")


def snapshot_min_ram(instance: Instance) -> int:
    return int((instance.image_meta or {}).get("min_ram") or 0)
