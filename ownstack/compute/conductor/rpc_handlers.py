"""The conductor's answers to agents about instances: state reports, the instances a node
should run, one instance's spec, and action events (see :mod:`ownstack.compute.rpc`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.compute import states
from ownstack.compute.conductor.build import make_fault
from ownstack.compute.objects import actions
from ownstack.compute.objects.instances import (
    get_instance,
    instance_spec,
    instance_specs,
    latest_request_ids,
    metadata_of,
    update_instance,
)
from ownstack.compute.objects.models import Instance

if TYPE_CHECKING:
    from ownstack.compute.service import ComputeService

_PLAIN_UPDATES: Final = frozenset({"vm_state", "task_state", "power_state"})
_VM_STATES: Final = frozenset({states.ACTIVE, states.BUILDING, states.STOPPED, states.ERROR})


class InvalidUpdate(ValueError):
    """An agent asked for an update the contract does not allow (an agent bug)."""


def translate_updates(updates: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's ``updates`` as instance columns: ``launched`` sets ``launched_at``,
    ``clear_admin_pass`` clears the password, a ``fault`` gets its ``created`` time.
    ``vm_state: deleted`` is refused: only ``instance_destroyed`` deletes a row."""
    values: dict[str, Any] = {}
    for key, value in updates.items():
        if key in _PLAIN_UPDATES:
            values[key] = value
        elif key == "launched":
            if value:
                values["launched_at"] = utcnow()
        elif key == "clear_admin_pass":
            if value:
                values["admin_pass"] = None
        elif key == "fault":
            values["fault"] = None if value is None else make_fault(
                int(value.get("code", 500)), str(value.get("message", "")),
                value.get("details"))
        else:
            raise InvalidUpdate(f"update_instance cannot set {key!r}")
    if "vm_state" in values and values["vm_state"] not in _VM_STATES:
        raise InvalidUpdate(f"update_instance cannot set vm_state {values['vm_state']!r}")
    return values


async def apply_agent_update(svc: ComputeService, payload: Mapping[str, Any]
                             ) -> dict[str, Any]:
    values = translate_updates(payload.get("updates") or {})
    expected = payload["expected_task_state"]      # a state, None, or "*" (any)
    async with svc.write() as db:
        applied = await update_instance(
            db, payload["uuid"], expected_task_state=expected,
            expected_host=payload["host"], **values)
    return {"applied": applied}


async def node_instances(svc: ComputeService, payload: Mapping[str, Any]) -> dict[str, Any]:
    async with svc.read() as db:
        rows = (await db.execute(select(Instance).where(
            Instance.host == payload["host"], Instance.node == payload["node"],
            Instance.deleted.is_(False)).order_by(Instance.created_at))).scalars().all()
        return {"instances": await instance_specs(db, rows)}


async def one_instance(svc: ComputeService, payload: Mapping[str, Any]) -> dict[str, Any]:
    uuid = payload["uuid"]
    async with svc.read() as db:
        instance = await get_instance(db, uuid)
        if instance is None:
            return {"instance": None}
        metadata = await metadata_of(db, [uuid])
        request_id = (await latest_request_ids(db, [uuid])).get(uuid)
        return {"instance": instance_spec(instance, metadata[uuid], request_id)}


async def add_event(svc: ComputeService, payload: Mapping[str, Any]) -> dict[str, Any]:
    async with svc.write() as db:
        recorded = await _add_event(db, payload)
    return {"recorded": recorded}


async def add_events(svc: ComputeService, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Several events in one transaction: a spawn's phases, sent together when it ends."""
    async with svc.write() as db:
        recorded = [await _add_event(db, event) for event in payload["events"]]
    return {"recorded": recorded}


async def _add_event(db: AsyncSession, payload: Mapping[str, Any]) -> bool:
    return await actions.record_event(
        db, payload["uuid"], payload["request_id"], payload["event"],
        start=float(payload["start"]),
        finish=float(payload["finish"]) if payload.get("finish") is not None else None,
        result=payload.get("result"), host=payload.get("host"),
        details=payload.get("details"))
