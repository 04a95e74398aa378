"""Shelve, shelve offload and unshelve: the states each needs and the write that starts it.

* ``shelve`` (ACTIVE or SHUTOFF): the API makes the image ``<name>-shelved`` (a snapshot,
  as Nova's ``_create_image``), then sets ``shelving`` with the image in ``task_args``; the
  agent powers the guest off, uploads its disk and reports SHELVED. With
  ``compute.shelved_offload_time`` 0 the conductor offloads at once, later otherwise (-1:
  never).
* ``shelveOffload`` (SHELVED; admins by default): ``shelving_offloading``; the agent
  destroys the guest and the conductor frees the host: its allocation goes, ``host`` and
  ``node`` are cleared, SHELVED_OFFLOADED.
* ``unshelve`` (SHELVED or SHELVED_OFFLOADED): ``unshelving``. A shelved server still has
  its guest: its agent starts it. An offloaded one is scheduled again like a boot, on any
  host that fits (2.77 ``availability_zone``, 2.91 ``host``), and spawned from the shelve
  image, which is deleted once the server runs.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.compute import states
from ownstack.compute.objects import actions
from ownstack.compute.objects.instances import update_instance
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.server_actions import (
    Transition,
    begin,
    check_state,
    check_unlocked,
    lost_race,
)

# Nova's states: a paused guest is woken to take the ACPI power-off, a suspended one's saved
# memory is dropped (its disk is what the image keeps).
SHELVE: Final = Transition("shelve", actions.SHELVE,
                           frozenset({states.ACTIVE, states.STOPPED, states.PAUSED,
                                      states.SUSPENDED}),
                           frozenset({None}), states.SHELVING)
OFFLOAD: Final = Transition("shelve_offload", actions.SHELVE_OFFLOAD,
                            frozenset({states.SHELVED}), frozenset({None}),
                            states.SHELVING_OFFLOADING)
UNSHELVE_STATES: Final = frozenset({states.SHELVED, states.SHELVED_OFFLOADED})
SHELVED_IMAGE: Final = "shelved_image_id"


def image_name(instance: Instance) -> str:
    return f"{instance.display_name}-shelved"


async def begin_unshelve(db: AsyncSession, ctx: RequestContext, instance: Instance, *,
                         is_admin: bool, wanted: dict[str, Any]) -> str | None:
    """Start the unshelve; the host to nudge (a shelved server's), or ``None`` when the
    conductor must schedule it (offloaded). ``wanted``: the zone and host asked for."""
    check_unlocked(instance, is_admin=is_admin)
    check_state(instance, "unshelve", UNSHELVE_STATES, {None})
    args = {**(instance.task_args or {}), **wanted}
    values: dict[str, Any] = {"task_state": states.UNSHELVING, "task_args": args}
    if "availability_zone" in wanted and instance.vm_state == states.SHELVED_OFFLOADED:
        values["availability_zone"] = wanted["availability_zone"]
    if not await update_instance(db, instance.uuid, expected_task_state=[None],
                                 expected_vm_state=list(UNSHELVE_STATES), **values):
        await lost_race(db, instance, "unshelve", UNSHELVE_STATES, {None})
    await actions.start_action(db, ctx, instance.uuid, actions.UNSHELVE)
    return instance.host if instance.vm_state == states.SHELVED else None


__all__ = ["OFFLOAD", "SHELVE", "SHELVED_IMAGE", "UNSHELVE_STATES", "begin",
           "begin_unshelve", "image_name"]
