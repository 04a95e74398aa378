"""The agent body, as Neutron's agent extension shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ownstack.common.db.base import utc_text
from ownstack.network.objects.agents import is_alive
from ownstack.network.objects.models import NetworkAgent


def agent_time(moment: datetime) -> str:
    """Neutron's agent times: ``2017-09-12 19:39:56`` (UTC, no zone, no fraction)."""
    return utc_text(moment, fraction=False).replace("T", " ")


def agent(row: NetworkAgent, *, now: datetime, down_time: float) -> dict[str, Any]:
    return {
        "id": row.id,
        "agent_type": row.agent_type,
        "binary": row.binary,
        "host": row.host,
        "topic": row.topic,
        "availability_zone": row.availability_zone,
        "admin_state_up": row.admin_state_up,
        "alive": is_alive(row, now, down_time),
        "created_at": agent_time(row.created_at),
        "started_at": agent_time(row.started_at),
        "heartbeat_timestamp": agent_time(row.heartbeat_timestamp),
        "configurations": dict(row.configurations or {}),
        "description": row.description,
        "resources_synced": None,
    }
