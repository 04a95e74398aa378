"""The network proxies older clients and Tempest still call, as Nova has them: up to
microversion 2.35 (404 from 2.36) ``os-security-groups``, ``os-security-group-rules`` and
``os-floating-ips``; at every version ``GET /servers/{id}/os-security-groups``; and the
server actions ``addSecurityGroup``/``removeSecurityGroup`` (every version) and
``addFloatingIp``/``removeFloatingIp`` (up to 2.43, 404 from 2.44).

Everything is done as the caller, through the network service, and shaped as Nova's
Neutron driver shapes it: only ingress rules, a rule with no remote is ``0.0.0.0/0``,
a TCP or UDP rule with no ports is 1-65535, another protocol's -1.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.json_body import parse_json
from ownstack.common.clients.network import (
    NetworkClient,
    NetworkClientError,
    NetworkNotFoundError,
    NetworkUnavailable,
)
from ownstack.common.errors import BadRequest, Conflict, Forbidden, NotFound, OwnstackError
from ownstack.compute import interfaces
from ownstack.compute.api.common import at_least, body, version_of
from ownstack.compute.api.schemas import network_proxies as schemas
from ownstack.compute.api.server_common import load_server
from ownstack.compute.objects.instances import update_instance
from ownstack.compute.state import Req

_SG: Final = "os_compute_api:os-security-groups:"
_FIP: Final = "os_compute_api:os-floating-ips:"
MAX_PROXY: Final = "2.35"         # Nova's MAX_PROXY_API_SUPPORT_VERSION
DEFAULT_POOL: Final = "public"    # Nova's [neutron]default_floating_pool is "nova"


def _proxy(req: Req, rule: str) -> NetworkClient:
    """The caller's network client, once the version and policy allow the proxy."""
    if at_least(version_of(req), "2.36"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, rule, {"project_id": req.ctx.project_id})
    return req.svc.network.as_caller(req.ctx.auth_token or "")


def _mapped(exc: NetworkClientError, not_found: str, *, conflict: type[OwnstackError]
            = BadRequest) -> OwnstackError:
    if isinstance(exc, NetworkUnavailable):
        return interfaces.unavailable(exc)
    if exc.status == 404:
        return NotFound(not_found)
    if exc.status == 409:
        return conflict(exc.message)
    if exc.status == 403:
        return Forbidden(exc.message)
    return BadRequest(exc.message)


# --- the views ----------------------------------------------------------------------------

def rule_view(rule: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]
              ) -> dict[str, Any]:
    protocol = rule.get("protocol")
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    if protocol and low is None and high is None:
        low, high = (1, 65535) if str(protocol).upper() in ("TCP", "UDP") else (-1, -1)
    view: dict[str, Any] = {"id": rule["id"], "parent_group_id": rule["security_group_id"],
                            "ip_protocol": protocol, "from_port": low, "to_port": high,
                            "group": {}, "ip_range": {}}
    remote = rule.get("remote_group_id")
    if remote:
        source = groups.get(str(remote)) or {}
        view["group"] = {"name": source.get("name"), "tenant_id": source.get("project_id")}
    else:
        default = "::/0" if rule.get("ethertype") == "IPv6" else "0.0.0.0/0"
        view["ip_range"] = {"cidr": rule.get("remote_ip_prefix") or default}
    return view


def group_view(group: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]
               ) -> dict[str, Any]:
    return {"id": group["id"], "name": group.get("name"),
            "description": group.get("description"),
            "tenant_id": group.get("project_id") or group.get("tenant_id"),
            "rules": [rule_view(rule, groups) for rule in group.get("security_group_rules")
                      or () if rule.get("direction") == "ingress"]}


