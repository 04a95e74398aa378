"""DHCP in the control plane, as Neutron's DHCP agent scheduler and RPC do it.

A network with a DHCP-enabled subnet is served by one network agent whose driver has the
DHCP capability (it reports ``capabilities.supports_dhcp`` in its ``configurations``):
Neutron's network scheduler picks the alive, enabled agent serving the fewest networks,
and the choice is a :class:`~.models.DhcpAgentBinding` row. That agent's host gets the
network's DHCP port: ``device_owner`` ``network:dhcp``, ``device_id``
``dhcp<uuid5(host)>-<network_id>`` as Neutron's agents name it, bound to the host, one
address on each DHCP-enabled subnet taken from the pools as any port's. It is made, given
addresses and removed by the same code as the API's ports (:mod:`.ports`).

:func:`sync_network` is the one entry: the subnet handlers call it in the transaction
that changed a subnet, and the ``dhcp_networks`` call of an agent for every network that
has DHCP subnets but no agent yet (one made before any agent was alive). Races are
settled by the binding's primary key (two schedulers) and by locking the binding row
before the DHCP port is looked for (two subnet changes at once).

:func:`network_info` is what the serving agent reads (``get_dhcp_network``): everything
dnsmasq needs, from the rows, and the ports whose ``DHCP`` provisioning block waits for
its ``dhcp_ready`` (:mod:`.provisioning`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import OwnstackError
from ownstack.network import ipam
from ownstack.network.errors import ConcurrentUpdate
from ownstack.network.objects import addresses, agents, ports, provisioning, sg_members
from ownstack.network.objects.bindings import network_info as network_spec_info
from ownstack.network.objects.inserts import insert_row
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    IpAllocation,
    Network,
    NetworkAgent,
    Port,
    ProvisioningBlock,
    Subnet,
)
from ownstack.network.rpc import (
    AGENT_TYPE,
    DhcpHostInfo,
    DhcpNetworkInfo,
    DhcpSubnetInfo,
    FixedIpInfo,
)

log = logging.getLogger(__name__)

DHCP_OWNER: Final = "network:dhcp"
DHCP_CAPABILITY: Final = "supports_dhcp"        # drivers.base.Capability.DHCP's value
_SERVICE = RequestContext(request_id="req-dhcp-scheduler", roles=("admin",))


# Whether a network's DHCP serving has nothing to change nor anyone to nudge: no agent
# at all (so none bound to it, a binding going with its agent, and none to bind it to),
# no DHCP port on it, no port of it waiting for DHCP. A column of a select of ``Network``
# (correlated to it). A subnet create on SQLite reads it with its network: its write
# transaction holds the one write lock from its start, so what it read is still so at its
# commit, and it then neither schedules (:func:`sync_network` would find no agent and no
# DHCP port) nor looks up the DHCP host after the commit (decision 85).
IDLE: Final = sa.and_(
    ~sa.select(NetworkAgent.id).exists(),
    ~sa.exists().where(Port.network_id == Network.id, Port.device_owner == DHCP_OWNER),
    ~provisioning.waiting_for_dhcp(Network.id)).label("dhcp_idle")


def dhcp_device_id(host: str, network_id: str) -> str:
    """Neutron's ``device_id`` of a host's DHCP port on a network."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


def hostname(fixed_ips: Sequence[FixedIpInfo]) -> str:
    """Neutron's default DNS name of a port: ``host-`` and its first address, dashed."""
    if not fixed_ips:
        return ""
    first = next((ip["ip_address"] for ip in fixed_ips if ":" not in ip["ip_address"]),
                 fixed_ips[0]["ip_address"])
    return "host-" + first.replace(".", "-").replace(":", "-")


def can_serve(agent: NetworkAgent, now: datetime, down_time: float) -> bool:
    caps = (agent.configurations or {}).get("capabilities") or {}
    return (agent.agent_type == AGENT_TYPE and agent.admin_state_up
            and bool(caps.get(DHCP_CAPABILITY)) and agents.is_alive(agent, now, down_time))


