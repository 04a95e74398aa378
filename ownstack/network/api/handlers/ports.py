"""``/v2.0/ports`` and ``/v2.0/ports/{port_id}``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.network.api import common
from ownstack.network.api.schemas import ports as schema
from ownstack.network.api.views import ports as views
from ownstack.network.errors import ConcurrentUpdate, NetworkForbidden, ResourceNotFound
from ownstack.network.objects import ports
from ownstack.network.objects.bindings import known_port_state, port_state
from ownstack.network.objects.listing import list_page
from ownstack.network.objects.models import Network, Port
from ownstack.network.objects.standard import tags_of
from ownstack.network.rpc_handlers import port_change_found
from ownstack.network.state import Req

_FLAGS: Final = ("admin_state_up", "port_security_enabled")
# Attributes with a rule of their own (create_port:<name>), and the value that needs none.
_GUARDED: Final[dict[str, Any]] = {
    "mac_address": None, "port_security_enabled": None, "allowed_address_pairs": None,
    "binding:host_id": "", "binding:profile": {}, "binding:vnic_type": "normal",
}
# A create or update that loses a database deadlock to another one is tried again, as
# Neutron's retry decorator does, before the loser hears 409 ConcurrentUpdate.
_ATTEMPTS: Final = 5


def _target(project_id: str, network: Network, shared: bool) -> dict[str, Any]:
    return {"project_id": project_id, "network:project_id": network.project_id,
            "network:tenant_id": network.project_id, "shared": shared}


def _enforce(req: Req, action: str, data: Mapping[str, Any], target: dict[str, Any]) -> None:
    """The rule of each guarded attribute the body sets, as Neutron's policy engine does."""
    rule = f"{action}_port"
    for name, default in _GUARDED.items():
        if name in data and data[name] is not None and (action == "update"
                                                         or data[name] != default):
            req.svc.enforce(req.ctx, f"{rule}:{name}", target)
    if str(data.get("device_owner") or "").startswith("network:"):
        req.svc.enforce(req.ctx, f"{rule}:device_owner", target)
    fixed_ips = data.get("fixed_ips")
    if fixed_ips is not None:
        req.svc.enforce(req.ctx, f"{rule}:fixed_ips", target)
        for part in ("ip_address", "subnet_id"):
            if any(part in item for item in fixed_ips):
                req.svc.enforce(req.ctx, f"{rule}:fixed_ips:{part}", target)


def _check_network_tenant(req: Req, project_id: str, network: Network, shared: bool
                          ) -> None:
    """Neutron's API refuses a project's port on a network that is neither its own nor
    shared with it (an external network it can see, say), unless the caller is an admin."""
    if not req.ctx.is_admin and not shared and network.project_id != project_id:
        raise NetworkForbidden("HTTPForbidden", f"Tenant {project_id} not allowed to "
                               "create port on this network")


async def _bodies(req: Req, db: Any, rows: list[Port]) -> list[dict[str, Any]]:
    """The bodies of ``rows``."""
    ids = [row.id for row in rows]
    fixed = await ports.fixed_ips_by_port(db, ids)
    groups = await ports.security_groups_of(db, ids)
    tags = await tags_of(db, ids)
    hidden = common.readable(req, "port", ports.ADMIN_READ)
    return [views.port(row, fixed_ips=fixed.get(row.id, []),
                       security_groups=groups.get(row.id, []), tags=tags.get(row.id, []),
                       hidden=hidden) for row in rows]


async def list_ports(req: Req) -> Response:
    query = common.list_query(req, ports.PORTS)
    async with req.svc.read() as db:
        page = await list_page(db, ports.PORTS, query, ports.visible(req.ctx),
                               read=ports.LISTED, make=ports.ListedPort._make)
        listed = await ports.with_lists(db, page.rows)
    hidden = common.readable(req, "port", ports.ADMIN_READ)
    items = [views.port(row, fixed_ips=fixed_ips, security_groups=groups, tags=tags,
                        hidden=hidden) for row, fixed_ips, groups, tags in listed]
    return common.list_response(req, ports.PORTS, query, page, items)