def _groups_body(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_id = {str(group["id"]): group for group in groups}
    views = [group_view(group, by_id) for group in groups]
    return {"security_groups": sorted(views, key=lambda g: (str(g["tenant_id"]),
                                                           str(g["name"])))}


# --- os-security-groups -------------------------------------------------------------------

async def list_security_groups(req: Req) -> Response:
    caller = _proxy(req, _SG + "get")
    # ``all_tenants`` lists every project's groups for an admin, as Nova's Neutron driver
    # does; anyone else gets their own, whatever they ask.
    every = req.query.get("all_tenants", "0").lower() not in ("0", "false", "off", "no")
    filters = {} if every and req.ctx.is_admin else {"project_id": req.ctx.project_id or ""}
    try:
        groups = await caller.security_groups_with_rules(**filters)
    except NetworkClientError as exc:
        raise _mapped(exc, "") from None
    return json_response(_groups_body(groups))


def _valid_id(group_id: str) -> str:
    """Nova's ``validate_id`` with Neutron: a security group id is a UUID, else a 400."""
    try:
        uuid.UUID(group_id)
    except ValueError:
        raise BadRequest("Security group id should be uuid") from None
    return group_id


async def _group(caller: NetworkClient, group_id: str) -> dict[str, Any]:
    _valid_id(group_id)
    try:
        return await caller.get_security_group(group_id)
    except NetworkClientError as exc:
        raise _mapped(exc, f"Security group {group_id} not found.") from None


async def show_security_group(req: Req) -> Response:
    caller = _proxy(req, _SG + "show")
    group = await _group(caller, req.params["security_group_id"])
    return json_response({"security_group": group_view(group, {group["id"]: group})})


def _group_fields(req_body: Mapping[str, Any]) -> dict[str, str]:
    wanted = req_body["security_group"]
    fields: dict[str, str] = {}
    for name in ("name", "description"):
        value = wanted.get(name)
        if value is None:
            raise BadRequest(f"Security group {name} is not a string or unicode")
        if not str(value).strip():
            raise BadRequest(f"Security group {name} cannot be empty.")
        # Checked stripped, but kept as sent (spaces and all), as Nova passes it on.
        fields[name] = str(value)
    return fields


async def create_security_group(req: Req) -> Response:
    caller = _proxy(req, _SG + "create")
    fields = _group_fields(await body(req, schemas.SECURITY_GROUP))
    try:
        group = await caller.create_security_group(fields)
    except NetworkClientError as exc:
        raise _mapped(exc, "", conflict=Forbidden) from None
    return json_response({"security_group": group_view(group, {group["id"]: group})})


async def update_security_group(req: Req) -> Response:
    caller = _proxy(req, _SG + "update")
    group_id = req.params["security_group_id"]
    await _group(caller, group_id)
    fields = _group_fields(await body(req, schemas.SECURITY_GROUP))
    try:
        group = await caller.update_security_group(group_id, fields)
    except NetworkClientError as exc:
        raise _mapped(exc, f"Security group {group_id} not found.") from None
    return json_response({"security_group": group_view(group, {group["id"]: group})})


async def delete_security_group(req: Req) -> Response:
    caller = _proxy(req, _SG + "delete")
    group_id = req.params["security_group_id"]
    await _group(caller, group_id)
    try:
        await caller.delete_security_group(group_id)
    except NetworkClientError as exc:
        raise _mapped(exc, f"Security group {group_id} not found.") from None
    return empty_response(202)


# --- os-security-group-rules --------------------------------------------------------------

def _ports(protocol: str, low: Any, high: Any) -> tuple[int | None, int | None]:
    """Nova's checks of a rule's protocol and ports (its ``_new_ingress_rule``)."""
    kind = protocol.upper()
    try:
        first, last = int(low), int(high)
    except (TypeError, ValueError):
        if kind == "ICMP":
            raise BadRequest("Type and Code must be integers for ICMP protocol type"
                             ) from None
        raise BadRequest("To and From ports must be integers") from None
    if kind not in ("TCP", "UDP", "ICMP"):
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if kind in ("TCP", "UDP"):
        if first > last:
            raise BadRequest(f"Invalid port range {first}:{last}. Former value cannot be "
                             "greater than the later")
        if first < 1 or last > 65535:
            raise BadRequest(f"Invalid port range {first}:{last}. Valid {kind} ports should "
                             "be between 1-65535")
        return first, last
    if not (-1 <= first <= 255 and -1 <= last <= 255):
        raise BadRequest(f"Invalid port range {first}:{last}. For ICMP, the type:code must "
                         "be valid")
    return (None if first == -1 else first), (None if last == -1 else last)


def _cidr(value: str | None) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        network = ipaddress.ip_network(value or "0.0.0.0/0", strict=False)
    except ValueError:
        raise BadRequest(f"{value} is not a valid IP network.") from None
    given = str(value or "0.0.0.0/0").split("/", 1)[0]
    if network.prefixlen == 0 and given not in ("0.0.0.0", "::"):
        raise BadRequest(f"Bad prefix for network in cidr {value}")
    return network


async def create_security_group_rule(req: Req) -> Response:
    caller = _proxy(req, _SG + "rule:create")
    wanted = (await body(req, schemas.SECURITY_GROUP_RULE))["security_group_rule"]
    parent = await _group(caller, str(wanted["parent_group_id"]))
    groups = {str(parent["id"]): parent}
    rule: dict[str, Any] = {"security_group_id": parent["id"], "direction": "ingress",
                            "ethertype": "IPv4"}
    if wanted.get("group_id"):
        source = await _group(caller, str(wanted["group_id"]))
        groups[str(source["id"])] = source
        rule["remote_group_id"] = source["id"]
    else:
        cidr = _cidr(wanted.get("cidr"))
        # As sent (10.2.3.124/24 stays so), as Nova passes it on to Neutron.
        rule["remote_ip_prefix"] = str(wanted.get("cidr") or cidr)
        rule["ethertype"] = f"IPv{cidr.version}"
    protocol = wanted.get("ip_protocol")
    if protocol and wanted.get("from_port") is not None and wanted.get("to_port") is not None:
        rule["protocol"] = str(protocol).lower()
        rule["port_range_min"], rule["port_range_max"] = _ports(
            str(protocol), wanted["from_port"], wanted["to_port"])
    elif not wanted.get("group_id"):
        raise BadRequest("Not enough parameters to build a valid rule.")
    try:
        made = await caller.create_security_group_rule(rule)
    except NetworkClientError as exc:
        if exc.type == "SecurityGroupRuleExists":       # Nova's own check, a 400
            raise BadRequest(f"This rule already exists in group {parent['id']}") from None
        raise _mapped(exc, f"Security group {parent['id']} not found.",
                      conflict=Forbidden) from None
    return json_response({"security_group_rule": rule_view(made, groups)})


async def delete_security_group_rule(req: Req) -> Response:
    caller = _proxy(req, _SG + "rule:delete")
    rule_id = req.params["security_group_rule_id"]
    try:
        await caller.get_security_group_rule(rule_id)
        await caller.delete_security_group_rule(rule_id)
    except NetworkClientError as exc:
        raise _mapped(exc, f"Security group rule {rule_id} not found.",
                      conflict=Conflict) from None
    return empty_response(202)


# --- a server's security groups -----------------------------------------------------------

async def list_server_security_groups(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _SG + "list")
    caller = req.svc.network.as_caller(req.ctx.auth_token or "")
    try:
        ids: list[str] = []
        for port in await caller.list_ports(device_id=instance.uuid):
            ids += [str(g) for g in port.get("security_groups") or () if str(g) not in ids]
        groups = await caller.security_groups_with_rules(id=ids) if ids else []
    except NetworkClientError as exc:
        raise _mapped(exc, "") from None
    return json_response(_groups_body(groups))


async def security_group_action(req: Req, data: dict[str, Any]) -> Response:
    """``addSecurityGroup`` / ``removeSecurityGroup``: on every port of the server."""
    add = "addSecurityGroup" in data
    validator = schemas.ADD_SECURITY_GROUP if add else schemas.REMOVE_SECURITY_GROUP
    name = str(validator.validate(data)["addSecurityGroup" if add else
                                        "removeSecurityGroup"]["name"]).strip()
    if not name:
        raise BadRequest("Security group name cannot be empty")
    async with req.svc.read() as db:
        instance = await load_server(req, db, _SG + ("add" if add else "remove"))
    caller = req.svc.network.as_caller(req.ctx.auth_token or "")
    change = interfaces.add_group if add else interfaces.remove_group
    await change(req.svc.network, caller, req.ctx, instance.uuid, name)
    groups = await interfaces.groups_on_ports(req.svc.network, instance.uuid)
    async with req.svc.write() as db:
        await update_instance(db, instance.uuid, security_groups=groups)
    return empty_response(202)


# --- os-floating-ips ----------------------------------------------------------------------

async def _fip_view(caller: NetworkClient, fips: Sequence[Mapping[str, Any]]
                    ) -> list[dict[str, Any]]:
    networks = {str(net["id"]): net for net in await caller.list_networks(
        id=sorted({str(f["floating_network_id"]) for f in fips}))} if fips else {}
    port_ids = sorted({str(f["port_id"]) for f in fips if f.get("port_id")})
    devices = {str(p["id"]): p.get("device_id") or None
               for p in await caller.list_ports(id=port_ids)} if port_ids else {}
    return [{"id": f["id"], "ip": f.get("floating_ip_address"),
             "pool": (networks.get(str(f["floating_network_id"])) or {}).get("name"),
             "fixed_ip": f.get("fixed_ip_address"),
             "instance_id": devices.get(str(f.get("port_id")))} for f in fips]


async def list_floating_ips(req: Req) -> Response:
    caller = _proxy(req, _FIP + "list")
    try:
        fips = await caller.list_floating_ips(project_id=req.ctx.project_id or "")
        return json_response({"floating_ips": await _fip_view(caller, fips)})
    except NetworkClientError as exc:
        raise _mapped(exc, "") from None


async def show_floating_ip(req: Req) -> Response:
    caller = _proxy(req, _FIP + "show")
    fip_id = req.params["floatingip_id"]
    try:
        fip = await caller.get_floating_ip(fip_id)
        (view,) = await _fip_view(caller, [fip])
    except NetworkClientError as exc:
        raise _mapped(exc, f"Floating IP not found for ID {fip_id}") from None
    return json_response({"floating_ip": view})


async def create_floating_ip(req: Req) -> Response:
    caller = _proxy(req, _FIP + "create")
    raw = await req.body()
    wanted = schemas.FLOATING_IP.validate(parse_json(raw)) if raw.strip() else None
    pool = (wanted or {}).get("pool") or DEFAULT_POOL
    try:
        found = await caller.list_networks(name=pool, **{"router:external": True})
        if not found and pool:
            found = await caller.list_networks(id=pool, **{"router:external": True})
        if not found:
            raise NotFound("Floating IP pool not found.")
        if len(found) > 1:
            raise Conflict(f"Multiple floating IP pools matches found for name '{pool}'")
        fip = await caller.create_floating_ip({"floating_network_id": found[0]["id"]})
        (view,) = await _fip_view(caller, [fip])
    except NetworkClientError as exc:
        if exc.type == "IpAddressGenerationFailure":
            raise NotFound(f"No more floating IPs in pool {pool}.") from None
        raise _mapped(exc, "Floating IP pool not found.", conflict=Forbidden) from None
    return json_response({"floating_ip": view})


async def delete_floating_ip(req: Req) -> Response:
    caller = _proxy(req, _FIP + "delete")
    fip_id = req.params["floatingip_id"]
    try:
        await caller.get_floating_ip(fip_id)
        await caller.delete_floating_ip(fip_id)
    except NetworkClientError as exc:
        raise _mapped(exc, f"Floating IP not found for ID {fip_id}") from None
    return empty_response(202)


async def floating_ip_action(req: Req, data: dict[str, Any]) -> Response:
    """``addFloatingIp`` / ``removeFloatingIp`` (up to 2.43), as the caller."""
    if at_least(version_of(req), "2.44"):
        raise NotFound("The resource could not be found.")
    add = "addFloatingIp" in data
    validator = schemas.ADD_FLOATING_IP if add else schemas.REMOVE_FLOATING_IP
    wanted = validator.validate(data)["addFloatingIp" if add else "removeFloatingIp"]
    address = str(wanted["address"])
    async with req.svc.read() as db:
        instance = await load_server(req, db, _FIP + ("add" if add else "remove"))
    caller = req.svc.network.as_caller(req.ctx.auth_token or "")
    try:
        found = await caller.list_floating_ips(floating_ip_address=address)
        if not found:
            raise NotFound(f"Floating IP not found for address {address}.")
        fip = found[0]
        if add:
            port_id, fixed = _fixed_for(instance.uuid, instance.network_info or (),
                                        address, wanted.get("fixed_address"))
            await caller.update_floating_ip(str(fip["id"]), {"port_id": port_id,
                                                             "fixed_ip_address": fixed})
        else:
            mine = {str(item["id"]) for item in instance.network_info or ()}
            if str(fip.get("port_id")) not in mine:
                raise Conflict(f"Floating IP {address} is not associated with instance "
                               f"{instance.uuid}.")
            await caller.update_floating_ip(str(fip["id"]), {"port_id": None})
    except NetworkNotFoundError as exc:
        raise NotFound(exc.message) from None
    except NetworkClientError as exc:
        raise _mapped(exc, "") from None
    return empty_response(202)


def _fixed_for(uuid: str, cache: Sequence[Mapping[str, Any]], address: str,
               fixed: str | None) -> tuple[str, str]:
    """The port and fixed IP a floating IP goes to: the one named, else the first IPv4."""
    if not cache:
        raise BadRequest("No nw_info cache associated with instance")
    for item in cache:
        for ip in item.get("fixed_ips") or ():
            if (fixed and ip["address"] == fixed) or (not fixed and ip.get("version") == 4):
                return str(item["id"]), str(ip["address"])
    if fixed:
        raise BadRequest("Specified fixed address not assigned to instance")
    raise BadRequest(f"Unable to associate floating IP {address} to any fixed IPs for "
                     f"instance {uuid}. Instance has no fixed IPv4 addresses to associate.")
