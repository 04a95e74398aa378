"""Networks: who sees which, their VXLAN segment, and the rules of change and delete.

A project sees its own networks, shared ones and external ones; an admin sees all. Each
tenant network takes a VXLAN id (VNI) from ``network.vni_min..vni_max``: the insert
carries it and the unique ``(network_type, segmentation_id)`` settles a race, so two
networks never share one, on any database. A flat network (the external one, bridged
straight onto a host bridge) takes its physical network instead, one network each.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import CachedJSON, UTCTimeText
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import OwnstackError
from ownstack.network.errors import (
    InUse,
    InvalidInput,
    NetworkConflict,
    NoNetworkAvailable,
    ResourceNotFound,
)
from ownstack.network.objects import quotas, rbac
from ownstack.network.objects.inserts import Within, insert_row, is_sqlite
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
from ownstack.network.objects.models import Network, Port, RbacPolicy, Subnet, Tag
from ownstack.network.objects.standard import check_revision, delete_row, touch

VXLAN: Final = "vxlan"
FLAT: Final = "flat"
NETWORK_TYPES: Final = (VXLAN, FLAT)
VXLAN_OVERHEAD: Final = 50
MIN_MTU: Final = 68                      # IPv4's minimum; Neutron refuses less
MAX_VNI: Final = 2**24 - 1
# Ports the network service made itself; they do not keep a network "in use".
SERVICE_OWNERS: Final = ("network:dhcp",)
_ATTEMPTS: Final = 16

NETWORKS = Kind(name="network", collection="networks", model=Network, fields={
    "id": Field(Network.id),
    "name": Field(Network.name),
    "description": Field(Network.description),
    "project_id": Field(Network.project_id),
    "tenant_id": Field(Network.project_id),
    "admin_state_up": Field(Network.admin_state_up, as_bool),
    "status": Field(Network.status),
    "shared": Field(Network.shared, as_bool),
    "router:external": Field(Network.external, as_bool),
    "is_default": Field(Network.is_default, as_bool),
    "mtu": Field(Network.mtu, as_int),
    "port_security_enabled": Field(Network.port_security_enabled, as_bool),
    "provider:network_type": Field(Network.network_type),
    "provider:physical_network": Field(Network.physical_network),
    "provider:segmentation_id": Field(Network.segmentation_id, as_int),
    "revision_number": Field(Network.revision_number, as_int),
    "created_at": Field(Network.created_at, sortable=True),
    "updated_at": Field(Network.updated_at, sortable=True),
})
# What only an admin may filter on or see.
PROVIDER_FIELDS: Final = ("provider:network_type", "provider:physical_network",
                          "provider:segmentation_id")


class ListedNetwork(NamedTuple):
    """What the network view reads of a network, as a listing reads it: a plain tuple
    (no ORM entity), as :class:`.ports.ListedPort` is; read its JSON, never modify it."""

    id: str
    project_id: str
    description: str
    revision_number: int
    created_at: datetime | str
    updated_at: datetime | str
    name: str
    admin_state_up: bool
    status: str
    shared: bool
    external: bool
    is_default: bool
    mtu: int
    port_security_enabled: bool
    network_type: str
    physical_network: str | None
    segmentation_id: int | None
    availability_zone_hints: list[str]
    # Comma-separated, or None for none: its subnets' ids and its tags (see LISTED).
    subnets_text: str | None
    tags_text: str | None


_READ_AS: Final[dict[str, Any]] = {
    "created_at": UTCTimeText(), "updated_at": UTCTimeText(),
    "availability_zone_hints": CachedJSON()}
# Each network's subnets and tags come in the listing's one statement (aggregated).
_LISTS: Final = {
    "subnets_text": aggregated(Subnet.id, Subnet.network_id == Network.id, Network,
                               "subnets_text"),
    "tags_text": aggregated(Tag.tag, Tag.resource_id == Network.id, Network, "tags_text")}
# Built once: the columns of a listing, read as plain rows (see ListedNetwork).
LISTED: Final = tuple(
    _LISTS[name] if name in _LISTS else
    sa.type_coerce(getattr(Network, name), _READ_AS[name]).label(name) if name in _READ_AS
    else getattr(Network, name) for name in ListedNetwork._fields)


def listed_columns(ctx: RequestContext) -> tuple[Any, ...]:
    """The columns of a listing for ``ctx``: :data:`LISTED`, and whether a policy shares
    each network with the caller's project by name (the body's ``shared`` says so)."""
    return (*LISTED, rbac.shared_by_name(ctx.project_id).label("shared_by_name"))


class NetworkWithLists(NamedTuple):
    """A listed network, its subnets' ids in the order of their creation, its tags
    sorted, and whether a policy shares it with the caller's project by name."""

    network: ListedNetwork
    subnets: list[str]
    tags: list[str]
    shared_by_name: bool