async def show_port(req: Req) -> Response:
    async with req.svc.read() as db:
        row, network, shared = await ports.get_port_and_network(
            db, req.ctx, req.params["port_id"])
        if not req.svc.allowed(req.ctx, "get_port", _target(row.project_id, network, shared)):
            raise ResourceNotFound("port", row.id)
        (item,) = await _bodies(req, db, [row])
    return common.one("port", item, common.show_fields(req))


async def create_port(req: Req) -> Response:
    document = await req.json(schema.CREATE)
    bulk = "ports" in document
    wanted: list[tuple[str, dict[str, Any]]] = []
    for data in (document["ports"] if bulk else [document["port"]]):
        common.booleans(data, *_FLAGS)
        project_id = common.owner(req, data)
        req.svc.enforce(req.ctx, "create_port", {"project_id": project_id})
        wanted.append((project_id, data))
    for attempt in range(_ATTEMPTS):
        try:
            # Every statement of a create is Core: a plain connection, no ORM session.
            async with req.svc.db.plain_write() as db:
                news = []
                for project_id, data in wanted:
                    network, shared, quota, default_group, subnets, quiet = \
                        await ports.network_for_port(db, req.svc.settings, req.ctx,
                                                     data["network_id"], project_id)
                    _check_network_tenant(req, project_id, network, shared)
                    _enforce(req, "create", data, _target(project_id, network, shared))
                    news.append(ports.NewPort(str(uuid.uuid4()), project_id, network, data,
                                              quota, default_group, subnets, quiet))
                await ports.check_quota(db, req.svc.settings, news)
                created = [await ports.create_port(db, req.svc.settings, req.ctx, new)
                           for new in news]
                hidden = common.readable(req, "port", ports.ADMIN_READ)
                # A new port has no tags yet, and its addresses and groups are known.
                items = [views.port(new.row, fixed_ips=[ip.as_dict() for ip in new.fixed_ips],
                                    security_groups=new.security_groups, tags=[],
                                    hidden=hidden) for new in created]
                made = [known_port_state(new.row, new.security_groups,
                                         [ip.ip_address for ip in new.fixed_ips])
                        for new in created]
                found = [await port_change_found(
                    db, None, state, {new.default_group} if new.default_group and new.quiet
                    and len(news) == 1 else ()) for new, state in zip(news, made, strict=True)]
            break
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
    for state, looked_up in zip(made, found, strict=True):
        await req.svc.port_changed(None, state, looked_up)
    if bulk:
        return json_response({"ports": items}, status=201)
    return common.one("port", items[0], status=201)


async def update_port(req: Req) -> Response:
    data = common.booleans(await common.body(req, schema.UPDATE, "port"), *_FLAGS)
    for attempt in range(_ATTEMPTS):
        try:
            async with req.svc.write() as db:
                row, network, shared = await ports.get_port_and_network(
                    db, req.ctx, req.params["port_id"])
                target = _target(row.project_id, network, shared)
                req.svc.enforce(req.ctx, "update_port", target)
                _enforce(req, "update", data, target)
                before = await port_state(db, row)
                row = await ports.update_port(db, req.svc.settings, req.ctx, row, data,
                                              common.revision(req))
                (item,) = await _bodies(req, db, [row])
                after = await port_state(db, row)
            break
        except ConcurrentUpdate:
            if attempt == _ATTEMPTS - 1:
                raise
    await req.svc.port_changed(before, after)
    return common.one("port", item)


async def delete_port(req: Req) -> Response:
    async with req.svc.write() as db:
        row, network, shared, leftovers = await ports.port_to_delete(
            db, req.ctx, req.params["port_id"])
        req.svc.enforce(req.ctx, "delete_port", _target(row.project_id, network, shared))
        before = await port_state(db, row)
        await ports.delete_port(db, row, common.revision(req), leftovers)
        found = await port_change_found(db, before, None,
                                        before.security_groups if leftovers.quiet else ())
    await req.svc.port_changed(before, None, found)
    return empty_response(204)
