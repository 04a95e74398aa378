"""The nova-network proxies ``/os-networks`` and ``/os-tenant-networks``, as Nova has them
since nova-network left: up to microversion 2.35 (404 from 2.36) the list and show read
the networks the caller may see from the network service, as the caller (Nova's
``neutron.API().get_all`` and ``get``: its own, shared and external networks; every
network for an admin), and show them in nova-network's shape with only ``id`` and
``label`` filled in. What only nova-network could do (create, add, delete, the
association actions) is Nova's 410 at every microversion, for anyone, once the body is
JSON (a malformed one is Nova's 400 first).

Nova's ``[api]use_neutron_default_nets`` (off by default) adds another project's networks
to ``os-tenant-networks``; ownstack has no such option, so the list is Nova's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.json_body import parse_json
from ownstack.common.clients.network import (
    NetworkClient,
    NetworkClientError,
    NetworkUnavailable,
)
from ownstack.common.errors import BadRequest, NotFound, OwnstackError
from ownstack.compute import interfaces
from ownstack.compute.api.common import at_least, version_of
from ownstack.compute.errors import Gone
from ownstack.compute.state import Req

_NETWORKS: Final = "os_compute_api:os-networks:"
_TENANT: Final = "os_compute_api:os-tenant-networks:"

# nova-network's fields: everyone sees these, an admin the second set too. Only ``id``
# and ``label`` (the network's name) have values since Nova proxies to Neutron.
_FIELDS: Final = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2",
                  "cidr_v6", "gateway_v6", "label", "netmask_v6")
_ADMIN_FIELDS: Final = ("created_at", "updated_at", "deleted_at", "deleted", "injected",
                        "bridge", "vlan", "vpn_public_address", "vpn_public_port",
                        "vpn_private_address", "dhcp_start", "project_id", "host",
                        "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu",
                        "dhcp_server", "enable_dhcp", "share_address")
# The actions of ``POST /os-networks/{id}/action`` Nova removed (410); any other is a 400.
_REMOVED_ACTIONS: Final = frozenset({"disassociate", "disassociate_host",
                                     "disassociate_project", "associate_host"})


def network_view(network: Mapping[str, Any], *, admin: bool) -> dict[str, Any]:
    fields = _FIELDS + _ADMIN_FIELDS if admin else _FIELDS
    view: dict[str, Any] = dict.fromkeys(fields)
    view["id"], view["label"] = network["id"], network.get("name")
    return view


def tenant_network_view(network: Mapping[str, Any]) -> dict[str, Any]:
    # ``cidr`` is the text "None": what Nova has answered since it proxies to Neutron.
    return {"id": network.get("id"), "cidr": "None", "label": network.get("name")}


def _caller(req: Req, rule: str) -> NetworkClient:
    """The caller's network client, once the version (up to 2.35) and policy allow."""
    if at_least(version_of(req), "2.36"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, rule, {"project_id": req.ctx.project_id})
    return req.svc.network.as_caller(req.ctx.auth_token or "")


def _mapped(exc: NetworkClientError) -> OwnstackError:
    if isinstance(exc, NetworkUnavailable):
        return interfaces.unavailable(exc)
    if exc.status == 404:
        return NotFound("Network not found")
    return BadRequest(exc.message)


async def _networks(req: Req, rule: str) -> list[dict[str, Any]]:
    caller = _caller(req, rule)
    try:
        return await caller.list_networks()
    except NetworkClientError as exc:
        raise _mapped(exc) from None


async def _network(req: Req, rule: str) -> dict[str, Any]:
    caller = _caller(req, rule)
    try:
        # Quoted: the id is one path segment of the network service's URL, whatever it is.
        return await caller.get_network(quote(req.params["network_id"], safe=""))
    except NetworkClientError as exc:
        raise _mapped(exc) from None


async def list_networks(req: Req) -> Response:
    networks = await _networks(req, _NETWORKS + "list")
    return json_response({"networks": [network_view(n, admin=req.ctx.is_admin)
                                       for n in networks]})


async def show_network(req: Req) -> Response:
    network = await _network(req, _NETWORKS + "show")
    return json_response({"network": network_view(network, admin=req.ctx.is_admin)})


async def list_tenant_networks(req: Req) -> Response:
    networks = await _networks(req, _TENANT + "list")
    return json_response({"networks": [tenant_network_view(n) for n in networks]})


async def show_tenant_network(req: Req) -> Response:
    network = await _network(req, _TENANT + "show")
    return json_response({"network": tenant_network_view(network)})


# --- what nova-network alone did: 410 ------------------------------------------------------

async def _json_or_nothing(req: Req) -> Any:
    """The body, parsed when there is one (Nova takes an empty body as none)."""
    raw = await req.body()
    return parse_json(raw) if raw.strip() else None


async def removed(req: Req) -> Response:
    """Create, add and delete of ``os-networks``, create and delete of
    ``os-tenant-networks``: Nova's 410, whoever asks, at every microversion."""
    await _json_or_nothing(req)
    raise Gone()


async def network_action(req: Req) -> Response:
    """``POST /os-networks/{id}/action``: Nova's removed association actions are a 410,
    any other action a 400, as Nova's action dispatch answers."""
    data = await _json_or_nothing(req)
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Malformed request body")
    name = next(iter(data))
    if name not in _REMOVED_ACTIONS:
        raise BadRequest(f"There is no such action: {name}")
    raise Gone()
