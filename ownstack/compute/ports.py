"""Compute's use of the network service, as Nova's ``nova/network/neutron.py`` uses Neutron.

Three moments, each with the token Nova uses for it:

* **API, with the caller's token** (:func:`resolve_request`): what ``networks`` and
  ``security_groups`` of ``POST /servers`` name must exist and be usable *by this
  caller*. ``auto`` becomes the one network the project may use (none: no port; several:
  409 ``NetworkAmbiguous``); a port must be free (409 ``PortInUse``) and have a fixed IP;
  a fixed IP must lie in a subnet of its network and be free; an external network that is
  not shared is for admins only (403). The result is stored on the instance
  (``network_requests``, ``security_groups``).
* **Conductor, as the services' user** (:func:`allocate`), once a host is claimed and
  before the agent hears of the server: the ports are created in the server's project
  (``device_id`` the server, ``device_owner`` ``compute:<zone>``, ``binding:host_id``
  the host, the security groups, the fixed IP) or, when the user brought them, bound.
  Ports already carrying the server's ``device_id`` (a conductor killed half-way, a
  reschedule) are found and reused, so allocating twice makes nothing twice.
* **Delete** (:func:`deallocate`): ports compute made are deleted; ports the user
  brought are unbound (Nova's ``preserve_on_delete``). Found by ``device_id``, so it
  is safe to run again until it succeeds.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ownstack.common.clients.network import (
    NetworkClient,
    NetworkClientError,
    NetworkNotFoundError,
    NetworkUnavailable,
)
from ownstack.common.context import RequestContext
from ownstack.compute import netinfo
from ownstack.compute.errors import (
    InvalidServerRequest,
    NetworkConflict,
    NetworkForbidden,
    NetworkServiceUnavailable,
)

log = logging.getLogger(__name__)

DEVICE_OWNER_PREFIX = "compute:"


@dataclass
class Resolved:
    """What the API stores of a create's networks and security groups."""

    requests: list[dict[str, Any]]            # network_requests
    security_groups: list[dict[str, str]]     # [{"id", "name"}]


# --- the API: checks with the caller's token --------------------------------------------

async def resolve_request(client: NetworkClient, ctx: RequestContext,
                          networks: str | list[dict[str, Any]],
                          security_groups: Sequence[Mapping[str, Any]],
                          max_count: int) -> Resolved:
    """``networks`` and ``security_groups`` of a create, checked as Nova checks them with
    the caller's token (``client`` acts as the caller). Raises the API's 4xx."""
    try:
        groups = await _security_groups(client, ctx, security_groups)
        if networks == "none":
            requests: list[dict[str, Any]] = []
        elif isinstance(networks, str):
            requests = await _auto(client, ctx)
        else:
            requests = await _listed(client, ctx, networks, max_count)
    except NetworkUnavailable as exc:
        raise NetworkServiceUnavailable(
            f"The network service failed to answer: {exc.message}") from None
    return Resolved(requests, groups)


