"""``/v2.0/networks`` and ``/v2.0/networks/{network_id}``."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import NotFound
from ownstack.network.api import common
from ownstack.network.api.schemas import networks as schema
from ownstack.network.api.views import networks as views
from ownstack.network.errors import AvailabilityZoneNotFound, ResourceNotFound
from ownstack.network.objects import agents, dhcp, floatingips, networks, rbac
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import Network
from ownstack.network.objects.standard import tags_of
from ownstack.network.state import Req

_FLAGS = ("admin_state_up", "shared", "router:external", "is_default", "port_security_enabled")
_GUARDED_CREATE = ("shared", "router:external", "is_default", *networks.PROVIDER_FIELDS)
_GUARDED_UPDATE = ("shared", "router:external", "is_default")


def _target(row: Network) -> dict[str, Any]:
    return {"project_id": row.project_id, "shared": row.shared,
            "router:external": row.external}


async def _bodies(req: Req, db: Any, rows: list[Network]) -> list[dict[str, Any]]:
    """The bodies of ``rows``."""
    ids = [row.id for row in rows]
    subnets = await networks.subnet_ids(db, ids)
    tags = await tags_of(db, ids)
    shared = await rbac.shared_with(db, req.ctx.project_id, ids)
    hidden = common.readable(req, "network", networks.PROVIDER_FIELDS)
    zone = req.svc.settings.availability_zone
    return [views.network(row, subnets=subnets.get(row.id, []), tags=tags.get(row.id, []),
                          shared=row.shared or row.id in shared, zone=zone, hidden=hidden)
            for row in rows]


async def list_networks(req: Req) -> Response:
    query = common.list_query(req, networks.NETWORKS)
    async with req.svc.read() as db:
        page = await list_page(db, networks.NETWORKS, query, networks.visible(req.ctx),
                               read=networks.listed_columns(req.ctx))
        listed = await networks.with_lists(db, page.rows)
    hidden = common.readable(req, "network", networks.PROVIDER_FIELDS)
    zone = req.svc.settings.availability_zone
    items = [views.network(row, subnets=subnets, tags=tags, shared=row.shared or by_name,
                           zone=zone, hidden=hidden)
             for row, subnets, tags, by_name in listed]
    return common.list_response(req, networks.NETWORKS, query, page, items)


async def list_agent_dhcp_networks(req: Req) -> Response:
    """The networks whose DHCP an agent serves (Neutron's ``dhcp_agent_scheduler``); as
    for the agents themselves, a caller the policy refuses is told of no agent."""
    if not req.svc.allowed(req.ctx, "get_dhcp-networks"):
        raise NotFound()
    async with req.svc.read() as db:
        agent = await agents.get_agent(db, req.params["agent_id"])
        items = await _bodies(req, db, await dhcp.agent_networks(db, agent.id))
    return json_response({"networks": items})


async def show_network(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await networks.get_network(db, req.ctx, req.params["network_id"])
        (item,) = await _bodies(req, db, [row])
        _can_read(req, row, shared=item["shared"])
    return common.one("network", item, common.show_fields(req))


async def create_network(req: Req) -> Response:
    """One network, or several (``{"networks": [...]}``) made all or none."""
    document = await req.json()
    bulk = isinstance(document, dict) and "networks" in document
    document = (schema.CREATE_BULK if bulk else schema.CREATE).validate(document)
    wanted = []
    for data in document["networks"] if bulk else [document["network"]]:
        common.booleans(data, *_FLAGS)
        common.integers(data, "mtu", "provider:segmentation_id")
        project_id = common.owner(req, data)
        common.enforce_attributes(req, "create", "network", data, {"project_id": project_id},
                                  _GUARDED_CREATE)
        _check_zones(req, data.get("availability_zone_hints") or [])
        wanted.append((project_id, data))
    async with req.svc.write() as db:
        rows = [await networks.create_network(db, req.svc.settings, project_id, data,
                                              str(uuid.uuid4()))
                for project_id, data in wanted]
    # A new network has no subnets or tags yet, and no policy names the caller: its body
    # needs no query.
    hidden = common.readable(req, "network", networks.PROVIDER_FIELDS)
    items = [views.network(row, subnets=[], tags=[], shared=row.shared,
                           zone=req.svc.settings.availability_zone, hidden=hidden)
             for row in rows]
    if bulk:
        return json_response({"networks": items}, status=201)
    return common.one("network", items[0], status=201)


async def update_network(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.UPDATE, "network"), *_FLAGS)
    common.integers(data, "mtu")
    async with req.svc.write() as db:
        row = await networks.get_network(db, req.ctx, req.params["network_id"])
        common.enforce_attributes(req, "update", "network", data, _target(row),
                                  _GUARDED_UPDATE)
        row = await networks.update_network(db, req.svc.settings, row, data,
                                            common.revision(req))
        (item,) = await _bodies(req, db, [row])
    await req.svc.network_changed(row.id)
    return common.one("network", item)


async def delete_network(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await networks.get_network(db, req.ctx, req.params["network_id"])
        req.svc.enforce(req.ctx, "delete_network", _target(row))
        dhcp_host = await dhcp.serving_host(db, row.id)
        if row.external:
            await floatingips.delete_unassociated_on(db, row.id)
        await networks.delete_network(db, row, common.revision(req))
    if dhcp_host:
        await req.svc.dhcp_changed(row.id, {dhcp_host})
    return empty_response(204)


def _can_read(req: Req, row: Network, *, shared: bool) -> None:
    if not req.svc.allowed(req.ctx, "get_network", {**_target(row), "shared": shared}):
        raise ResourceNotFound("network", row.id)


def _check_zones(req: Req, zones: list[str]) -> None:
    for zone in zones:
        if zone != req.svc.settings.availability_zone:
            raise AvailabilityZoneNotFound(zone)

