"""Ports: who sees which, their MAC, fixed IPs, security, binding, and change and delete.

A project sees its own ports and, as Neutron's port filter hook allows, every port on a
network it owns; a port another project made on a shared network is hidden from the
rest; an admin sees all. A port's MAC is random in ``fa:16:3e`` (or one an admin or the
network's owner asks for) and unique on its network by the ``(network_id, mac_address)``
constraint: a random one that collides is drawn again, a requested one is 409
``MacAddressInUse``. Its addresses are allocated race-free (:mod:`.addresses`).

The binding attributes are the ML2 ``binding`` extension's: an admin (or the compute
service) sets ``binding:host_id``; the port is then bound to that host with the Linux
bridge VIF (``binding:vif_type`` ``bridge``), unbound again when the host is cleared. The
status stays DOWN: a bound port goes ACTIVE once the network agent of its host and, on a
network with DHCP, its DHCP server have reported it provisioned (:mod:`.provisioning`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import CachedJSON, UTCTimeText
from ownstack.common.db.core import Plain, Runner, run
from ownstack.network import ipam
from ownstack.network.drivers.naming import binding_details
from ownstack.network.errors import (
    BadNetworkRequest,
    ConcurrentUpdate,
    InvalidInput,
    NetworkBadRequest,
    NetworkConflict,
    ResourceNotFound,
)
from ownstack.network.objects import (
    addresses,
    loaded,
    networks,
    provisioning,
    quotas,
    rbac,
    security_groups,
)
from ownstack.network.objects.addresses import FixedIp
from ownstack.network.objects.bindings import set_binding
from ownstack.network.objects.inserts import insert_new, insert_plain, insert_row, is_sqlite
from ownstack.network.objects.listing import (
    Field,
    Ids,
    Kind,
    aggregated,
    as_bool,
    as_int,
    in_ids,
    split_text,
)
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    RouterPort,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Tag,
)
from ownstack.network.objects.standard import check_revision, delete_row, drop_tags, touch

VNIC_NORMAL: Final = "normal"
# Every vnic_type Neutron knows; only "normal" (a tap on a Linux bridge) is served here.
VNIC_TYPES: Final = ("normal", "direct", "macvtap", "baremetal", "direct-physical",
                     "virtio-forwarder", "smart-nic", "vdpa", "remote-managed",
                     "accelerator-direct", "accelerator-direct-physical")
# Ports of routers and floating IPs: the L3 API makes and removes them, never /ports.
SERVICE_PORT_OWNERS: Final = ("network:router_interface", "network:router_gateway",
                              "network:floatingip", "network:router_interface_distributed",
                              "network:ha_router_replicated_interface",
                              "network:router_centralized_snat")
_MAC_ATTEMPTS: Final = 16


def _fixed_ips_filter(values: list[str]) -> ColumnElement[bool]:
    """``fixed_ips=ip_address=10.0.0.5``, ``fixed_ips=subnet_id=...`` and
    ``fixed_ips=ip_address_substr=0.5``: a port with an address that matches them all."""
    terms: dict[str, list[str]] = {}
    for value in values:
        name, sep, wanted = value.partition("=")
        if not sep or name not in ("ip_address", "subnet_id", "ip_address_substr"):
            raise InvalidInput(f"'{value}' is not a fixed_ips filter: use ip_address=, "
                               "subnet_id= or ip_address_substr=")
        terms.setdefault(name, []).append(wanted)
    clauses: list[ColumnElement[bool]] = [IpAllocation.port_id == Port.id]
    if "ip_address" in terms:
        clauses.append(IpAllocation.ip_address.in_(terms["ip_address"]))
    if "subnet_id" in terms:
        clauses.append(IpAllocation.subnet_id.in_(terms["subnet_id"]))
    for part in terms.get("ip_address_substr", []):
        clauses.append(IpAllocation.ip_address.contains(part, autoescape=True))
    return sa.exists().where(*clauses)


def _security_groups_filter(values: list[str]) -> ColumnElement[bool]:
    return sa.exists().where(PortSecurityGroup.port_id == Port.id,
                             PortSecurityGroup.security_group_id.in_(values))


PORTS = Kind(name="port", collection="ports", model=Port, fields={
    "id": Field(Port.id),
    "name": Field(Port.name),
    "description": Field(Port.description),
    "project_id": Field(Port.project_id),
    "tenant_id": Field(Port.project_id),
    "network_id": Field(Port.network_id),
    "mac_address": Field(Port.mac_address),
    "admin_state_up": Field(Port.admin_state_up, as_bool),
    "status": Field(Port.status),
    "device_id": Field(Port.device_id),
    "device_owner": Field(Port.device_owner),
    "port_security_enabled": Field(Port.port_security_enabled, as_bool),
    "binding:host_id": Field(Port.binding_host_id),
    "binding:vnic_type": Field(Port.binding_vnic_type),
    "revision_number": Field(Port.revision_number, as_int),
    "created_at": Field(Port.created_at),
    "updated_at": Field(Port.updated_at),
}, special={"fixed_ips": _fixed_ips_filter, "security_groups": _security_groups_filter})
# The binding attributes only an admin reads (Neutron's get_port:binding:* rules).
ADMIN_READ: Final = ("binding:host_id", "binding:vif_type", "binding:vif_details",
                     "binding:profile")


class ListedPort(NamedTuple):
    """What the port view reads of a port, as a listing reads it: a plain tuple (no ORM
    entity), with its addresses, security groups and tags as text (see
    :data:`LISTED`). Times are as ``UTCTimeText`` reads them (SQLite's text, else
    datetimes); the JSON documents are shared between rows with the same text
    (``CachedJSON``): read them, never modify them."""

    id: str
    project_id: str
    description: str
    revision_number: int
    created_at: datetime | str
    updated_at: datetime | str
    name: str
    network_id: str
    mac_address: str
    admin_state_up: bool
    status: str
    device_id: str
    device_owner: str
    port_security_enabled: bool
    allowed_address_pairs: list[dict[str, str]]
    binding_host_id: str
    binding_vnic_type: str
    binding_vif_type: str
    binding_vif_details: dict[str, Any]
    binding_profile: dict[str, Any]
    # Comma-separated, or None for none: "<subnet id> <ip address>" items, group ids, tags.
    fixed_ips_text: str | None
    security_groups_text: str | None
    tags_text: str | None


_READ_AS: Final[dict[str, Any]] = {
    "created_at": UTCTimeText(), "updated_at": UTCTimeText(),
    "allowed_address_pairs": CachedJSON(), "binding_vif_details": CachedJSON(),
    "binding_profile": CachedJSON()}
# A listing reads each port's row with its addresses, security groups and tags, each list
# as one text column: one statement for the whole page, where a statement per list (each
# with the page's ids as a subquery) cost a listing of 500 ports a fifth more. None of the
# items can hold a comma: an address is "<subnet id> <ip address>", a group an id, and a
# tag with a comma is refused (check_tag). Built once; read as plain rows (ListedPort).
_LISTS: Final = {
    "fixed_ips_text": aggregated(IpAllocation.subnet_id + " " + IpAllocation.ip_address,
                                 IpAllocation.port_id == Port.id, Port, "fixed_ips_text"),
    "security_groups_text": aggregated(PortSecurityGroup.security_group_id,
                                       PortSecurityGroup.port_id == Port.id, Port,
                                       "security_groups_text"),
    "tags_text": aggregated(Tag.tag, Tag.resource_id == Port.id, Port, "tags_text")}
LISTED: Final = tuple(
    _LISTS[name] if name in _LISTS else
    sa.type_coerce(getattr(Port, name), _READ_AS[name]).label(name) if name in _READ_AS
    else getattr(Port, name) for name in ListedPort._fields)


class PortWithLists(NamedTuple):
    """A listed port and the lists its body shows: fixed IPs as the body shows them (in
    the order of their subnets' creation, then by address), security group ids and tags,
    both sorted."""

    port: ListedPort
    fixed_ips: list[dict[str, str]]
    security_groups: list[str]
    tags: list[str]


async def with_lists(db: Runner, rows: Sequence[ListedPort]) -> list[PortWithLists]:
    """The listed ``rows`` with their lists parsed. Ports with addresses on several
    subnets are few; their subnets' order is read once for all of them."""
    listed = []
    several: set[str] = set()
    for port in rows:
        fixed = []
        for item in split_text(port.fixed_ips_text):
            subnet_id, _, address = item.partition(" ")
            fixed.append({"subnet_id": subnet_id, "ip_address": address})
        if len(fixed) > 1:
            several.update(item["subnet_id"] for item in fixed)
        listed.append(PortWithLists(port, fixed, sorted(split_text(port.security_groups_text)),
                                    sorted(split_text(port.tags_text))))
    if several:
        order = await networks.creation_order(db, several)
        for found in listed:
            if len(found.fixed_ips) > 1:
                found.fixed_ips.sort(key=lambda ip: (order.get(ip["subnet_id"], len(order)),
                                                     ip["ip_address"]))
    return listed


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """An admin sees every port; a project its own and those on networks it owns."""
    if ctx.is_admin:
        return []
    owned = sa.select(Network.id).where(Network.project_id == ctx.project_id)
    return [sa.or_(Port.project_id == ctx.project_id, Port.network_id.in_(owned))]


_PORT: Final = sa.select(Port).where(Port.id == sa.bindparam("port_id"))   # built once


async def get_port(db: AsyncSession, ctx: RequestContext, port_id: str) -> Port:
    seen = visible(ctx)
    row = (await db.execute(_PORT.where(*seen) if seen else _PORT, {"port_id": port_id})
           ).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("port", port_id)
    return row


async def get_port_and_network(db: AsyncSession, ctx: RequestContext, port_id: str
                               ) -> tuple[Port, Network, bool]:
    """:func:`get_port` and :func:`network_of` in one statement: the port, its network,
    and whether that network is shared with the port's project."""
    port, network, shared, _ = await _port_and_network(db, ctx, port_id, _PORT_AND_NETWORK)
    return port, network, shared


class Leftovers(NamedTuple):
    """What a port's delete has to clear beside its row, as read with the port."""

    tags: bool = True
    floating_ips: bool = True
    # On SQLite: its delete nudges no host (_QUIET_PORT_GROUPS), so its lookup is not sent.
    quiet: bool = False


async def port_to_delete(db: AsyncSession, ctx: RequestContext, port_id: str
                         ) -> tuple[Port, Network, bool, Leftovers]:
    """:func:`get_port_and_network`, and whether the port has tags and floating IPs
    associated with it, in the same statement: a port's delete (:func:`delete_port`)
    clears them only when there are some. On SQLite, that is: the write transaction
    holds the one write lock from its start, so nothing can tag the port or associate a
    floating IP with it between this read and the delete; where writers run
    concurrently (PostgreSQL, MariaDB) both are cleared as before, by their own
    statements."""
    if not is_sqlite(db):
        port, network, shared = await get_port_and_network(db, ctx, port_id)
        return port, network, shared, Leftovers()
    return await _port_and_network(db, ctx, port_id, _PORT_TO_DELETE)


async def _port_and_network(db: AsyncSession, ctx: RequestContext, port_id: str,
                            query: Any) -> tuple[Port, Network, bool, Leftovers]:
    seen = visible(ctx)
    found = (await db.execute(query.where(*seen) if seen else query,
                              {"port_id": port_id})).one_or_none()
    if found is None:
        raise ResourceNotFound("port", port_id)
    port, network, named, *rest = found
    return port, network, bool(network.shared or named), Leftovers(*map(bool, rest))


# Built once: every port show, update and delete reads it. A port without a project
# (a service port) is shared with by no policy (rbac.shared_by_name of none).
_PORT_AND_NETWORK: Final = sa.select(
    Port, Network, sa.and_(Port.project_id != "", rbac.shared_by_name_of(Port.project_id))
).join(Network, Network.id == Port.network_id).where(Port.id == sa.bindparam("port_id"))
_MEMBER: Final = aliased(Port)
_MEMBERSHIP: Final = aliased(PortSecurityGroup)
# Whether a change of the port's groups nudges no host, as ``dhcp.port_change_lookup``
# would find after its delete: no bound port (itself included) is in a group with a rule
# naming one of its groups, no agent serves its network's DHCP, no port of the network
# waits for DHCP (itself included). Read with the port on SQLite, whose write transaction
# holds the write lock: the delete changes none of it but removing the port.
# Both start from the rows that are few (the bound ports, a range of their index: none on
# a cloud without agents; the DHCP blocks), as sg_members' lookups do, not from the
# members of the groups or the ports of the network, which SQLite would otherwise read
# one by one: the default group holds all of a project's ports (decision 87).
_QUIET_PORT_GROUPS: Final = sa.and_(
    ~sa.exists().where(
        _MEMBER.binding_host_id > "",
        sa.exists().where(
            _MEMBERSHIP.port_id == _MEMBER.id,
            _MEMBERSHIP.security_group_id.in_(
                sa.select(SecurityGroupRule.security_group_id).where(
                    SecurityGroupRule.remote_group_id.in_(
                        sa.select(PortSecurityGroup.security_group_id).where(
                            PortSecurityGroup.port_id == Port.id)
                        .correlate_except(PortSecurityGroup)))))),
    ~sa.exists().where(DhcpAgentBinding.network_id == Port.network_id),
    ~provisioning.waiting_for_dhcp(Port.network_id))
_PORT_TO_DELETE: Final = _PORT_AND_NETWORK.add_columns(
    sa.exists().where(Tag.resource_id == Port.id),
    sa.exists().where(FloatingIP.fixed_port_id == Port.id), _QUIET_PORT_GROUPS)


async def security_groups_of(db: AsyncSession, port_ids: Ids) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for among in in_ids(PortSecurityGroup.port_id, port_ids):
        rows = await db.execute(sa.select(PortSecurityGroup.port_id,
                                          PortSecurityGroup.security_group_id).where(among))
        for port_id, group_id in rows:
            found.setdefault(port_id, []).append(group_id)
    for groups in found.values():
        groups.sort()
    return found


async def _check_security_groups(db: Runner, ctx: RequestContext,
                                 group_ids: Sequence[str]) -> list[str]:
    wanted = sorted(set(group_ids))
    if not wanted:
        return []
    found = set((await run(db, sa.select(SecurityGroup.id).where(
        SecurityGroup.id.in_(wanted), *security_groups.visible_groups(ctx)))).scalars().all())
    for group_id in wanted:
        if group_id not in found:
            raise ResourceNotFound("security_group", group_id)
    return wanted


def _is_trusted(device_owner: str) -> bool:
    """Ports the network service makes for itself (network:*) get no default group."""
    return device_owner.startswith("network:")


def _check_vnic(data: dict[str, Any]) -> None:
    vnic = data.get("binding:vnic_type")
    if vnic is None or vnic == VNIC_NORMAL:
        return
    if vnic in VNIC_TYPES:
        raise InvalidInput(f"binding:vnic_type '{vnic}' is not supported: ports here are "
                           "taps on Linux bridges ('normal')")
    raise InvalidInput(f"'{vnic}' is not in {list(VNIC_TYPES)}")


def _security_rules(port_security: bool, groups: Sequence[str],
                    pairs: Sequence[dict[str, str]]) -> None:
    if port_security:
        return
    if groups:
        raise NetworkBadRequest("PortSecurityAndIPRequiredForSecurityGroups",
                                "Port security must be enabled and port must have an IP "
                                "address in order to use security groups.")
    if pairs:
        raise NetworkConflict("AddressPairAndPortSecurityRequired",
                              "Port Security must be enabled in order to have allowed "
                              "address pairs on a port.")


def _pairs(config: NetworkConfig, data: dict[str, Any], mac: str) -> list[dict[str, str]]:
    return [pair.as_dict() for pair in ipam.validate_allowed_address_pairs(
        data.get("allowed_address_pairs") or [], port_mac=mac,
        max_pairs=config.max_allowed_address_pairs)]


def _check_fixed_ip_count(config: NetworkConfig, fixed_ips: Sequence[Any]) -> None:
    if len(fixed_ips) > config.max_fixed_ips_per_port:
        raise InvalidInput("Exceeded maximum amount of fixed ips per port.")


class PortNetwork(NamedTuple):
    """The network of a port to make, as :func:`network_for_port` reads it, and what the
    create reads next of the port's project, in the same statement."""

    network: Network
    shared: bool                    # with the project (see networks.get_network_for)
    quota: tuple[Any, Any]          # quotas.judge's own limit and usage of "port"
    default_group: str | None       # the project's default security group, if made
    subnets: list[Subnet]           # the network's, as addresses.network_subnets reads them
    # On SQLite: a new member of the default group nudges no host (QUIET_DEFAULT_GROUP).
    quiet: bool = False


async def network_for_port(db: Runner, config: NetworkConfig, ctx: RequestContext,
                           network_id: str, project_id: str) -> PortNetwork:
    """The network as ``networks.get_network_for`` finds it (404 when ``ctx`` does not
    see it), with the project's port quota and usage, its default security group and the
    network's subnets (a row per subnet, in ``addresses.network_subnets``' order): one
    statement where a create would otherwise run four. The subnets are read before the
    port is inserted rather than after, in the same transaction: only the insert of an
    address settles who holds it (``addresses.allocate``), so which addresses are free
    is never taken from this read. The network and subnets are objects of no session
    (``loaded.unattached``): a port create reads them and changes neither."""
    seen = networks.visible(ctx)
    sqlite = is_sqlite(db)
    query = _PORT_NETWORK_SQLITE if sqlite else _PORT_NETWORK
    rows = (await run(db, query.where(*seen) if seen else query,
                      {"network_id": network_id, "project_id": project_id or "",
                       **quotas.default_limits_bound(config, "port")})).all()
    if not rows:
        raise ResourceNotFound("network", network_id)
    first = rows[0]
    network = loaded.unattached(Network, first)
    named, own_limit, usage, default_group = first[_AFTER_NETWORK:_SUBNET_AT]
    subnets = [loaded.unattached(Subnet, row, _SUBNET_AT) for row in rows
               if row[_SUBNET_AT + _SUBNET_ID_AT] is not None]
    return PortNetwork(network, bool(network.shared or named), (own_limit, usage),
                       default_group, subnets,
                       bool(sqlite and default_group is not None and first[-1]))


# Built once, ``network_id``, ``project_id`` and the default port limit bound when run:
# every port create reads it.
# Plain columns, run on the session's connection: the network and each subnet are made
# objects of no session by loaded.unattached (a port create only reads them; decision 93).
_PORT_NETWORK: Final = sa.select(
    *loaded.columns_of(Network), rbac.shared_by_name_of(sa.bindparam("project_id")),
    *quotas.limit_and_usage_of("port"), security_groups.DEFAULT_GROUP.scalar_subquery(),
    *loaded.columns_of(Subnet)).where(Network.id == sa.bindparam("network_id")).outerjoin(
    Subnet, Subnet.network_id == Network.id).order_by(*addresses.NETWORK_SUBNETS_ORDER)
# Where each part of its rows starts: the network's columns, whether a policy shares it
# with the project by name, the quota's limit and usage and the default group, then the
# subnet's columns (all NULL for a network without subnets), and on SQLite "quiet".
_AFTER_NETWORK: Final = len(loaded.columns_of(Network))
_SUBNET_AT: Final = _AFTER_NETWORK + 4
_SUBNET_ID_AT: Final = loaded.columns_of(Subnet).index(Subnet.__table__.c.id)
# Whether a port change of the network that concerns only the project's default group
# nudges no host, as ``dhcp.port_change_lookup`` would find: no bound port is in a group
# with a rule naming the default group, no agent serves the network's DHCP and no port of
# it waits for DHCP. Read on SQLite only, where the write transaction holds the one write
# lock from its start, so a port create that adds an unbound port to the default group
# finds at its end what this read found (rpc_handlers.port_change_found).
# Read from the bound ports and the DHCP blocks, as _QUIET_PORT_GROUPS (decision 87).
QUIET_DEFAULT_GROUP: Final = sa.and_(
    ~sa.exists().where(
        Port.binding_host_id > "",
        sa.exists().where(
            PortSecurityGroup.port_id == Port.id,
            PortSecurityGroup.security_group_id.in_(
                sa.select(SecurityGroupRule.security_group_id).where(
                    SecurityGroupRule.remote_group_id
                    == security_groups.DEFAULT_GROUP.scalar_subquery())))),
    ~sa.exists().where(DhcpAgentBinding.network_id == Network.id),
    ~provisioning.waiting_for_dhcp(Network.id)).label("quiet")
_PORT_NETWORK_SQLITE: Final = _PORT_NETWORK.add_columns(QUIET_DEFAULT_GROUP)


@dataclass(frozen=True)
class NewPort:
    """One port of a create request, its owner and network already settled. ``quota``
    and ``default_group``: what :func:`network_for_port` read, when it did (else they
    are read when needed)."""

    port_id: str
    project_id: str
    network: Network
    data: dict[str, Any]
    quota: tuple[Any, Any] | None = None
    default_group: str | None = None
    subnets: list[Subnet] | None = None     # the network's, when already read
    quiet: bool = False                     # PortNetwork.quiet


async def check_quota(db: Runner, config: NetworkConfig, ports: Sequence[NewPort]
                      ) -> None:
    """Every project of a (bulk) create may make all of its ports."""
    counts: dict[str, int] = {}
    read: dict[str, tuple[Any, Any]] = {}
    for port in ports:
        counts[port.project_id] = counts.get(port.project_id, 0) + 1
        if port.quota is not None:
            read.setdefault(port.project_id, port.quota)
    for project_id, count in sorted(counts.items()):
        if project_id in read:
            quotas.judge(config, "port", *read[project_id], count)
        else:
            await quotas.check(db, config, project_id, "port", count)


@dataclass(frozen=True)
class Created:
    """A new port, its fixed IPs (in the order a read gives them) and security groups."""

    row: Port
    fixed_ips: list[FixedIp]
    security_groups: list[str]


async def create_port(db: Runner, config: NetworkConfig, ctx: RequestContext,
                      new: NewPort) -> Created:
    """A port on ``new.network`` with its MAC, addresses, security and binding. In a
    session the port's row joins it (its callers may change it further); on a plain
    connection (``Database.plain_write()``, the port API's create) every statement is
    Core and the row is an object of no session (``loaded.from_values``), which the
    caller only reads."""
    data, network = new.data, new.network
    _check_vnic(data)
    device_owner = data.get("device_owner") or ""
    port_security = data.get("port_security_enabled")
    if port_security is None:
        port_security = network.port_security_enabled
    if "security_groups" in data and data["security_groups"] is not None:
        groups = await _check_security_groups(db, ctx, data["security_groups"])
    elif port_security and not _is_trusted(device_owner):
        groups = [new.default_group
                  or await security_groups.ensure_default(db, config, new.project_id)]
    else:
        groups = []
    requested_mac = data.get("mac_address")
    mac = ipam.normalise_mac(requested_mac) if requested_mac is not None else None
    pairs = _pairs(config, data, mac or "fa:16:3e:00:00:00")
    _security_rules(port_security, groups, pairs)
    fixed_ips = data.get("fixed_ips")
    if fixed_ips is not None:
        _check_fixed_ip_count(config, fixed_ips)
    host = data.get("binding:host_id") or ""
    vif_type, vif_details = binding_details(network.id, host)
    fields = dict(
        id=new.port_id, project_id=new.project_id, network_id=network.id,
        name=data.get("name") or "", description=data.get("description") or "",
        admin_state_up=data.get("admin_state_up", True), device_id=data.get("device_id") or "",
        device_owner=device_owner, port_security_enabled=port_security,
        binding_host_id=host, binding_vnic_type=data.get("binding:vnic_type") or VNIC_NORMAL,
        binding_vif_type=vif_type, binding_vif_details=vif_details,
        binding_profile=data.get("binding:profile") or {})
    if requested_mac is None and data.get("allowed_address_pairs"):
        # Pairs without a MAC take the port's own, known only once it is drawn.
        row = await _insert_with_mac(db, fields, network.id, None,
                                     lambda drawn: _pairs(config, data, drawn))
    else:
        row = await _insert_with_mac(db, fields, network.id, mac, lambda _: pairs)
    subnets = new.subnets if new.subnets is not None else \
        await addresses.network_subnets(db, network.id)
    if fixed_ips is None:
        wanted = addresses.default_wanted(subnets, device_owner)
    else:
        wanted = addresses.requested_wanted(network.id, subnets, fixed_ips,
                                            device_owner=device_owner,
                                            mac_address=row.mac_address)
    taken = await addresses.allocate(db, row, wanted)
    if groups:
        members = [{"port_id": row.id, "security_group_id": group_id} for group_id in groups]
        if is_sqlite(db):
            await insert_plain(db, PortSecurityGroup, members)
        else:
            await run(db, _INSERT_PORT_GROUPS, members)
    if isinstance(db, Plain):
        await provisioning.new_port_bound(db, row, network_up=network.admin_state_up)
    else:
        await db.flush()
        await provisioning.port_bound(db, row, previous_host="")
    order = {subnet.id: index for index, subnet in enumerate(subnets)}
    taken.sort(key=lambda ip: (order.get(ip.subnet_id, len(order)), ip.ip_address))
    return Created(row, taken, groups)


# Built once: a Core insert of the table (the ORM's bulk insert of the entity costs more
# than the statement), every port create runs it.
_INSERT_PORT_GROUPS: Final = sa.insert(cast(sa.Table, PortSecurityGroup.__table__))


async def _insert_with_mac(db: Runner, fields: dict[str, Any], network_id: str,
                           mac: str | None, pairs: Callable[[str], list[dict[str, str]]]
                           ) -> Port:
    """The port inserted with ``mac`` (409 when taken) or a random free one, and the
    allowed address ``pairs`` of its MAC."""
    for _ in range(_MAC_ATTEMPTS):
        drawn = mac or ipam.random_mac()
        values = {**fields, "mac_address": drawn, "allowed_address_pairs": pairs(drawn)}
        if isinstance(db, Plain):
            full = await insert_new(db, Port, values)
            row = None if full is None else loaded.from_values(Port, full)
        else:
            row = await insert_row(db, Port, values)
        if row is not None:
            return row
        if mac is not None:
            raise ipam.mac_address_in_use(network_id, mac)
    raise ConcurrentUpdate


async def update_port(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                      row: Port, data: dict[str, Any], revision: int | None) -> Port:
    check_revision(row, revision)
    _check_vnic(data)
    await _check_router_port_kept(db, row, data)
    for name in ("name", "description", "device_id", "device_owner"):
        if name in data:
            setattr(row, name, data[name] or "")
    if "admin_state_up" in data:
        row.admin_state_up = data["admin_state_up"]
    if "binding:profile" in data:
        row.binding_profile = data["binding:profile"] or {}
    if data.get("mac_address") is not None:
        await _change_mac(db, row, ipam.normalise_mac(data["mac_address"]))
    host = row.binding_host_id or ""
    if "binding:host_id" in data:
        set_binding(row, data["binding:host_id"])
    await _update_security(db, config, ctx, row, data)
    readdressed = False
    if data.get("fixed_ips") is not None:
        await _check_floating_ips_kept(db, row, data["fixed_ips"])
        readdressed = await _update_fixed_ips(db, config, row, data["fixed_ips"])
    touch(row)
    await db.flush()
    await provisioning.port_bound(db, row, previous_host=host, readdressed=readdressed)
    return row


async def _check_router_port_kept(db: AsyncSession, row: Port, data: dict[str, Any]) -> None:
    """A router's port stays the router's: its ``device_id`` and ``device_owner`` change
    only through the L3 API (removing the interface), never through /ports."""
    changes = any(name in data and (data[name] or "") != getattr(row, name)
                  for name in ("device_id", "device_owner"))
    if not changes:
        return
    owned = row.device_owner in SERVICE_PORT_OWNERS or await db.scalar(
        sa.select(RouterPort.router_id).where(RouterPort.port_id == row.id)) is not None
    if owned:
        raise NetworkConflict(
            "PortInUse", f"Unable to complete operation on port {row.id} for network "
            f"{row.network_id}. Port already has an attached device {row.device_id}.")


async def _check_floating_ips_kept(db: AsyncSession, row: Port,
                                   fixed_ips: list[dict[str, Any]]) -> None:
    """Neutron's ``prevent_internal_ip_change_for_fip``: an address a floating IP maps to
    stays on the port (named by ``ip_address``) while the floating IP is associated."""
    mapped = (await db.execute(sa.select(FloatingIP.fixed_ip_address).where(
        FloatingIP.fixed_port_id == row.id, FloatingIP.fixed_ip_address.is_not(None)))
    ).scalars().all()
    kept = {_canonical(str(ip["ip_address"])) for ip in fixed_ips if ip.get("ip_address")}
    if any(_canonical(str(address)) not in kept for address in mapped):
        raise BadNetworkRequest(
            "port", f"Cannot update the fixed_ips of the port {row.id}, because its "
            "original fixed_ip has been associated to a floating ip")


def _canonical(address: str) -> str:
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return address


async def _change_mac(db: AsyncSession, row: Port, mac: str) -> None:
    if mac == row.mac_address:
        return
    if row.binding_host_id:
        raise NetworkConflict(
            "PortBound", f"Unable to complete operation on port {row.id}, port is already "
            f"bound, port type: {row.binding_vif_type}, old_mac {row.mac_address}, "
            f"new_mac {mac}.")
    try:
        async with db.begin_nested():
            await db.execute(sa.update(Port).where(Port.id == row.id)
                             .values(mac_address=mac)
                             .execution_options(synchronize_session=False))
    except IntegrityError:
        raise ipam.mac_address_in_use(row.network_id, mac) from None
    row.mac_address = mac
    # The EUI-64 addresses follow the MAC, as Neutron's update does.
    held = (await addresses.fixed_ips_of(db, [row.id])).get(row.id, [])
    subnets = await addresses.network_subnets(db, row.network_id)
    auto = {w.subnets[0].id for w in addresses.auto_addresses(subnets, row.device_owner)}
    stale = [ip for ip in held if ip.subnet_id in auto]
    await addresses.release(db, row.id, stale)
    await db.flush()
    await addresses.allocate(db, row, addresses.auto_addresses(subnets, row.device_owner))


async def _update_security(db: AsyncSession, config: NetworkConfig, ctx: RequestContext,
                           row: Port, data: dict[str, Any]) -> None:
    current = (await security_groups_of(db, [row.id])).get(row.id, [])
    groups = current
    if "security_groups" in data:
        groups = await _check_security_groups(db, ctx, data["security_groups"] or [])
    if "allowed_address_pairs" in data:
        row.allowed_address_pairs = _pairs(config, data, row.mac_address)
    if "port_security_enabled" in data:
        row.port_security_enabled = data["port_security_enabled"]
    if not row.port_security_enabled and groups:
        if "security_groups" not in data and "port_security_enabled" in data:
            raise NetworkConflict(
                "PortSecurityPortHasSecurityGroup",
                "Port has security group associated. Cannot disable port security or IP "
                "address until security group is removed")
        _security_rules(False, groups, [])
    _security_rules(row.port_security_enabled, [], row.allowed_address_pairs or [])
    if groups != current:
        await db.execute(sa.delete(PortSecurityGroup).where(PortSecurityGroup.port_id == row.id))
        for group_id in groups:
            db.add(PortSecurityGroup(port_id=row.id, security_group_id=group_id))


async def _update_fixed_ips(db: AsyncSession, config: NetworkConfig, row: Port,
                            fixed_ips: list[dict[str, Any]]) -> bool:
    """The port's addresses as ``fixed_ips`` asks; whether any changed."""
    _check_fixed_ip_count(config, fixed_ips)
    held = (await addresses.fixed_ips_of(db, [row.id])).get(row.id, [])
    subnets = await addresses.network_subnets(db, row.network_id)
    change = addresses.plan_change(row.network_id, subnets, held, fixed_ips,
                                   device_owner=row.device_owner, mac_address=row.mac_address)
    await addresses.release(db, row.id, change.remove)
    await db.flush()
    await addresses.allocate(db, row, change.add)
    return bool(change.remove or change.add)


async def delete_port(db: AsyncSession, row: Port, revision: int | None,
                      leftovers: Leftovers = Leftovers()) -> None:
    """Delete ``row``; ``leftovers``: whether it has tags and floating IPs to clear, when
    :func:`port_to_delete` read that in this transaction (both, by default)."""
    check_revision(row, revision)
    if row.device_owner in SERVICE_PORT_OWNERS:
        raise NetworkConflict(
            "ServicePortInUse", f"Port {row.id} cannot be deleted directly via the port "
            f"API: has device owner {row.device_owner}.")
    if leftovers.tags:
        await drop_tags(db, [row.id])
    if leftovers.floating_ips:
        await run(db, _UNASSOCIATE_FLOATING_IPS, {"port_id": row.id})
    await delete_row(db, row)


# What goes with a port, built once: its floating IPs stay the project's, unassociated
# (Neutron's disassociate_floatingips). Its addresses, group memberships and provisioning
# blocks go with its row, by their foreign keys' ON DELETE CASCADE.
_UNASSOCIATE_FLOATING_IPS: Final = (
    sa.update(FloatingIP).where(FloatingIP.fixed_port_id == sa.bindparam("port_id"))
    .values(fixed_port_id=None, fixed_ip_address=None, router_id=None)
    .execution_options(synchronize_session=False))


async def fixed_ips_by_port(db: AsyncSession, port_ids: Ids) -> dict[str, list[dict[str, str]]]:
    """Each port's fixed IPs as its body shows them."""
    return await addresses.fixed_ip_bodies(db, port_ids)