async def pick_agent(db: AsyncSession, down_time: float) -> NetworkAgent | None:
    """The alive, enabled DHCP-capable agent serving the fewest networks (ties: by host)."""
    now = utcnow()
    candidates = [row for row in (await db.execute(sa.select(NetworkAgent))).scalars()
                  if can_serve(row, now, down_time)]
    if not candidates:
        return None
    load = {agent_id: count for agent_id, count in await db.execute(
        sa.select(DhcpAgentBinding.agent_id, sa.func.count())
        .group_by(DhcpAgentBinding.agent_id))}
    return min(candidates, key=lambda row: (load.get(row.id, 0), row.host))


async def serving_host(db: AsyncSession, network_id: str) -> str | None:
    """The host of the agent bound to serve the network's DHCP, if any."""
    host: str | None = (await run(db, _SERVING_HOST, {"network_id": network_id})).scalar()
    return host


async def serving_or_waiting(db: Runner, network_id: str
                             ) -> tuple[str | None, list[str]]:
    """The host serving the network's DHCP (:func:`serving_host`) and, when there is
    none, the ports still waiting for DHCP on it, by id (``provisioning.waiting_for``):
    one statement, as every port change asks."""
    host: str | None = None
    waiting: list[str] = []
    for serving, port_id in await run(db, _SERVING_OR_WAITING, {
            "network_id": network_id, "entity": provisioning.DHCP}):
        if serving is not None:
            host = serving
        else:
            waiting.append(port_id)
    if host is not None:
        return host, []
    waiting.sort()
    return None, waiting


async def port_change_lookup(db: Runner, group_ids: Collection[str], network_id: str
                             ) -> tuple[set[str], str | None, list[str]]:
    """What a port change nudges: the hosts holding members of ``group_ids``
    (``sg_members.hosts_matching_groups``), and the network's DHCP host or, when none,
    the ports waiting for DHCP on it (:func:`serving_or_waiting`); one statement for up
    to ``sg_members``' chunk of groups, as every port create, update and delete asks."""
    if len(group_ids) > sg_members.CHUNK:
        return (await sg_members.hosts_matching_groups(db, group_ids),
                *await serving_or_waiting(db, network_id))
    hosts: set[str] = set()
    serving: str | None = None
    waiting: list[str] = []
    for member_host, host, port_id in await run(db, _PORT_CHANGE_LOOKUP, {
            "group_ids": sorted(group_ids), "network_id": network_id,
            "entity": provisioning.DHCP}):
        if member_host is not None:
            hosts.add(member_host)
        elif host is not None:
            serving = host
        else:
            waiting.append(port_id)
    if serving is not None:
        return hosts, serving, []
    waiting.sort()
    return hosts, None, waiting


# Built once: every port change asks.
_SERVING_HOST: Final = sa.select(NetworkAgent.host).join(
    DhcpAgentBinding, DhcpAgentBinding.agent_id == NetworkAgent.id).where(
    DhcpAgentBinding.network_id == sa.bindparam("network_id"))
# The serving host's row (a host, no port), else the waiting ports' (no host, a port).
_SERVING_OR_WAITING: Final = sa.union_all(
    sa.select(NetworkAgent.host, sa.cast(sa.null(), sa.String(36)).label("port_id")).join(
        DhcpAgentBinding, DhcpAgentBinding.agent_id == NetworkAgent.id).where(
        DhcpAgentBinding.network_id == sa.bindparam("network_id")),
    # From the blocks (the ports not yet provisioned), each asked whether its port is on
    # the network, rather than from every port of the network.
    sa.select(sa.cast(sa.null(), sa.String(255)), ProvisioningBlock.port_id)
    .where(ProvisioningBlock.entity == sa.bindparam("entity"),
           sa.exists().where(Port.id == ProvisioningBlock.port_id,
                             Port.network_id == sa.bindparam("network_id")),
           ~_SERVING_HOST.exists()))
