"""A running server's ports: interfaces attached and detached, security groups added and
removed, as Nova's ``attach_interface``/``detach_interface`` and its Neutron security
group driver do them.

The checks a caller's token decides (may this user see that network, use that port, that
group?) run with ``caller`` (:meth:`NetworkClient.as_caller`); the binding, creation and
deletion of ports with ``service``, the services' user, as the conductor does at boot.

Errors are Nova's, as its ``attach_interfaces`` and ``security_groups`` controllers map
them: a network or port the caller cannot see is a 404; a port in use or a fixed IP taken
a 409; no network to choose, several, or a subnet with no free address a 400.
"""

from __future__ import annotations

import ipaddress
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
from ownstack.common.errors import BadRequest, Conflict, NotFound, OwnstackError
from ownstack.compute import ports
from ownstack.compute.errors import NetworkForbidden, NetworkServiceUnavailable

# Neutron error types Nova turns into a 409 on attach (PortInUse, FixedIpAlreadyInUse).
_CONFLICTS = frozenset({"PortInUse", "IpAddressInUse", "IpAddressAlreadyAllocated",
                        "MacAddressInUse"})


class PortNotFound(NotFound):
    code = "compute.port_not_found"

    def __init__(self, port_id: str) -> None:
        super().__init__(f"Port {port_id} could not be found.")


class NetworkNotFound(NotFound):
    code = "compute.network_not_found"

    def __init__(self, network_id: str) -> None:
        super().__init__(f"Network {network_id} could not be found.")


class PortNotAttached(NotFound):
    code = "compute.port_not_attached"

    def __init__(self, server_id: str, port_id: str) -> None:
        super().__init__(f"Instance {server_id} does not have a port with id {port_id}")


class SecurityGroupNotFound(NotFound):
    code = "compute.security_group_not_found"


class InterfaceConflict(Conflict):
    code = "compute.interface_conflict"


class InterfaceRefused(BadRequest):
    code = "compute.interface_refused"


@dataclass(frozen=True)
class Server:
    """The server an interface is attached to, as its row has it."""

    uuid: str
    project_id: str
    host: str
    zone: str
    requests: Sequence[Mapping[str, Any]]
    security_groups: Sequence[Mapping[str, str]]
    cached: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Attached:
    """What an attach or a detach leaves: the port, and the instance's new columns."""

    port: dict[str, Any]
    requests: list[dict[str, Any]]
    network_info: list[dict[str, Any]]


def unavailable(exc: NetworkUnavailable) -> OwnstackError:
    return NetworkServiceUnavailable(f"The network service failed to answer: {exc.message}")


async def attach(service: NetworkClient, caller: NetworkClient, ctx: RequestContext,
                 server: Server, *, net_id: str | None, port_id: str | None,
                 fixed_ip: str | None, tag: str | None) -> Attached:
    """Bind the user's port ``port_id``, or make one on ``net_id`` (the one network the
    project may use when neither is given), to ``server`` on its host."""
    try:
        return await _attach(service, caller, ctx, server, net_id=net_id, port_id=port_id,
                             fixed_ip=fixed_ip, tag=tag)
    except NetworkUnavailable as exc:
        raise unavailable(exc) from None


async def _attach(service: NetworkClient, caller: NetworkClient, ctx: RequestContext,
                  server: Server, *, net_id: str | None, port_id: str | None,
                  fixed_ip: str | None, tag: str | None) -> Attached:
    binding = {"device_id": server.uuid,
               "device_owner": ports.DEVICE_OWNER_PREFIX + server.zone,
               "binding:host_id": server.host}
    requests = [dict(r) for r in server.requests]
    if port_id:
        try:
            port = await caller.get_port(port_id)
        except NetworkNotFoundError:
            raise PortNotFound(port_id) from None
        if port.get("device_id"):
            raise InterfaceConflict(f"Port {port_id} is still in use.")
        try:
            port = await service.update_port(port_id, binding)
        except NetworkClientError as exc:
            raise _refused(exc) from None
        requests.append({"network_id": str(port["network_id"]), "port_id": port_id,
                         "fixed_ip": None, "tag": tag})
    else:
        network = await _network(caller, ctx, net_id)
        new: dict[str, Any] = {"network_id": network["id"], "project_id": server.project_id,
                               **binding}
        if server.security_groups:
            new["security_groups"] = [group["id"] for group in server.security_groups]
        if fixed_ip:
            await _check_fixed_ip(caller, str(network["id"]), fixed_ip)
            new["fixed_ips"] = [{"ip_address": fixed_ip}]
        try:
            port = await service.create_port(new)
        except NetworkClientError as exc:
            raise _refused(exc) from None
    cached = [dict(item) for item in server.cached]
    cached.append({"id": port["id"], "tag": tag})
    info = await ports.refresh(service, server.uuid, requests, cached)
    return Attached(port, requests, info)


