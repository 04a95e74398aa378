"""Ports as agents see them: bound to a host, wired there, and reported back.

A port's ``binding:host_id`` says which host's agent wires it (compute's conductor sets
it to the host a server lands on, as Nova does). :func:`set_binding` is what the ports
code calls whenever it sets or clears that host: the binding's ``vif_type`` and
``vif_details`` follow (:func:`ownstack.network.drivers.naming.binding_details`), and a
port that moves loses its ACTIVE status until the new host's agent reports it wired.

:func:`host_ports` and :func:`port_info` are the desired state agents read over the bus
(``host_ports``, ``get_port``); :func:`report_status` applies an agent's ``port_status``,
and only while the port is still bound to that agent's host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.network.drivers.naming import binding_details
from ownstack.network.objects.models import (
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
)
from ownstack.network.objects.sg_members import port_addresses, port_groups, rules_by_group
from ownstack.network.objects.standard import touch
from ownstack.network.rpc import ACTIVE, DOWN, NetworkInfo, PortInfo

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
    addresses = (await port_addresses(db, [port.id])).get(port.id, ())
    return known_port_state(port, await port_groups(db, port.id), addresses)


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
    details follow, and a port that changes host goes DOWN until the agent of its new host
    reports it wired (the API never sets ACTIVE)."""
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
    """Set the status an agent reports, if the port is still bound to its host: the port
    before and after, or None when the report does not apply (the port is gone or bound
    elsewhere). A status it already has changes nothing (no new revision)."""
    if status not in (ACTIVE, DOWN):
        raise ValueError(f"a port's status is ACTIVE or DOWN, not {status!r}")
    port = await db.get(Port, port_id, with_for_update=True)
    if port is None or not host or port.binding_host_id != host:
        return None
    before = PortState.of(port)
    if port.status != status:
        port.status = status
        touch(port)
    return before, PortState.of(port)