async def _security_groups(client: NetworkClient, ctx: RequestContext,
                           asked: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Names or ids, as Nova resolves them (its ``_process_security_groups``); the
    project's ``default`` group is the network service's to make, so it may be missing."""
    resolved: list[dict[str, str]] = []
    for item in asked:
        name = str(item.get("name", "default"))
        if any(group["name"] == name or group["id"] == name for group in resolved):
            continue
        found = await client.list_security_groups(name=name,
                                                  project_id=ctx.project_id or "")
        if not found and _looks_like_id(name):
            found = await client.list_security_groups(id=name)
        if not found:
            if name == "default":
                continue
            raise InvalidServerRequest(f"Security group {name} not found.")
        if len(found) > 1:
            raise NetworkConflict(f"Multiple security groups found matching '{name}'. "
                                  "Use an ID to be more specific.")
        resolved.append({"id": str(found[0]["id"]), "name": str(found[0]["name"])})
    return resolved


def _looks_like_id(value: str) -> bool:
    return len(value.replace("-", "")) == 32


async def _auto(client: NetworkClient, ctx: RequestContext) -> list[dict[str, Any]]:
    """Nova's ``_get_available_networks`` without ids: the project's own networks and
    the shared ones. One is used; several are ambiguous; none leaves the server without
    a port (Nova would then try auto-allocated topology, which ownstack has not)."""
    own = await client.list_networks(project_id=ctx.project_id or "", shared=False)
    shared = await client.list_networks(shared=True)
    available = {str(net["id"]): net for net in [*own, *shared]}
    if not available:
        return []
    if len(available) > 1:
        raise NetworkConflict("Multiple possible networks found, use a Network ID to be "
                              "more specific.")
    (network,) = available.values()
    _check_external(ctx, network)
    return [_request(network_id=str(network["id"]))]


def _request(*, network_id: str | None = None, port_id: str | None = None,
             fixed_ip: str | None = None, tag: str | None = None) -> dict[str, Any]:
    return {"network_id": network_id, "port_id": port_id, "fixed_ip": fixed_ip, "tag": tag}


async def _listed(client: NetworkClient, ctx: RequestContext, items: list[dict[str, Any]],
                  max_count: int) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = []
    for item in items:
        port_id, fixed_ip = item.get("port"), item.get("fixed_ip")
        if port_id:
            if fixed_ip is not None:
                raise InvalidServerRequest(
                    f"Specified Fixed IP '{fixed_ip}' cannot be used with port "
                    f"'{port_id}': the two cannot be specified together.")
            requests.append(_request(port_id=str(port_id), tag=item.get("tag")))
        else:
            if not item.get("uuid"):
                raise InvalidServerRequest("Bad network format: missing 'uuid'")
            requests.append(_request(network_id=str(item["uuid"]), fixed_ip=fixed_ip,
                                     tag=item.get("tag")))
    ports = [r for r in requests if r["port_id"]]
    if ports and max_count > 1:
        raise InvalidServerRequest(
            "Unable to launch multiple instances with a single configured port ID. Please "
            "launch your instance one by one with different ports.")
    if max_count > 1 and any(r["fixed_ip"] for r in requests):
        raise InvalidServerRequest("Failed to launch instances: a fixed IP address may be "
                                   "requested for one server only (max_count > 1).")
    for request in ports:
        port = await _caller_port(client, str(request["port_id"]))
        request["network_id"] = str(port["network_id"])
    wanted = sorted({str(r["network_id"]) for r in requests if not r["port_id"]})
    if wanted:
        found = {str(net["id"]): net for net in await client.list_networks(id=wanted)}
        for network_id in wanted:
            if network_id not in found:
                raise InvalidServerRequest(f"Network {network_id} could not be found.")
            _check_external(ctx, found[network_id])
    for request in requests:
        if request["fixed_ip"] and not request["port_id"]:
            await _check_fixed_ip(client, str(request["network_id"]), str(request["fixed_ip"]))
    return requests


async def _caller_port(client: NetworkClient, port_id: str) -> dict[str, Any]:
    try:
        port = await client.get_port(port_id)
    except NetworkNotFoundError:
        raise InvalidServerRequest(f"Port {port_id} could not be found.") from None
    if port.get("device_id"):
        raise NetworkConflict(f"Port {port_id} is still in use.")
    if not port.get("fixed_ips"):
        raise InvalidServerRequest(f"Port {port_id} requires a FixedIP in order to be used.")
    return port


def _check_external(ctx: RequestContext, network: Mapping[str, Any]) -> None:
    """Nova's policy ``network:attach_external_network`` (admins): a port on an external
    network that is not shared with the project."""
    if network.get("router:external") and not network.get("shared") and not ctx.is_admin:
        raise NetworkForbidden("It is not allowed to create an interface on external "
                               f"network {network['id']}")


async def _check_fixed_ip(client: NetworkClient, network_id: str, address: str) -> None:
    ip = ipaddress.ip_address(address)
    subnets = await client.list_subnets(network_id=network_id)
    if not any(ip in ipaddress.ip_network(str(s["cidr"]), strict=False) for s in subnets):
        raise InvalidServerRequest(
            f"IP address {address} is not a valid IP for any of the subnets on network "
            f"{network_id}.")
    taken = await client.list_ports(network_id=network_id,
                                    fixed_ips=f"ip_address={address}")
    if taken:
        owner = taken[0].get("device_id") or "(unbound port)"
        raise InvalidServerRequest(f"Fixed IP address {address} is already in use on "
                                   f"instance {owner}.")


# --- the conductor: ports made and bound as the services' user ----------------------------

class AllocationFailed(Exception):
    """A port could not be made or bound for a reason no retry fixes (a full subnet, a
    port taken meanwhile): the build ends in ERROR with this message."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Target:
    """The server the ports are for."""

    uuid: str
    project_id: str
    host: str
    zone: str
    requests: Sequence[Mapping[str, Any]]
    security_groups: Sequence[Mapping[str, str]]


async def allocate(client: NetworkClient, target: Target) -> list[dict[str, Any]]:
    """Make or bind one port per request for ``target`` on its host and return the
    network info cache. Idempotent: ports already carrying the server's ``device_id`` are
    reused (rebound to the host when it changed). Raises :class:`AllocationFailed` for a
    refusal, :class:`NetworkUnavailable` for an outage (the caller decides)."""
    existing = await client.list_ports(device_id=target.uuid)
    used: set[str] = set()
    bound: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    owner = DEVICE_OWNER_PREFIX + target.zone
    binding = {"device_id": target.uuid, "device_owner": owner,
               "binding:host_id": target.host}
    for request in target.requests:
        try:
            if request.get("port_id"):
                port = await _bind_users_port(client, target, str(request["port_id"]),
                                              binding)
            else:
                found = _reusable(existing, used, request)
                if found is None:
                    port = await client.create_port(_new_port(target, request, binding))
                elif found.get("binding:host_id") != target.host:
                    port = await client.update_port(str(found["id"]),
                                                    {"binding:host_id": target.host})
                else:
                    port = found
        except NetworkUnavailable:
            raise
        except NetworkClientError as exc:
            raise AllocationFailed(_refusal(request, exc), exc.type) from None
        used.add(str(port["id"]))
        bound.append((port, request))
    for port in existing:   # made by an earlier attempt for a request that is gone
        if str(port["id"]) not in used and not _brought(target, str(port["id"])):
            await client.delete_port(str(port["id"]))
    networks: dict[str, dict[str, Any]] = {}
    for port, _ in bound:
        network_id = str(port["network_id"])
        if network_id not in networks:
            networks[network_id] = await client.get_network(network_id)
    # Only a port the user brought can have floating IPs already.
    fips = await _floating_ips(client, [str(port["id"]) for port, request in bound
                                        if request.get("port_id")])
    return [netinfo.vif(port, networks.get(str(port["network_id"])),
                        preserve_on_delete=bool(request.get("port_id")),
                        tag=request.get("tag"),
                        floating=netinfo.floating_by_fixed(str(port["id"]), fips))
            for port, request in bound]


async def _floating_ips(client: NetworkClient, port_ids: Sequence[str]
                        ) -> list[dict[str, Any]]:
    """The floating IPs associated with any of ``port_ids`` (none asked for none)."""
    if not port_ids:
        return []
    return await client.list_floating_ips(port_id=list(port_ids))


def _brought(target: Target, port_id: str) -> bool:
    return any(request.get("port_id") == port_id for request in target.requests)


def _reusable(existing: Sequence[dict[str, Any]], used: set[str],
              request: Mapping[str, Any]) -> dict[str, Any] | None:
    for port in existing:
        if str(port["id"]) in used or port.get("network_id") != request.get("network_id"):
            continue
        addresses = {ip.get("ip_address") for ip in port.get("fixed_ips") or []}
        if request.get("fixed_ip") and request["fixed_ip"] not in addresses:
            continue
        return port
    return None


def _new_port(target: Target, request: Mapping[str, Any], binding: Mapping[str, Any]
              ) -> dict[str, Any]:
    port: dict[str, Any] = {"network_id": request["network_id"],
                            "project_id": target.project_id, **binding}
    if target.security_groups:
        port["security_groups"] = [group["id"] for group in target.security_groups]
    if request.get("fixed_ip"):
        port["fixed_ips"] = [{"ip_address": request["fixed_ip"]}]
    return port


async def _bind_users_port(client: NetworkClient, target: Target, port_id: str,
                           binding: Mapping[str, Any]) -> dict[str, Any]:
    port = await client.get_port(port_id)
    if port.get("device_id") not in (None, "", target.uuid):
        raise AllocationFailed(f"Port {port_id} is still in use.", "PortInUse")
    if port.get("device_id") == target.uuid and port.get("binding:host_id") == target.host:
        return port
    return await client.update_port(port_id, binding)


def _refusal(request: Mapping[str, Any], exc: NetworkClientError) -> str:
    what = f"port {request['port_id']}" if request.get("port_id") else \
        f"a port on network {request.get('network_id')}"
    return f"Failed to allocate the network(s): {what}: {exc.message}"


async def deallocate(client: NetworkClient, uuid: str,
                     requests: Sequence[Mapping[str, Any]] | None) -> None:
    """Delete the ports compute made for server ``uuid`` and unbind the ones its user
    brought (``requests`` names them). Safe to repeat; raises
    :class:`NetworkUnavailable` (or another client error) for the caller to retry."""
    brought = {str(r["port_id"]) for r in requests or () if r.get("port_id")}
    for port in await client.list_ports(device_id=uuid):
        port_id = str(port["id"])
        if port_id in brought:
            await client.update_port(port_id, {"device_id": "", "device_owner": "",
                                               "binding:host_id": ""})
        else:
            await client.delete_port(port_id)


async def refresh(client: NetworkClient, uuid: str,
                  requests: Sequence[Mapping[str, Any]] | None,
                  cached: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The info cache rebuilt from the ports bound to ``uuid`` now (Neutron's
    ``network-changed``), with their floating IPs: the order and tags of the cache are
    kept for known ports."""
    brought = {str(r["port_id"]) for r in requests or () if r.get("port_id")}
    ports = {str(p["id"]): p for p in await client.list_ports(device_id=uuid)}
    order = [str(item["id"]) for item in cached or () if str(item["id"]) in ports]
    order += [port_id for port_id in ports if port_id not in order]
    tags = {str(item["id"]): item.get("tag") for item in cached or ()}
    networks: dict[str, dict[str, Any]] = {}
    for port in ports.values():
        network_id = str(port["network_id"])
        if network_id not in networks:
            try:
                networks[network_id] = await client.get_network(network_id)
            except NetworkNotFoundError:
                networks[network_id] = {}
    fips = await _floating_ips(client, order)
    return [netinfo.vif(ports[port_id], networks.get(str(ports[port_id]["network_id"])),
                        preserve_on_delete=port_id in brought, tag=tags.get(port_id),
                        floating=netinfo.floating_by_fixed(port_id, fips))
            for port_id in order]