async def _network(caller: NetworkClient, ctx: RequestContext, net_id: str | None
                   ) -> dict[str, Any]:
    if net_id:
        found = await caller.list_networks(id=net_id)
        if not found:
            raise NetworkNotFound(net_id)
        network = found[0]
    else:
        own = await caller.list_networks(project_id=ctx.project_id or "", shared=False)
        shared = await caller.list_networks(shared=True)
        available = {str(net["id"]): net for net in [*own, *shared]}
        if not available:
            raise InterfaceRefused("No specific network was requested and none are "
                                   f"available for project '{ctx.project_id}'.")
        if len(available) > 1:
            raise InterfaceRefused("Multiple possible networks found, use a Network ID to "
                                   "be more specific.")
        (network,) = available.values()
    if network.get("router:external") and not network.get("shared") and not ctx.is_admin:
        raise NetworkForbidden("It is not allowed to create an interface on external "
                               f"network {network['id']}")
    return dict(network)


async def _check_fixed_ip(caller: NetworkClient, network_id: str, address: str) -> None:
    ip = ipaddress.ip_address(address)
    subnets = await caller.list_subnets(network_id=network_id)
    if not any(ip in ipaddress.ip_network(str(s["cidr"]), strict=False) for s in subnets):
        raise InterfaceRefused(f"Fixed IP {address} is not a valid ip address for network "
                               f"{network_id}.")


def _refused(exc: NetworkClientError) -> OwnstackError:
    if exc.type in _CONFLICTS or exc.status == 409:
        return InterfaceConflict(exc.message)
    if exc.status == 404:
        return NotFound(exc.message)
    return InterfaceRefused(exc.message)


async def detach(service: NetworkClient, server: Server, port_id: str) -> Attached:
    """Unbind the user's port, or delete the one compute made; the cache refreshed."""
    if not any(str(item.get("id")) == port_id for item in server.cached):
        raise PortNotAttached(server.uuid, port_id)
    requests = [dict(r) for r in server.requests if r.get("port_id") != port_id]
    brought = len(requests) != len(server.requests)
    try:
        try:
            port = await service.get_port(port_id)
        except NetworkNotFoundError:
            port = {"id": port_id}
        else:
            if brought:
                await service.update_port(port_id, {"device_id": "", "device_owner": "",
                                                    "binding:host_id": ""})
            else:
                await service.delete_port(port_id)
        info = await ports.refresh(service, server.uuid, requests,
                                   [item for item in server.cached
                                    if str(item.get("id")) != port_id])
    except NetworkUnavailable as exc:
        raise unavailable(exc) from None
    return Attached(port, requests, info)


# --- security groups of a server ----------------------------------------------------------

async def find_group(caller: NetworkClient, ctx: RequestContext, name: str
                     ) -> dict[str, Any]:
    """A group by name in the caller's project, or by id: Nova's lookup."""
    found = await caller.list_security_groups(name=name, project_id=ctx.project_id or "")
    if not found:
        found = await caller.list_security_groups(id=name)
    if not found:
        raise SecurityGroupNotFound(f"Security group {name} not found.")
    if len(found) > 1:
        raise InterfaceConflict(f"Multiple security groups found matching '{name}'. Use "
                                "an ID to be more specific.")
    return dict(found[0])


async def add_group(service: NetworkClient, caller: NetworkClient, ctx: RequestContext,
                    server_id: str, name: str) -> dict[str, Any]:
    """Add the group to every port of the server (Nova's ``add_to_instance``)."""
    try:
        group = await find_group(caller, ctx, name)
        server_ports = await service.list_ports(device_id=server_id)
        if not server_ports:
            raise SecurityGroupNotFound(f"instance_id {server_id} could not be found as "
                                        "device id on any ports")
        for port in server_ports:
            if port.get("port_security_enabled") is False or not port.get("fixed_ips"):
                raise InterfaceRefused("Network requires port_security_enabled and subnet "
                                       "associated in order to apply security groups.")
        for port in server_ports:
            groups = list(port.get("security_groups") or [])
            if group["id"] not in groups:
                await service.update_port(str(port["id"]),
                                          {"security_groups": [*groups, group["id"]]})
    except NetworkUnavailable as exc:
        raise unavailable(exc) from None
    return group


async def remove_group(service: NetworkClient, caller: NetworkClient, ctx: RequestContext,
                       server_id: str, name: str) -> dict[str, Any]:
    """Remove the group from the ports of the server that have it; 404 when none has."""
    try:
        group = await find_group(caller, ctx, name)
        found = False
        for port in await service.list_ports(device_id=server_id):
            groups = list(port.get("security_groups") or [])
            if group["id"] in groups:
                found = True
                await service.update_port(
                    str(port["id"]), {"security_groups": [g for g in groups
                                                          if g != group["id"]]})
    except NetworkUnavailable as exc:
        raise unavailable(exc) from None
    if not found:
        raise SecurityGroupNotFound(f"Security group {name} not associated with the "
                                    f"instance {server_id}")
    return group


async def groups_on_ports(service: NetworkClient, server_id: str) -> list[dict[str, str]]:
    """The instance's ``security_groups`` column from its ports now: every group one of
    them has, by name, in the order first seen."""
    try:
        server_ports = await service.list_ports(device_id=server_id)
        ids: list[str] = []
        for port in server_ports:
            ids += [str(g) for g in port.get("security_groups") or () if str(g) not in ids]
        if not ids:
            return []
        names = {str(g["id"]): str(g["name"])
                 for g in await service.list_security_groups(id=ids)}
    except NetworkUnavailable as exc:
        raise unavailable(exc) from None
    return [{"id": group_id, "name": names[group_id]} for group_id in ids
            if group_id in names]
