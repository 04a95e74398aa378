"""Security groups as agents need them: each port's rules, each group's members, and which
hosts a change of either concerns.

A rule with a ``remote_group_id`` matches the addresses of the ports in that group (their
fixed IPs and allowed address pairs, bound anywhere), as Neutron's ``sg_members``. The
network service answers ``group_members`` with them, and after a change nudges only the
hosts concerned (:mod:`ownstack.network.rpc_handlers`): a rule change goes to the hosts of
the group's ports; a membership change to the hosts of ports whose rules name the group.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.core import Runner, run
from ownstack.network.objects.models import (
    IpAllocation,
    Port,
    PortSecurityGroup,
    SecurityGroupRule,
)
from ownstack.network.rpc import MembersInfo, RuleInfo

CHUNK: Final = 500     # group ids in one statement


def _chunks(ids: Collection[str]) -> Iterable[list[str]]:
    items = sorted(set(ids))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


async def rules_by_group(db: AsyncSession, group_ids: Collection[str]
                         ) -> dict[str, list[RuleInfo]]:
    """Each group's rules, oldest first, as agents read them."""
    found: dict[str, list[RuleInfo]] = {}
    for chunk in _chunks(group_ids):
        rows = await db.execute(sa.select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_(chunk))
            .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))
        for rule in rows.scalars():
            found.setdefault(rule.security_group_id, []).append({
                "direction": rule.direction, "ethertype": rule.ethertype,
                "protocol": rule.protocol, "port_range_min": rule.port_range_min,
                "port_range_max": rule.port_range_max,
                "remote_ip_prefix": rule.remote_ip_prefix,
                "remote_group_id": rule.remote_group_id})
    return found


async def group_members(db: AsyncSession, group_ids: Collection[str]
                        ) -> dict[str, MembersInfo]:
    """The addresses of the ports in each group, IPv4 and IPv6, sorted; every asked group
    is in the answer (with no members when it has none or does not exist)."""
    members: dict[str, MembersInfo] = {gid: {"v4": [], "v6": []} for gid in set(group_ids)}
    for chunk in _chunks(group_ids):
        ports: dict[str, list[str]] = {}
        for port_id, group_id in await db.execute(
                sa.select(PortSecurityGroup.port_id, PortSecurityGroup.security_group_id)
                .where(PortSecurityGroup.security_group_id.in_(chunk))):
            ports.setdefault(port_id, []).append(group_id)
        addresses = await port_addresses(db, list(ports))
        for port_id, groups in ports.items():
            for group_id in groups:
                for address in addresses.get(port_id, ()):
                    version = ipaddress.ip_network(address, strict=False).version
                    members[group_id]["v4" if version == 4 else "v6"].append(address)
    for found in members.values():
        found["v4"] = sorted(set(found["v4"]))
        found["v6"] = sorted(set(found["v6"]))
    return members


async def port_addresses(db: AsyncSession, port_ids: Collection[str]
                         ) -> dict[str, tuple[str, ...]]:
    """Each port's fixed IPs and allowed address pair IPs (or CIDRs), sorted."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(port_ids):
        for port_id, address in await db.execute(
                sa.select(IpAllocation.port_id, IpAllocation.ip_address)
                .where(IpAllocation.port_id.in_(chunk))):
            found.setdefault(port_id, set()).add(address)
        for port_id, pairs in await db.execute(
                sa.select(Port.id, Port.allowed_address_pairs).where(Port.id.in_(chunk))):
            for pair in pairs or []:
                if pair.get("ip_address"):
                    found.setdefault(port_id, set()).add(str(pair["ip_address"]))
    return {port_id: tuple(sorted(addresses)) for port_id, addresses in found.items()}


async def groups_and_addresses(db: AsyncSession, port_id: str
                               ) -> tuple[list[str], list[str]]:
    """The port's security groups and its fixed IPs (without its allowed address pairs),
    in one statement: every port change reads them, before and after."""
    groups: list[str] = []
    fixed: list[str] = []
    for group_id, address in await run(db, _GROUPS_AND_ADDRESSES, {"port_id": port_id}):
        if group_id is not None:
            groups.append(group_id)
        else:
            fixed.append(address)
    return groups, fixed


# Built once: the port's groups' rows, then its addresses' (a NULL in the other column).
_GROUPS_AND_ADDRESSES: Final = sa.union_all(
    sa.select(PortSecurityGroup.security_group_id,
              sa.cast(sa.null(), IpAllocation.ip_address.type).label("ip_address"))
    .where(PortSecurityGroup.port_id == sa.bindparam("port_id")),
    sa.select(sa.cast(sa.null(), PortSecurityGroup.security_group_id.type),
              IpAllocation.ip_address)
    .where(IpAllocation.port_id == sa.bindparam("port_id")))


async def hosts_in_groups(db: AsyncSession, group_ids: Collection[str]) -> set[str]:
    """The hosts with a port bound in one of ``group_ids``: whose rules they are."""
    return await _bound_hosts(db, _HOSTS_IN_GROUPS, group_ids)


async def hosts_matching_groups(db: Runner, group_ids: Collection[str]) -> set[str]:
    """The hosts with a port bound in a group with a rule whose ``remote_group_id`` is
    one of ``group_ids``: the hosts that hold those groups' members."""
    return await _bound_hosts(db, _HOSTS_MATCHING_GROUPS, group_ids)


async def _bound_hosts(db: Runner, statement: sa.Select[Any],
                       group_ids: Collection[str]) -> set[str]:
    hosts: set[str] = set()
    for chunk in _chunks(group_ids):
        rows = await run(db, statement, {"group_ids": chunk})
        hosts.update(host for host in rows.scalars() if host)
    return hosts


# Built once, the groups bound when they run: every port create, update and delete asks
# (building and cache-keying the statement cost more than running it). They start from
# the bound ports (``binding_host_id > ''``, a range of its index: none at all on a cloud
# without agents) and ask of each whether it is in one of the groups, rather than
# reading every member of the groups (a project's default group holds all its ports).
_GROUP_IDS: Final[Any] = sa.bindparam("group_ids", expanding=True)
_HOSTS_IN_GROUPS: Final = sa.select(Port.binding_host_id).distinct().where(
    Port.binding_host_id > "",
    sa.exists().where(PortSecurityGroup.port_id == Port.id,
                      PortSecurityGroup.security_group_id.in_(_GROUP_IDS)))
# A bound port in a group with a rule whose remote group is one of ``group_ids`` (also
# read by dhcp.port_change_lookup, with the DHCP lookup of the same port change).
BOUND_MATCHING_GROUPS: Final = (
    Port.binding_host_id > "",
    sa.exists().where(PortSecurityGroup.port_id == Port.id,
                      PortSecurityGroup.security_group_id.in_(
                          sa.select(SecurityGroupRule.security_group_id).where(
                              SecurityGroupRule.remote_group_id.in_(_GROUP_IDS)))))
_HOSTS_MATCHING_GROUPS: Final = sa.select(Port.binding_host_id).distinct().where(
    *BOUND_MATCHING_GROUPS)


async def groups_naming(db: AsyncSession, group_id: str) -> set[str]:
    """The groups with a rule whose ``remote_group_id`` is ``group_id`` (other than it)."""
    rows = await db.execute(sa.select(SecurityGroupRule.security_group_id).distinct().where(
        SecurityGroupRule.remote_group_id == group_id))
    return {gid for gid in rows.scalars() if gid != group_id}
