"""``/v2.0/subnets`` and ``/v2.0/subnets/{subnet_id}``."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.network.api import common
from ownstack.network.api.schemas import subnets as schema
from ownstack.network.api.views import subnets as views
from ownstack.network.errors import ConcurrentUpdate, ResourceNotFound
from ownstack.network.objects import dhcp, subnetpools, subnets
from ownstack.network.objects.bindings import port_state
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import Network, Subnet
from ownstack.network.objects.standard import tags_of
from ownstack.network.state import Req

_FLAGS = ("enable_dhcp", "use_default_subnetpool")


def _target(row: Subnet | None, network: Network, project_id: str | None = None
            ) -> dict[str, Any]:
    return {"project_id": row.project_id if row is not None else project_id,
            "network:project_id": network.project_id, "shared": network.shared}


async def _bodies(db: Any, rows: list[Subnet]) -> list[dict[str, Any]]:
    tags = await tags_of(db, [row.id for row in rows])
    return [views.subnet(row, tags=tags.get(row.id, [])) for row in rows]


async def list_subnets(req: Req) -> Response:
    query = common.list_query(req, subnets.SUBNETS)
    async with req.svc.read() as db:
        page = await list_page(db, subnets.SUBNETS, query, subnets.visible(req.ctx))
        items = await _bodies(db, page.rows)
    return common.list_response(req, subnets.SUBNETS, query, page, items)


async def show_subnet(req: Req) -> Response:
    async with req.svc.read() as db:
        row = await subnets.get_subnet(db, req.ctx, req.params["subnet_id"])
        network = (await subnets.networks_of(db, [row]))[row.network_id]
        if not req.svc.allowed(req.ctx, "get_subnet", _target(row, network)):
            raise ResourceNotFound("subnet", row.id)
        (item,) = await _bodies(db, [row])
    return common.one("subnet", item, common.show_fields(req))


async def create_subnet(req: Req) -> Response:
    """One subnet, or several (``{"subnets": [...]}``) made all or none."""
    document = await req.json()
    bulk = isinstance(document, dict) and "subnets" in document
    document = (schema.CREATE_BULK if bulk else schema.CREATE).validate(document)
    wanted = document["subnets"] if bulk else [document["subnet"]]
    for data in wanted:
        common.booleans(data, *_FLAGS)
        data["ip_version"] = int(data["ip_version"])
    owners = [common.owner(req, data) for data in wanted]
    for attempt in range(subnetpools.ATTEMPTS):
        try:
            items, nudges = await _create(req, wanted, owners)
            break
        except ConcurrentUpdate:
            # A concurrent create took the network or pool first: run again on what it
            # committed (see objects.subnets); the last loss is the client's 409.
            if attempt == subnetpools.ATTEMPTS - 1:
                raise
    for network_id, hosts in nudges.items():
        await req.svc.dhcp_changed(network_id, hosts)
    if bulk:
        return json_response({"subnets": items}, status=201)
    return common.one("subnet", items[0], status=201)


async def _create(req: Req, wanted: list[dict[str, Any]], owners: list[str]
                  ) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    async with req.svc.write() as db:
        rows = []
        nudges: dict[str, set[str]] = {}
        # Each network's subnets as its last create in this request left them, and
        # whether its DHCP serving was read idle (then nothing to schedule or nudge).
        known: dict[str, list[Subnet]] = {}
        idle: dict[str, bool] = {}
        for data, project_id in zip(wanted, owners, strict=True):
            found = await subnets.network_for_new_subnet(db, req.svc.settings, req.ctx,
                                                         data["network_id"], project_id)
            req.svc.enforce(req.ctx, "create_subnet", _target(None, found.network, project_id))
            made = await subnets.create_subnet(db, req.svc.settings, req.ctx, found,
                                               project_id, dict(data), str(uuid.uuid4()))
            rows.append(made.row)
            known[made.row.network_id] = made.network_subnets
            idle[made.row.network_id] = found.dhcp_idle
        for network_id, network_subnets in known.items():
            if idle[network_id]:
                continue
            nudges[network_id] = await dhcp.sync_network(db, req.svc.settings, network_id,
                                                         network_subnets)
        # A new subnet has no tags yet.
        return [views.subnet(row, tags=[]) for row in rows], nudges


async def update_subnet(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.UPDATE, "subnet"), *_FLAGS)
    async with req.svc.write() as db:
        row = await subnets.get_subnet(db, req.ctx, req.params["subnet_id"])
        network = (await subnets.networks_of(db, [row]))[row.network_id]
        req.svc.enforce(req.ctx, "update_subnet", _target(row, network))
        row = await subnets.update_subnet(db, req.svc.settings, row, network, data,
                                          common.revision(req))
        hosts = await dhcp.sync_network(db, req.svc.settings, network.id)
        (item,) = await _bodies(db, [row])
    await req.svc.dhcp_changed(network.id, hosts)
    return common.one("subnet", item)


async def delete_subnet(req: Req) -> Response:
    async with req.svc.write() as db:
        row = await subnets.get_subnet(db, req.ctx, req.params["subnet_id"])
        network = (await subnets.networks_of(db, [row]))[row.network_id]
        req.svc.enforce(req.ctx, "delete_subnet", _target(row, network))
        losers = await subnets.delete_subnet(db, row, network, common.revision(req))
        changed = [await port_state(db, port) for port in losers]
        hosts = await dhcp.sync_network(db, req.svc.settings, network.id)
    for state in changed:       # an automatic (SLAAC) address taken from a port
        await req.svc.port_changed(state, state)
    await req.svc.dhcp_changed(network.id, hosts)
    return empty_response(204)
