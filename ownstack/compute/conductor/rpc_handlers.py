"""The conductor's answers to agents about instances: state reports, the instances a node
should run, one instance's spec, and action events (see :mod:`ownstack.compute.rpc`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ownstack.common.db.base import utcnow
from ownstack.common.db.database import Database
from ownstack.compute import states
from ownstack.compute.conductor import resize
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.instances import spec_of, specs_on_node, update_instance

_PLAIN_UPDATES: Final = frozenset({"vm_state", "task_state", "power_state"})
_VM_STATES: Final = frozenset({states.ACTIVE, states.BUILDING, states.STOPPED, states.ERROR,
                               states.PAUSED, states.SUSPENDED, states.RESIZED,
                               states.SHELVED, states.RESCUED})


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
            values["fault"] = None if value is None else Fault.from_report(value).record()
        elif key == "task_args":
            if not isinstance(value, dict):
                raise InvalidUpdate("update_instance's task_args must be an object")
            values["task_args"] = value
        else:
            raise InvalidUpdate(f"update_instance cannot set {key!r}")
    if "vm_state" in values and values["vm_state"] not in _VM_STATES:
        raise InvalidUpdate(f"update_instance cannot set vm_state {values['vm_state']!r}")
    return values


async def apply_agent_update(db: Database, payload: Mapping[str, Any]
                             ) -> dict[str, Any]:
    """The update, and the ``events`` that come with it (optional, ``record_events``
    payloads), in one transaction: a spawn's phases and its ACTIVE report are one write.

    A report that ends a step of a resize carries ``migration: {"uuid", "status"}``: the
    migration's status and the instance's flavor change with the update, and the answer
    names the migration in ``"settle"`` once it is over, for its allocation to follow.
    A cold migration's reports also name in ``"nudge"`` the host whose agent must act
    next (the destination once the source handed over, the source once confirmed) and
    in ``"rebind"`` the host its ports are bound to from then on (the destination at the
    hand-over, the source again once reverted)."""
    values = translate_updates(payload.get("updates") or {})
    expected = payload["expected_task_state"]      # a state, None, or "*" (any)
    events = [event_of(e) for e in payload.get("events") or ()]
    report = payload.get("migration")
    if report is not None and report.get("status") not in resize.REPORTABLE:
        raise InvalidUpdate(f"an agent cannot set migration status {report.get('status')!r}")
    moved_from: str | None = None
    rebind: str | None = None
    if report is None:
        # Core statements alone (every report but a resize's): no ORM session.
        async with db.plain_write() as plain:
            recorded = await actions.record_events(plain, events)
            applied = await update_instance(
                plain, payload["uuid"], expected_task_state=expected,
                expected_host=payload["host"], **values)
    else:
        async with db.write() as session:
            recorded = await actions.record_events(session, events)
            values.update(await resize.agent_report(session, payload["uuid"], report))
            applied = await update_instance(
                session, payload["uuid"], expected_task_state=expected,
                expected_host=payload["host"], **values)
            if applied:
                status = str(report["status"])
                if status == mig.CONFIRMED:
                    moved_from = await resize.source_to_clear(session, str(report["uuid"]),
                                                              payload["host"])
                elif status == mig.REVERTED and await resize.is_cold_migration(
                        session, str(report["uuid"])):
                    rebind = str(payload["host"])   # back on the source
                await mig.set_status(session, str(report["uuid"]), status,
                                     expected=resize.REPORTABLE[status])
    result: dict[str, Any] = {"applied": applied}
    if applied and values.get("host") not in (None, payload["host"]):
        result["nudge"] = [values["host"]]      # a cold migration handed over
        rebind = str(values["host"])
    if applied and rebind is not None:
        result["rebind"] = rebind               # the ports follow the server
    if applied and moved_from is not None:
        result["nudge"] = [moved_from]          # a confirmed one: the source's guest goes
    if applied and report is not None and report["status"] in mig.DONE:
        result["settle"] = str(report["uuid"])
    if events:
        result["recorded"] = recorded
    return result


async def node_instances(db: Database, payload: Mapping[str, Any]) -> dict[str, Any]:
    async with db.read() as session:
        return {"instances": await specs_on_node(session, payload["host"], payload["node"])}


async def one_instance(db: Database, payload: Mapping[str, Any]) -> dict[str, Any]:
    async with db.read() as session:
        return {"instance": await spec_of(session, payload["uuid"])}


async def add_event(db: Database, payload: Mapping[str, Any]) -> dict[str, Any]:
    async with db.write() as session:
        (recorded,) = await actions.record_events(session, [event_of(payload)])
    return {"recorded": recorded}


async def add_events(db: Database, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Several events in one transaction: a spawn's phases, sent together when it ends."""
    async with db.write() as session:
        recorded = await actions.record_events(session, [event_of(e) for e in payload["events"]])
    return {"recorded": recorded}


def event_of(payload: Mapping[str, Any]) -> actions.Event:
    """An event from a ``record_event`` payload."""
    return actions.Event(
        instance_uuid=payload["uuid"], request_id=payload["request_id"],
        event=payload["event"], start=float(payload["start"]),
        finish=float(payload["finish"]) if payload.get("finish") is not None else None,
        result=payload.get("result"), host=payload.get("host"),
        details=payload.get("details"))
