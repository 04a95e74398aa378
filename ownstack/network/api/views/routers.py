"""The router body, as Neutron's API reference shows it with the ``router``,
``ext-gw-mode``, ``extraroute`` and ``router_availability_zone`` extensions."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import timestamp
from ownstack.network.objects.models import Router
from ownstack.network.objects.routers import Gateway


def router(row: Router, *, gateway: Gateway | None, tags: list[str], zone: str
           ) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "project_id": row.project_id,
        "tenant_id": row.project_id,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "external_gateway_info": None if gateway is None else gateway.as_dict(),
        "routes": [dict(route) for route in row.routes or []],
        "availability_zone_hints": list(row.availability_zone_hints or []),
        "availability_zones": [zone],
        "tags": tags,
        "created_at": timestamp(row.created_at),
        "updated_at": timestamp(row.updated_at),
        "revision_number": row.revision_number,
    }