# The rows of port_change_lookup: a member's host, the serving host, a waiting port.
_PORT_CHANGE_LOOKUP: Final = sa.union_all(
    sa.select(Port.binding_host_id, sa.cast(sa.null(), sa.String(255)),
              sa.cast(sa.null(), sa.String(36))).distinct()
    .where(*sg_members.BOUND_MATCHING_GROUPS),
    sa.select(sa.cast(sa.null(), sa.String(255)), _SERVING_OR_WAITING.subquery()))


async def agent_networks(db: AsyncSession, agent_id: str) -> list[Network]:
    """The networks whose DHCP the agent serves (``/v2.0/agents/{id}/dhcp-networks``)."""
    return list((await db.execute(sa.select(Network).join(
        DhcpAgentBinding, DhcpAgentBinding.network_id == Network.id).where(
        DhcpAgentBinding.agent_id == agent_id).order_by(Network.id))).scalars().all())


async def network_agents(db: AsyncSession, network_id: str) -> list[NetworkAgent]:
    """The agents serving the network's DHCP (``/v2.0/networks/{id}/dhcp-agents``)."""
    return list((await db.execute(sa.select(NetworkAgent).join(
        DhcpAgentBinding, DhcpAgentBinding.agent_id == NetworkAgent.id).where(
        DhcpAgentBinding.network_id == network_id))).scalars().all())


async def _binding(db: AsyncSession, network_id: str, down_time: float
                   ) -> tuple[DhcpAgentBinding, str] | None:
    """The network's binding, locked, and its host; made now if there is none and an
    agent can serve."""
    query = (sa.select(DhcpAgentBinding, NetworkAgent.host)
             .join(NetworkAgent, NetworkAgent.id == DhcpAgentBinding.agent_id)
             .where(DhcpAgentBinding.network_id == network_id).with_for_update())
    found = (await db.execute(query)).one_or_none()
    if found is not None:
        return found[0], found[1]
    agent = await pick_agent(db, down_time)
    if agent is None:
        return None
    await insert_row(db, DhcpAgentBinding, {"network_id": network_id, "agent_id": agent.id,
                                            "created_at": utcnow()})
    # Ours, or the one a concurrent scheduler inserted first.
    found = (await db.execute(query)).one_or_none()
    return None if found is None else (found[0], found[1])


async def _dhcp_ports(db: AsyncSession, network_id: str) -> list[Port]:
    return list((await db.execute(sa.select(Port).where(
        Port.network_id == network_id, Port.device_owner == DHCP_OWNER)
        .order_by(Port.id))).scalars().all())


async def sync_network(db: AsyncSession, config: NetworkConfig, network_id: str,
                       subnets: Sequence[Subnet] | None = None) -> set[str]:
    """Bring the network's DHCP serving in line with its subnets, in the caller's
    transaction: bound to an agent with its DHCP port holding one address per DHCP
    subnet while it has one, unbound with no DHCP port when none. Returns the hosts whose
    agents should look again (the serving one, and one that lost the network).
    ``subnets``: the network's subnets as ``addresses.network_subnets`` reads them, when
    the caller has just read them in this transaction."""
    network = await db.get(Network, network_id)
    if network is None:
        return set()
    if subnets is None:
        subnets = await addresses.network_subnets(db, network_id)
    dhcp_subnets = [subnet for subnet in subnets if subnet.enable_dhcp]
    touched: set[str] = set()
    bound = await _binding(db, network_id, config.agent_down_time) if dhcp_subnets else None
    if not dhcp_subnets:
        host = await serving_host(db, network_id)
        await db.execute(sa.delete(DhcpAgentBinding).where(
            DhcpAgentBinding.network_id == network_id))
        if host:
            touched.add(host)
    wanted_device = dhcp_device_id(bound[1], network_id) if bound is not None else None
    keep: Port | None = None
    for port in await _dhcp_ports(db, network_id):
        if port.device_id == wanted_device and keep is None:
            keep = port
            continue
        if port.binding_host_id:
            touched.add(port.binding_host_id)
        await ports.delete_port(db, port, None)
        await db.flush()
    if bound is None:
        return touched
    host = bound[1]
    touched.add(host)
    try:
        async with db.begin_nested():
            await _ensure_port(db, config, network, keep, host,
                               dhcp_device_id(host, network_id),
                               dhcp_subnets[:config.max_fixed_ips_per_port])
    except ConcurrentUpdate:
        raise                       # the caller's transaction runs again
    except OwnstackError as exc:
        # A DHCP port that cannot be had (every address taken) never fails the subnet
        # change that asked for it; the network goes unserved until one can be made.
        log.warning("network %s: no DHCP port on %s: %s", network_id, host, exc)
    return touched