async def with_lists(db: Runner, rows: Sequence[Any]) -> list[NetworkWithLists]:
    """The rows of :func:`listed_columns` with their lists parsed. The subnets of the
    networks that have several are put in order with one more read."""
    width = len(ListedNetwork._fields)
    listed = [NetworkWithLists(ListedNetwork._make(row[:width]), split_text(row.subnets_text),
                               sorted(split_text(row.tags_text)), bool(row[width]))
              for row in rows]
    several = {subnet for found in listed if len(found.subnets) > 1 for subnet in found.subnets}
    if several:
        order = await creation_order(db, several)
        for found in listed:
            found.subnets.sort(key=lambda subnet: order.get(subnet, len(order)))
    return listed


async def creation_order(db: Runner, subnet_ids: Collection[str]) -> dict[str, int]:
    """Each of ``subnet_ids``'s place in the order of the subnets' creation (by
    ``created_at``, then id), as the subnets of a network or the addresses of a port are
    shown; a subnet since deleted has none."""
    found = []
    for among in in_ids(Subnet.id, sorted(subnet_ids)):
        found += (await run(db, sa.select(Subnet.created_at, Subnet.id).where(among))).all()
    return {subnet_id: rank for rank, (_, subnet_id) in enumerate(sorted(found))}


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """Who sees which networks: an admin all, a project its own, those shared with every
    project, and those an RBAC policy lets it use (shared or external, by name or ``*``)."""
    if ctx.is_admin:
        return []
    return [sa.or_(Network.project_id == ctx.project_id, Network.shared.is_(True),
                   rbac.granted_to(ctx.project_id))]


async def get_network(db: AsyncSession, ctx: RequestContext, network_id: str) -> Network:
    row = (await db.execute(sa.select(Network).where(Network.id == network_id,
                                                     *visible(ctx)))).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("network", network_id)
    return row


async def get_network_for(db: AsyncSession, ctx: RequestContext, network_id: str,
                          project_id: str) -> tuple[Network, bool]:
    """The network as :func:`get_network` finds it, and whether it is shared with
    ``project_id`` (with everyone, or by a policy that names it): one statement."""
    seen = visible(ctx)
    found = (await db.execute(NETWORK_AND_SHARE.where(*seen) if seen else NETWORK_AND_SHARE,
                              {"network_id": network_id, "project_id": project_id or ""})
             ).one_or_none()
    if found is None:
        raise ResourceNotFound("network", network_id)
    network, named = found
    return network, bool(network.shared or named)


# A network (``network_id``) and whether a policy shares it with ``project_id`` by name;
# built once (every port create and delete reads its network so). An empty project id
# is shared with by no policy, as rbac.shared_by_name says of none.
NETWORK_AND_SHARE: Final = sa.select(
    Network, rbac.shared_by_name_of(sa.bindparam("project_id"))).where(
    Network.id == sa.bindparam("network_id"))


async def subnet_ids(db: AsyncSession, network_ids: Ids) -> dict[str, list[str]]:
    """Each network's subnets' ids, in creation order."""
    found: dict[str, list[str]] = {}
    for among in in_ids(Subnet.network_id, network_ids):
        rows = await db.execute(sa.select(Subnet.network_id, Subnet.id).where(among)
                                .order_by(Subnet.created_at, Subnet.id))
        for network_id, subnet_id in rows:
            found.setdefault(network_id, []).append(subnet_id)
    return found


@dataclass(frozen=True)
class Segment:
    network_type: str
    physical_network: str | None
    segmentation_id: int | None


