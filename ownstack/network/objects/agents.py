"""Network agents: the rows their heartbeats keep, and what the agents API does to them.

An agent reports itself over the bus (``report_agent``, see :mod:`ownstack.network.rpc`)
at start-up and every ``network.report_interval``; each report upserts the row of its
``(agent_type, host)``, settled by that unique constraint when two reports race. An agent
is *alive* while its last heartbeat is younger than ``network.agent_down_time``, as
Neutron's ``is_agent_down``. An admin may switch an agent off (``admin_state_up``),
describe it, or delete the row of a host that is gone; an agent that reports again comes
back as a new row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.network.errors import ResourceNotFound
from ownstack.network.objects.listing import Field, Kind, as_bool
from ownstack.network.objects.models import NetworkAgent

AGENTS = Kind(name="agent", collection="agents", model=NetworkAgent, fields={
    "id": Field(NetworkAgent.id),
    "agent_type": Field(NetworkAgent.agent_type),
    "binary": Field(NetworkAgent.binary),
    "host": Field(NetworkAgent.host),
    "topic": Field(NetworkAgent.topic),
    "availability_zone": Field(NetworkAgent.availability_zone),
    "admin_state_up": Field(NetworkAgent.admin_state_up, as_bool),
    "description": Field(NetworkAgent.description),
})

_REPORTED = ("binary", "topic", "availability_zone")


def is_alive(row: NetworkAgent, now: datetime, down_time: float) -> bool:
    """Whether the agent's last heartbeat is recent enough."""
    return now - row.heartbeat_timestamp <= timedelta(seconds=down_time)


async def find(db: AsyncSession, agent_type: str, host: str) -> NetworkAgent | None:
    return (await db.execute(sa.select(NetworkAgent).where(
        NetworkAgent.agent_type == agent_type, NetworkAgent.host == host))
    ).scalar_one_or_none()


async def report(db: AsyncSession, payload: Mapping[str, Any]) -> NetworkAgent:
    """Upsert the reporting agent's row: its heartbeat, what it says of itself, and
    ``started_at`` on a process's first report (``start_flag``)."""
    now = utcnow()
    agent_type, host = str(payload["agent_type"]), str(payload["host"])
    values: dict[str, Any] = {name: payload.get(name) for name in _REPORTED}
    values["binary"] = str(values["binary"] or "")
    values["topic"] = str(values["topic"] or "")
    values["configurations"] = dict(payload.get("configurations") or {})
    row = await find(db, agent_type, host)
    if row is None:
        row = NetworkAgent(id=str(uuid.uuid4()), agent_type=agent_type, host=host,
                           admin_state_up=True, description="", created_at=now,
                           started_at=now, heartbeat_timestamp=now, **values)
        try:
            async with db.begin_nested():
                db.add(row)
                await db.flush()
            return row
        except IntegrityError:
            found = await find(db, agent_type, host)     # another report won the race
            if found is None:
                raise
            row = found
    for name, value in values.items():
        setattr(row, name, value)
    row.heartbeat_timestamp = now
    if payload.get("start_flag"):
        row.started_at = now
    return row


async def get_agent(db: AsyncSession, agent_id: str) -> NetworkAgent:
    row = await db.get(NetworkAgent, agent_id)
    if row is None:
        raise ResourceNotFound("agent", agent_id)
    return row


def update_agent(row: NetworkAgent, data: Mapping[str, Any]) -> NetworkAgent:
    """What an admin may change: ``admin_state_up`` and ``description``."""
    if "admin_state_up" in data:
        row.admin_state_up = bool(data["admin_state_up"])
    if "description" in data:
        row.description = str(data["description"] or "")
    return row


async def delete_agent(db: AsyncSession, row: NetworkAgent) -> None:
    await db.delete(row)