async def _ensure_port(db: AsyncSession, config: NetworkConfig, network: Network,
                       port: Port | None, host: str, device_id: str,
                       subnets: Sequence[Subnet]) -> None:
    """The DHCP port made, or given an address on each of ``subnets`` and no other."""
    wanted = [{"subnet_id": subnet.id} for subnet in subnets]
    if port is None:
        await ports.create_port(db, config, _SERVICE, ports.NewPort(
            str(uuid.uuid4()), network.project_id, network, {
                "network_id": network.id, "device_owner": DHCP_OWNER,
                "device_id": device_id, "binding:host_id": host, "fixed_ips": wanted,
                "admin_state_up": True}))
        return
    held = (await addresses.fixed_ips_of(db, [port.id])).get(port.id, [])
    ids = {subnet.id for subnet in subnets}
    kept = [ip.as_dict() for ip in held if ip.subnet_id in ids]
    have = {ip["subnet_id"] for ip in kept}
    missing = [item for item in wanted if item["subnet_id"] not in have]
    if missing or len(kept) != len(held) or port.binding_host_id != host:
        await ports.update_port(db, config, _SERVICE, port, {
            "fixed_ips": kept + missing, "binding:host_id": host}, None)


async def host_networks(db: AsyncSession, config: NetworkConfig, host: str
                        ) -> tuple[list[DhcpNetworkInfo], dict[str, set[str]]]:
    """Every network ``host`` serves, after giving an agent to each DHCP network that
    has none (Neutron's auto-scheduling when an agent asks), and the hosts to nudge for
    the networks scheduled meanwhile (another agent may have got them)."""
    nudges: dict[str, set[str]] = {}
    unserved = (await db.execute(sa.select(Subnet.network_id).distinct().where(
        Subnet.enable_dhcp.is_(True),
        Subnet.network_id.not_in(sa.select(DhcpAgentBinding.network_id))))).scalars().all()
    for network_id in sorted(unserved):
        nudges[network_id] = await sync_network(db, config, network_id)
    served = (await db.execute(sa.select(DhcpAgentBinding.network_id).join(
        NetworkAgent, NetworkAgent.id == DhcpAgentBinding.agent_id).where(
        NetworkAgent.host == host).order_by(DhcpAgentBinding.network_id))).scalars().all()
    found = []
    for network_id in served:
        info = await network_info(db, network_id, host)
        if info is None:            # its DHCP port deleted by hand: made again
            nudges[network_id] = await sync_network(db, config, network_id)
            info = await network_info(db, network_id, host)
        if info is not None:
            found.append(info)
    return found, {network_id: hosts - {host} for network_id, hosts in nudges.items()
                   if hosts - {host}}