def requested_segment(data: dict[str, Any]) -> Segment | None:
    """The provider attributes an admin asked for, checked; None when none were given."""
    network_type = data.get("provider:network_type")
    physical = data.get("provider:physical_network")
    segmentation_id = data.get("provider:segmentation_id")
    if network_type is None and physical is None and segmentation_id is None:
        return None
    network_type = network_type or VXLAN
    if network_type not in NETWORK_TYPES:
        raise InvalidInput(f"network_type value '{network_type}' not supported")
    if network_type == FLAT:
        if not physical:
            raise InvalidInput("physical_network required for flat provider network")
        if segmentation_id is not None:
            raise InvalidInput("segmentation_id specified for flat provider network")
        return Segment(FLAT, physical, None)
    if physical:
        raise InvalidInput(f"provider:physical_network specified for {VXLAN} network")
    if segmentation_id is not None and not 1 <= segmentation_id <= MAX_VNI:
        raise InvalidInput(f"{VXLAN} network's segmentation_id {segmentation_id} is not in "
                           f"1..{MAX_VNI}")
    return Segment(VXLAN, None, segmentation_id)


def max_mtu(config: NetworkConfig, network_type: str) -> int:
    return config.physical_mtu - (VXLAN_OVERHEAD if network_type == VXLAN else 0)


def check_mtu(config: NetworkConfig, network_type: str, mtu: int) -> None:
    largest = max_mtu(config, network_type)
    if mtu > largest:
        raise InvalidInput(f"Requested MTU is too big, maximum is {largest}")
    if mtu < MIN_MTU:
        raise InvalidInput(f"Requested MTU is too small, minimum is {MIN_MTU}")


async def create_network(db: AsyncSession, config: NetworkConfig, project_id: str,
                         data: dict[str, Any], network_id: str) -> Network:
    """A new network of ``project_id``, with a segment of its own, and the ``*`` RBAC
    policies that make it shared or external when asked."""
    row = await _insert_network(db, config, project_id, data, network_id)
    if data.get("shared"):
        await rbac.grant(db, row, project_id, rbac.SHARED, rbac.EVERYONE)
    if data.get("router:external"):
        await rbac.grant(db, row, project_id, rbac.EXTERNAL, rbac.EVERYONE)
    return row


async def _insert_network(db: AsyncSession, config: NetworkConfig, project_id: str,
                          data: dict[str, Any], network_id: str) -> Network:
    # On SQLite a network of the default segment (no provider attributes) has its quota
    # judged by its insert (inserts.insert_row's ``within``): one statement fewer. An
    # error found before the insert still comes after the quota's, as it did.
    within = quotas.within(config, "network") if is_sqlite(db) and \
        all(data.get(name) is None for name in PROVIDER_FIELDS) else None
    if within is None:
        await quotas.check(db, config, project_id, "network")
    try:
        segment = requested_segment(data) or Segment(VXLAN, None, None)
        largest = max_mtu(config, segment.network_type)
        mtu = data.get("mtu")
        if mtu is not None:
            check_mtu(config, segment.network_type, mtu)
    except OwnstackError:
        if within is not None:
            await quotas.check(db, config, project_id, "network")
        raise
    if segment.network_type == FLAT:
        taken = await db.scalar(sa.select(Network.id).where(
            Network.network_type == FLAT, Network.physical_network == segment.physical_network))
        if taken is not None:
            raise NetworkConflict("FlatNetworkInUse", "Unable to create the flat network. "
                                  f"Physical network {segment.physical_network} is in use.")
    fields = dict(
        id=network_id, project_id=project_id, name=data.get("name") or "",
        description=data.get("description") or "",
        admin_state_up=data.get("admin_state_up", True), shared=False, external=False,
        is_default=data.get("is_default", False),
        mtu=mtu or largest, port_security_enabled=data.get("port_security_enabled", True),
        network_type=segment.network_type, physical_network=segment.physical_network,
        availability_zone_hints=data.get("availability_zone_hints") or [])
    if segment.network_type == FLAT:
        flat = Network(**fields)
        db.add(flat)
        await db.flush()
        return flat
    if segment.segmentation_id is not None:
        chosen = await _insert(db, fields, segment.segmentation_id)
        if chosen is None:
            raise NetworkConflict("SegmentationIdInUse", "Unable to create the network. "
                                  f"The VXLAN id {segment.segmentation_id} is in use.")
        return chosen
    # A VNI drawn blind first: while the range is mostly free (a network takes one of
    # 65535) it is free, and no statement reads every VNI in use; one that clashes sends
    # the create to draw among those the read finds free.
    picked = await _insert(db, fields, random.randint(config.vni_min, config.vni_max),
                           within)
    if picked is not None:
        return picked
    for _ in range(_ATTEMPTS):
        picked = await _insert(db, fields, await _free_vni(db, config))
        if picked is not None:
            return picked
    raise NoNetworkAvailable


