"""Ports as agents see them: bound to a host, wired there, and reported back.

A port's ``binding:host_id`` says which host's agent wires it (compute's conductor sets
it to the host a server lands on, as Nova does). :func:`set_binding` is what the ports
code calls whenever it sets or clears that host: the binding's ``vif_type`` and
``vif_details`` follow (:func:`ownstack.network.drivers.naming.binding_details`), and a
port that moves loses its ACTIVE status until it is provisioned again on its new host
(:mod:`.provisioning`: wired there, and its DHCP entry loaded).

:func:`host_ports` and :func:`port_info` are the desired state agents read over the bus
(``host_ports``, ``get_port``); :func:`report_status` applies an agent's ``port_status``,
and only while the port is still bound to that agent's host; :func:`report_dhcp_ready`
applies a DHCP agent's ``dhcp_ready``, and only for the networks it serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.network.drivers.naming import binding_details
from ownstack.network.objects import provisioning
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    IpAllocation,
    Network,
    NetworkAgent,
    Port,
    PortSecurityGroup,
)
from ownstack.network.objects.sg_members import (
    groups_and_addresses,
    rules_by_group,
)
from ownstack.network.rpc import ACTIVE, DOWN, DhcpReadyEntry, NetworkInfo, PortInfo

COMPUTE_OWNER_PREFIX = "compute:"


@dataclass(frozen=True)
class PortState:
    """What the agents and compute care about of a port, before and after a change: the
    ports code takes one before it changes a port and one after, and hands both to
    :meth:`ownstack.network.state.NetworkState.port_changed`."""

    id: str
    network_id: str
    host: str
    status: str
    device_owner: str
    device_id: str
    # What remote-group sets hold of the port; filled by :func:`port_state` only.
    security_groups: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()

    @classmethod
    def of(cls, port: Port) -> PortState:
        return cls(port.id, port.network_id, port.binding_host_id or "", port.status,
                   port.device_owner or "", port.device_id or "")

    @property
    def of_server(self) -> bool:
        return self.device_owner.startswith(COMPUTE_OWNER_PREFIX) and bool(self.device_id)


async def port_state(db: AsyncSession, port: Port) -> PortState:
    """:meth:`PortState.of` with the port's groups and addresses, so that a change of its
    memberships is seen (the ports API takes these before and after a change)."""
    await db.flush()
    # Its allowed address pairs are the row's own (port_addresses would read them again).
    return known_port_state(port, *await groups_and_addresses(db, port.id))


def known_port_state(port: Port, security_groups: Sequence[str], fixed_ips: Sequence[str]
                     ) -> PortState:
    """:func:`port_state` of a port whose groups and fixed IPs the caller knows (one it
    just made), without reading them again."""
    pairs = [str(pair["ip_address"]) for pair in port.allowed_address_pairs or []
             if pair.get("ip_address")]
    state = PortState.of(port)
    return PortState(state.id, state.network_id, state.host, state.status,
                     state.device_owner, state.device_id, tuple(sorted(security_groups)),
                     tuple(sorted({*fixed_ips, *pairs})))


def set_binding(port: Port, host: str | None) -> None:
    """Bind ``port`` to ``host`` (unbind it for empty or None): the binding's vif type and
    details follow, and a port that changes host goes DOWN until it is provisioned there
    (the API never sets ACTIVE; the ports code sets its blocks,
    :func:`.provisioning.port_bound`)."""
    host = host or ""
    if host != (port.binding_host_id or ""):
        port.status = DOWN
    port.binding_host_id = host
    port.binding_vif_type, port.binding_vif_details = binding_details(port.network_id, host)


def network_info(network: Network) -> NetworkInfo:
    return {"id": network.id, "network_type": network.network_type,
            "segmentation_id": network.segmentation_id,
            "physical_network": network.physical_network, "mtu": network.mtu,
            "admin_state_up": network.admin_state_up}


async def _infos(db: AsyncSession, ports: Sequence[Port]) -> list[PortInfo]:
    if not ports:
        return []
    ids = [port.id for port in ports]
    networks = {row.id: row for row in (await db.execute(sa.select(Network).where(
        Network.id.in_({port.network_id for port in ports})))).scalars()}
    addresses: dict[str, list[tuple[str, str]]] = {}
    for port_id, subnet_id, address in await db.execute(
            sa.select(IpAllocation.port_id, IpAllocation.subnet_id, IpAllocation.ip_address)
            .where(IpAllocation.port_id.in_(ids))
            .order_by(IpAllocation.subnet_id, IpAllocation.ip_address)):
        addresses.setdefault(port_id, []).append((subnet_id, address))
    groups: dict[str, list[str]] = {}
    for port_id, group_id in await db.execute(
            sa.select(PortSecurityGroup.port_id, PortSecurityGroup.security_group_id)
            .where(PortSecurityGroup.port_id.in_(ids))
            .order_by(PortSecurityGroup.security_group_id)):
        groups.setdefault(port_id, []).append(group_id)
    rules = await rules_by_group(db, {g for found in groups.values() for g in found})
    return [{
        "id": port.id, "network_id": port.network_id, "host": port.binding_host_id or "",
        "status": port.status, "mac_address": port.mac_address,
        "admin_state_up": port.admin_state_up, "device_owner": port.device_owner or "",
        "device_id": port.device_id or "",
        "fixed_ips": [{"subnet_id": subnet, "ip_address": address}
                      for subnet, address in addresses.get(port.id, [])],
        "security_groups": groups.get(port.id, []),
        "security_group_rules": {group_id: rules.get(group_id, [])
                                 for group_id in groups.get(port.id, [])},
        "port_security_enabled": port.port_security_enabled,
        "allowed_address_pairs": [
            {"ip_address": str(pair.get("ip_address", "")),
             "mac_address": str(pair.get("mac_address") or port.mac_address)}
            for pair in port.allowed_address_pairs or []],
        "network": network_info(networks[port.network_id]),
    } for port in ports if port.network_id in networks]


async def host_ports(db: AsyncSession, host: str) -> list[PortInfo]:
    """Every port bound to ``host``, as its agent needs it."""
    if not host:
        return []
    ports = (await db.execute(sa.select(Port).where(Port.binding_host_id == host)
                              .order_by(Port.id))).scalars().all()
    return await _infos(db, ports)


async def host_networks(db: AsyncSession, host: str) -> list[NetworkInfo]:
    """The networks of the ports bound to ``host``."""
    if not host:
        return []
    rows = (await db.execute(sa.select(Network).where(Network.id.in_(
        sa.select(Port.network_id).where(Port.binding_host_id == host)))
        .order_by(Network.id))).scalars().all()
    return [network_info(row) for row in rows]


async def port_info(db: AsyncSession, port_id: str) -> PortInfo | None:
    port = await db.get(Port, port_id)
    if port is None:
        return None
    infos = await _infos(db, [port])
    return infos[0] if infos else None


async def hosts_of_network(db: AsyncSession, network_id: str) -> list[str]:
    """The hosts with a port bound on ``network_id``: whose agents a change concerns."""
    rows = await db.execute(sa.select(Port.binding_host_id).distinct().where(
        Port.network_id == network_id, Port.binding_host_id != ""))
    return sorted(host for host in rows.scalars() if host)


async def report_status(db: AsyncSession, port_id: str, host: str, status: str
                        ) -> tuple[PortState, PortState] | None:
    """Apply the status an agent reports, if the port is still bound to its host: the
    port before and after, or None when the report does not apply (the port is gone or
    bound elsewhere). ACTIVE clears the port's ``L2`` block, and the port is ACTIVE only
    if nothing else blocks it (its DHCP entry, :mod:`.provisioning`); DOWN blocks it
    again. A status it already has changes nothing (no new revision)."""
    if status not in (ACTIVE, DOWN):
        raise ValueError(f"a port's status is ACTIVE or DOWN, not {status!r}")
    port = await db.get(Port, port_id, with_for_update=True)
    if port is None or not host or port.binding_host_id != host:
        return None
    before = PortState.of(port)
    if status == ACTIVE:
        await provisioning.complete(db, port, provisioning.L2)
    else:
        await provisioning.reopen(db, port, provisioning.L2)
    return before, PortState.of(port)


async def report_dhcp_ready(db: AsyncSession, host: str, entries: Sequence[DhcpReadyEntry]
                            ) -> tuple[list[str], list[tuple[PortState, PortState]]]:
    """The DHCP server of ``host`` has loaded these host entries: the ``DHCP`` block of
    each port whose network ``host`` serves and whose entry is the port's as it is now
    (its MAC and every fixed IP; an entry of addresses the port no longer holds clears
    nothing) goes. The ports whose block went, and (before, after) of each port that is
    now ACTIVE."""
    wanted = {str(entry["port_id"]): entry for entry in entries}
    if not wanted or not host:
        return [], []
    ports = list((await db.execute(sa.select(Port).where(Port.id.in_(sorted(wanted)))
                                   .order_by(Port.id).with_for_update())).scalars())
    held: dict[str, set[str]] = {}
    for port_id, address in await db.execute(
            sa.select(IpAllocation.port_id, IpAllocation.ip_address)
            .where(IpAllocation.port_id.in_([port.id for port in ports]))):
        held.setdefault(port_id, set()).add(address)
    served = await _served_networks(db, host, {port.network_id for port in ports})
    cleared: list[str] = []
    changes = []
    for port in ports:
        entry = wanted[port.id]
        if (port.network_id not in served or entry["mac_address"] != port.mac_address
                or set(entry["ip_addresses"]) != held.get(port.id, set())):
            continue
        if provisioning.DHCP not in await provisioning.blocks(db, port.id, lock=True):
            continue
        before = PortState.of(port)
        await provisioning.complete(db, port, provisioning.DHCP)
        cleared.append(port.id)
        if port.status != before.status:
            changes.append((before, PortState.of(port)))
    return cleared, changes


async def _served_networks(db: AsyncSession, host: str, network_ids: set[str]) -> set[str]:
    """Those of ``network_ids`` whose DHCP the agent of ``host`` serves."""
    if not network_ids:
        return set()
    return set((await db.execute(
        sa.select(DhcpAgentBinding.network_id)
        .join(NetworkAgent, NetworkAgent.id == DhcpAgentBinding.agent_id)
        .where(NetworkAgent.host == host,
               DhcpAgentBinding.network_id.in_(sorted(network_ids))))).scalars())


async def release_unserved(db: AsyncSession, network_id: str
                           ) -> list[tuple[PortState, PortState]]:
    """When no DHCP agent serves ``network_id`` (any more): its ports' ``DHCP`` blocks
    are void and go; (before, after) of each port that is now ACTIVE."""
    if await provisioning.dhcp_served(db, network_id):
        return []
    waiting = await provisioning.waiting_for(db, network_id, provisioning.DHCP)
    if not waiting:
        return []
    changes = []
    for port in (await db.execute(sa.select(Port).where(Port.id.in_(waiting))
                                  .order_by(Port.id).with_for_update())).scalars():
        before = PortState.of(port)
        await provisioning.settle(db, port)
        if port.status != before.status:
            changes.append((before, PortState.of(port)))
    return changes