async def network_info(db: AsyncSession, network_id: str, host: str
                       ) -> DhcpNetworkInfo | None:
    """What ``host``'s DHCP server of the network needs; None unless ``host`` serves it
    and its DHCP port exists.

    Read for every change of every port of the network (the agent is level-triggered), so
    in three statements, the ports as columns rather than ORM objects: the network with
    its serving host, its ports each with its addresses (in the order of
    :func:`.addresses.fixed_ips_of`) and whether its ``DHCP`` block waits, its subnets."""
    found = (await db.execute(
        sa.select(Network, NetworkAgent.host)
        .outerjoin(DhcpAgentBinding, DhcpAgentBinding.network_id == Network.id)
        .outerjoin(NetworkAgent, NetworkAgent.id == DhcpAgentBinding.agent_id)
        .where(Network.id == network_id))).one_or_none()
    if found is None or found[1] != host:
        return None
    network = found[0]
    device_id = dhcp_device_id(host, network_id)
    waits = sa.exists().where(ProvisioningBlock.port_id == Port.id,
                              ProvisioningBlock.entity == provisioning.DHCP)
    rows = (await db.execute(
        sa.select(Port.id, Port.mac_address, Port.device_owner, Port.device_id,
                  Port.status, IpAllocation.subnet_id, IpAllocation.ip_address,
                  waits.label("waits"))
        .outerjoin(IpAllocation, IpAllocation.port_id == Port.id)
        .outerjoin(Subnet, Subnet.id == IpAllocation.subnet_id)
        .where(Port.network_id == network_id)
        .order_by(Port.id, Subnet.created_at, Subnet.id, IpAllocation.ip_address))).all()
    by_port: dict[str, Any] = {}                    # port id -> its first row
    fixed: dict[str, list[FixedIpInfo]] = {}
    for row in rows:
        by_port.setdefault(row.id, row)
        held = fixed.setdefault(row.id, [])
        if row.subnet_id is not None:
            held.append({"subnet_id": row.subnet_id, "ip_address": row.ip_address})
    dhcp_port = next((port for port in by_port.values() if port.device_owner == DHCP_OWNER
                      and port.device_id == device_id), None)
    if dhcp_port is None:
        return None
    subnets = await addresses.network_subnets(db, network_id)
    routed = {(ip["subnet_id"], ip["ip_address"]) for port in by_port.values()
              if port.device_owner in ipam.ROUTER_INTERFACE_OWNERS for ip in fixed[port.id]}
    hosts: list[DhcpHostInfo] = [
        {"port_id": port.id, "mac_address": port.mac_address, "fixed_ips": fixed[port.id],
         "hostname": hostname(fixed[port.id])}
        for port in by_port.values() if port.device_owner != DHCP_OWNER and fixed[port.id]]
    return {
        "network": network_spec_info(network), "host": host,
        "port": {"id": dhcp_port.id, "mac_address": dhcp_port.mac_address,
                 "fixed_ips": fixed[dhcp_port.id], "status": dhcp_port.status},
        "subnets": [_subnet_info(subnet, (subnet.id, subnet.gateway_ip) in routed)
                    for subnet in subnets],
        "hosts": hosts,
        "waiting": [port.id for port in by_port.values() if port.waits],
    }


def _subnet_info(subnet: Subnet, has_router: bool) -> DhcpSubnetInfo:
    return {"id": subnet.id, "cidr": subnet.cidr, "ip_version": subnet.ip_version,
            "gateway_ip": subnet.gateway_ip, "enable_dhcp": subnet.enable_dhcp,
            "dns_nameservers": list(subnet.dns_nameservers or []),
            "host_routes": [{"destination": r["destination"], "nexthop": r["nexthop"]}
                            for r in subnet.host_routes or []],
            "allocation_pools": [{"start": p["start"], "end": p["end"]}
                                 for p in subnet.allocation_pools or []],
            "ipv6_ra_mode": subnet.ipv6_ra_mode,
            "ipv6_address_mode": subnet.ipv6_address_mode, "has_router": has_router}