async def _insert(db: AsyncSession, fields: dict[str, Any], vni: int,
                  within: Within | None = None) -> Network | None:
    """The network inserted with ``vni``, or None when another took that VNI meanwhile
    (then nothing else of the transaction is undone: :mod:`.inserts`); ``within``: its
    quota, judged by the insert."""
    return await insert_row(db, Network, {**fields, "segmentation_id": vni}, within)


async def _free_vni(db: AsyncSession, config: NetworkConfig) -> int:
    """A VNI of the range that no network holds now, picked at random so that concurrent
    creators on PostgreSQL or MariaDB seldom pick the same one."""
    low, high = config.vni_min, config.vni_max
    used = set((await run(db, sa.select(Network.segmentation_id).where(
        Network.network_type == VXLAN, Network.segmentation_id.between(low, high))))
        .scalars().all())
    size = high - low + 1
    if len(used) >= size:
        raise NoNetworkAvailable
    if len(used) < size // 2:
        while True:
            vni = random.randint(low, high)
            if vni not in used:
                return vni
    return random.choice([vni for vni in range(low, high + 1) if vni not in used])


async def update_network(db: AsyncSession, config: NetworkConfig, row: Network,
                         data: dict[str, Any], revision: int | None) -> Network:
    check_revision(row, revision)
    if "mtu" in data:
        check_mtu(config, row.network_type, data["mtu"])
        row.mtu = data["mtu"]
    for name in ("name", "description"):
        if name in data:
            setattr(row, name, data[name] or "")
    for name in ("admin_state_up", "is_default", "port_security_enabled"):
        if name in data:
            setattr(row, name, data[name])
    if data.get("shared") is True and not row.shared:
        await rbac.grant(db, row, row.project_id, rbac.SHARED, rbac.EVERYONE)
    elif data.get("shared") is False and row.shared:
        await rbac.revoke_everyone(db, row, rbac.SHARED)
    if data.get("router:external") is True and not row.external:
        await rbac.grant(db, row, row.project_id, rbac.EXTERNAL, rbac.EVERYONE)
    elif data.get("router:external") is False and row.external:
        await rbac.revoke_every_external(db, row)
    touch(row)
    await db.flush()
    return row


async def delete_network(db: AsyncSession, row: Network, revision: int | None) -> None:
    check_revision(row, revision)
    network = {"network_id": row.id}
    if (await run(db, _PORT_IN_USE, network)).scalar() is not None:
        raise InUse("network", f"Unable to complete operation on network {row.id}. There "
                    "are one or more ports still in use on the network.")
    for stmt in _DELETE_NETWORK_ROWS:
        await run(db, stmt, network)
    await delete_row(db, row)


# The statements of a network's delete, built once (``network_id`` bound when run): a
# port other than a service's (DHCP) keeps it; then the tags of it, its subnets and its
# ports go, and its RBAC policies. Its ports and subnets (and what hangs off them) go
# with its row, by their foreign keys' ON DELETE CASCADE. No tag is an object of the
# session, so the delete does not read the rows it deletes back to find them there.
_NETWORK_ID: Final[sa.BindParameter[Any]] = sa.bindparam("network_id")
_PORT_IN_USE: Final = sa.select(Port.id).where(
    Port.network_id == _NETWORK_ID, Port.device_owner.not_in(SERVICE_OWNERS)).limit(1)
_DELETE_NETWORK_ROWS: Final = (
    sa.delete(Tag).where(sa.or_(
        Tag.resource_id == _NETWORK_ID,
        Tag.resource_id.in_(sa.select(Subnet.id).where(Subnet.network_id == _NETWORK_ID)),
        Tag.resource_id.in_(sa.select(Port.id).where(Port.network_id == _NETWORK_ID))))
    .execution_options(synchronize_session=False),
    sa.delete(RbacPolicy).where(RbacPolicy.object_id == _NETWORK_ID),
)
