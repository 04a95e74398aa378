"""``/servers/{id}/os-interface``: a server's ports, attached and detached while it exists,
as Nova's ``attach_interfaces`` controller.

Attach binds the user's port (or makes one, as the services' user) to the server's host
with the server as ``device_id``, refreshes the network info cache, and nudges the host's
agent, which plugs the new NIC (hot-plugs it where the driver can, else the guest gets it
when it next starts). Detach deletes a port compute made and unbinds one the user
brought. Both need a server that is ACTIVE or SHUTOFF with no task, and unlocked
(for non-admins), as Nova's ``check_instance_state`` and ``check_instance_lock``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.clients.network import NetworkNotFoundError, NetworkUnavailable
from ownstack.common.errors import BadRequest
from ownstack.compute import interfaces, states
from ownstack.compute.api.common import at_least, body, nudge, version_of
from ownstack.compute.api.schemas import interfaces as schemas
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.errors import ServerNotFound
from ownstack.compute.objects.instances import ALLOCATED, update_instance
from ownstack.compute.objects.models import Instance
from ownstack.compute.objects.server_actions import check_state, check_unlocked
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-attach-interfaces:"
_STATES: Final = (states.ACTIVE, states.STOPPED)


def attachment(port: Mapping[str, Any], tag: str | None, with_tag: bool) -> dict[str, Any]:
    """One ``interfaceAttachment`` from a Neutron port."""
    view: dict[str, Any] = {
        "net_id": port.get("network_id"), "port_id": port.get("id"),
        "mac_addr": port.get("mac_address"), "port_state": port.get("status"),
        "fixed_ips": [{"subnet_id": ip.get("subnet_id"), "ip_address": ip.get("ip_address")}
                      for ip in port.get("fixed_ips") or ()]}
    if with_tag:
        view["tag"] = tag
    return view


def _tags(instance: Instance) -> dict[str, str | None]:
    return {str(item.get("id")): item.get("tag") for item in instance.network_info or ()}


async def list_interfaces(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "list")
    caller = req.svc.network.as_caller(req.ctx.auth_token or "")
    try:
        found = await caller.list_ports(device_id=instance.uuid)
    except NetworkUnavailable as exc:
        raise interfaces.unavailable(exc) from None
    tags, with_tag = _tags(instance), at_least(version_of(req), "2.70")
    return json_response({"interfaceAttachments": [
        attachment(port, tags.get(str(port["id"])), with_tag) for port in found]})


async def show_interface(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "show")
    port = await _port_of(req, instance, req.params["port_id"])
    return json_response({"interfaceAttachment": attachment(
        port, _tags(instance).get(str(port["id"])), at_least(version_of(req), "2.70"))})


async def _port_of(req: Req, instance: Instance, port_id: str) -> dict[str, Any]:
    caller = req.svc.network.as_caller(req.ctx.auth_token or "")
    try:
        port = await caller.get_port(port_id)
    except NetworkNotFoundError:
        raise interfaces.PortNotFound(port_id) from None
    except NetworkUnavailable as exc:
        raise interfaces.unavailable(exc) from None
    if port.get("device_id") != instance.uuid:
        raise interfaces.PortNotAttached(instance.uuid, port_id)
    return port


def _check(req: Req, instance: Instance, operation: str) -> None:
    check_unlocked(instance, is_admin=caller_is_admin(req))
    check_state(instance, operation, _STATES, [None])


def _server(instance: Instance) -> interfaces.Server:
    return interfaces.Server(
        uuid=instance.uuid, project_id=instance.project_id, host=instance.host or "",
        zone=instance.availability_zone or "nova",
        requests=list(instance.network_requests or ()),
        security_groups=list(instance.security_groups or ()),
        cached=list(instance.network_info or ()))


async def attach_interface(req: Req) -> Response:
    version = version_of(req)
    wanted: dict[str, Any] = (await body(req, schemas.CREATE(version))
                              ).get("interfaceAttachment") or {}
    net_id, port_id = wanted.get("net_id"), wanted.get("port_id")
    fixed_ips = wanted.get("fixed_ips") or []
    if net_id and port_id:
        raise BadRequest("Must not input both network_id and port_id")
    if fixed_ips and not net_id:
        raise BadRequest("Must input network_id when request IP address")
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "create")
        _check(req, instance, "attach_interface")
    done = await interfaces.attach(
        req.svc.network, req.svc.network.as_caller(req.ctx.auth_token or ""), req.ctx,
        _server(instance), net_id=net_id, port_id=port_id,
        fixed_ip=fixed_ips[0]["ip_address"] if fixed_ips else None, tag=wanted.get("tag"))
    if not await _store(req, instance, done):
        # Deleted meanwhile: its ports may already be released, so undo this one.
        await interfaces.detach(req.svc.network, dataclasses.replace(
            _server(instance), requests=done.requests, cached=done.network_info),
            str(done.port["id"]))
        raise ServerNotFound(instance.uuid)
    return json_response({"interfaceAttachment": attachment(
        done.port, wanted.get("tag"), at_least(version, "2.70"))})


async def detach_interface(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "delete")
        _check(req, instance, "detach_interface")
    done = await interfaces.detach(req.svc.network, _server(instance), req.params["port_id"])
    await _store(req, instance, done)
    return empty_response(202)


async def _store(req: Req, instance: Instance, done: interfaces.Attached) -> bool:
    """The new cache and requests; the server now may hold ports (a delete releases them),
    and its host's agent plugs or unplugs the NIC. False: the server is gone."""
    async with req.svc.write() as db:
        stored = await update_instance(db, instance.uuid, network_info=done.network_info,
                                       network_requests=done.requests,
                                       network_status=ALLOCATED)
    if stored and instance.host:
        await nudge(req, instance.host, instance.uuid)
    return stored
