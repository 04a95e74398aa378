"""Host aggregates: named sets of compute hosts with metadata, after Nova's
``AggregateAPI`` (``nova/compute/api.py``) and ``objects/aggregate.py``.

An aggregate's ``availability_zone`` metadata is the zone of its hosts
(``ComputeService.zone``); a host in no such aggregate keeps the zone its agent reports.
Nova's zone rules hold here, checked in the writing transaction:

* a host may not be in two aggregates of different zones, and an aggregate's zone may not
  be set to one that would put any of its hosts in two zones;
* an aggregate's zone may not be emptied;
* the zone of a host that runs instances may not change, whether by adding or removing it
  or by renaming its aggregate's zone;
* an aggregate that still has hosts is not deleted.

Placement mirrors membership: each node of a host added to an aggregate gets the
aggregate's uuid among its resource provider's aggregates (:func:`mirror_membership`,
called by the API after its transaction committed, as Nova's API does).
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.clients.placement import PlacementClient, PlacementError
from ownstack.common.db.base import utcnow
from ownstack.common.errors import Conflict
from ownstack.compute.errors import (
    AggregateHostExists,
    AggregateHostNotFound,
    AggregateNameExists,
    AggregateNotFound,
    ComputeHostNotFound,
    InvalidAggregateAction,
)
from ownstack.compute.objects.models import (
    ZONE_KEY,
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeNode,
    ComputeService,
    Instance,
)
from ownstack.compute.rpc import COMPUTE_BINARY

log = logging.getLogger(__name__)

# Nova's ids are integers of its database; larger ones name nothing.
_MAX_ID = 2**31 - 1


@dataclass
class AggregateRecord:
    aggregate: Aggregate
    hosts: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(ZONE_KEY)


# --- reading -----------------------------------------------------------------------------

async def _load(db: AsyncSession, aggregates: list[Aggregate]) -> list[AggregateRecord]:
    records = {a.id: AggregateRecord(a) for a in aggregates}
    if records:
        ids = list(records)
        for aggregate_id, host in await db.execute(
                sa.select(AggregateHost.aggregate_id, AggregateHost.host)
                .where(AggregateHost.aggregate_id.in_(ids)).order_by(AggregateHost.id)):
            records[aggregate_id].hosts.append(host)
        for aggregate_id, key, value in await db.execute(
                sa.select(AggregateMetadata.aggregate_id, AggregateMetadata.key,
                          AggregateMetadata.value)
                .where(AggregateMetadata.aggregate_id.in_(ids))
                .order_by(AggregateMetadata.key)):
            records[aggregate_id].metadata[key] = value
    return list(records.values())


async def list_aggregates(db: AsyncSession) -> list[AggregateRecord]:
    found = (await db.execute(sa.select(Aggregate).order_by(Aggregate.id))).scalars()
    return await _load(db, list(found))


async def get_aggregate(db: AsyncSession, aggregate_id: int) -> AggregateRecord:
    found = None
    if 0 <= aggregate_id <= _MAX_ID:
        found = (await db.execute(sa.select(Aggregate).where(
            Aggregate.id == aggregate_id))).scalar_one_or_none()
    if found is None:
        raise AggregateNotFound(aggregate_id)
    return (await _load(db, [found]))[0]


async def _name_taken(db: AsyncSession, name: str, but: int | None = None) -> bool:
    stmt = sa.select(Aggregate.id).where(Aggregate.name == name)
    if but is not None:
        stmt = stmt.where(Aggregate.id != but)
    return (await db.execute(stmt.limit(1))).first() is not None


# --- writing -----------------------------------------------------------------------------

async def create_aggregate(db: AsyncSession, name: str, zone: str | None) -> AggregateRecord:
    if await _name_taken(db, name):
        raise AggregateNameExists(name)
    aggregate = Aggregate(uuid=str(uuid_module.uuid4()), name=name, created_at=utcnow())
    db.add(aggregate)
    await _flush(db, AggregateNameExists(name))
    record = AggregateRecord(aggregate)
    if zone:
        db.add(AggregateMetadata(aggregate_id=aggregate.id, key=ZONE_KEY, value=zone))
        record.metadata[ZONE_KEY] = zone
    await db.flush()
    return record


async def update_aggregate(db: AsyncSession, aggregate_id: int, *, name: str | None,
                           zone_given: bool, zone: str | None) -> AggregateRecord:
    """Rename, and/or set the zone (``zone_given``): Nova's ``update_aggregate``."""
    record = await get_aggregate(db, aggregate_id)
    if name is not None:
        if await _name_taken(db, name, but=record.aggregate.id):
            raise AggregateNameExists(name)
        record.aggregate.name = name
    if zone_given:
        await _check_zone_change(db, record, zone, "update")
        await _write_metadata(db, record, {ZONE_KEY: zone})
    record.aggregate.updated_at = utcnow()
    await _flush(db, AggregateNameExists(name or record.aggregate.name))
    return record


async def set_metadata(db: AsyncSession, aggregate_id: int,
                       metadata: Mapping[str, str | None]) -> AggregateRecord:
    """Nova's ``update_aggregate_metadata``: set the keys given, delete those set to null."""
    record = await get_aggregate(db, aggregate_id)
    if ZONE_KEY in metadata:
        await _check_zone_change(db, record, metadata[ZONE_KEY], "update_meta")
    await _write_metadata(db, record, metadata)
    record.aggregate.updated_at = utcnow()
    await _flush(db, Conflict("Another request changed the aggregate's metadata at the "
                                "same time; retry."))
    return record


async def delete_aggregate(db: AsyncSession, aggregate_id: int) -> None:
    record = await get_aggregate(db, aggregate_id)
    if record.hosts:
        raise InvalidAggregateAction("delete", aggregate_id, "Host aggregate is not empty")
    # Explicit deletes: SQLite enforces no foreign keys unless told to.
    await db.execute(sa.delete(AggregateMetadata).where(
        AggregateMetadata.aggregate_id == aggregate_id))
    await db.delete(record.aggregate)


async def add_host(db: AsyncSession, aggregate_id: int, host: str) -> AggregateRecord:
    """Add a compute host. An unknown host is Nova's ComputeHostNotFound (404)."""
    await _compute_host(db, host)
    record = await get_aggregate(db, aggregate_id)
    if host in record.hosts:
        raise AggregateHostExists(aggregate_id, host)
    new_zone = record.availability_zone
    if new_zone is not None:
        others = await _zones_of_host(db, host, but=aggregate_id)
        conflicting = [z for z in others if z != new_zone]
        if conflicting:
            raise InvalidAggregateAction(
                "add", aggregate_id,
                f"One or more hosts already in availability zone(s) {conflicting}")
        old_zone = next(iter(others), None)
        count = await _instances_on(db, [host])
        if count and old_zone != new_zone:
            raise InvalidAggregateAction("add", aggregate_id, _moving(old_zone, new_zone,
                                                                      count, "added to"))
    db.add(AggregateHost(aggregate_id=aggregate_id, host=host))
    record.hosts.append(host)
    await _flush(db, AggregateHostExists(aggregate_id, host))
    return record


async def remove_host(db: AsyncSession, aggregate_id: int, host: str) -> AggregateRecord:
    try:
        await _compute_host(db, host)
        record = await get_aggregate(db, aggregate_id)
    except (ComputeHostNotFound, AggregateNotFound):
        raise AggregateHostNotFound(aggregate_id, host) from None
    if host not in record.hosts:
        raise AggregateHostNotFound(aggregate_id, host)
    current = record.availability_zone
    if current is not None:
        others = await _zones_of_host(db, host, but=aggregate_id)
        new_zone = next(iter(others), None)
        count = await _instances_on(db, [host])
        if count and current != new_zone:
            raise InvalidAggregateAction("remove", aggregate_id, _moving(
                current, new_zone, count, "removed from"))
    await db.execute(sa.delete(AggregateHost).where(
        AggregateHost.aggregate_id == aggregate_id, AggregateHost.host == host))
    record.hosts.remove(host)
    return record


async def _flush(db: AsyncSession, lost_race: Exception) -> None:
    """Write now; a unique constraint broken meanwhile (a concurrent request made the same
    name, membership or key) is that request's conflict, not a 500."""
    try:
        await db.flush()
    except IntegrityError:
        raise lost_race from None


# --- the zone rules ------------------------------------------------------------------------

async def _check_zone_change(db: AsyncSession, record: AggregateRecord, zone: str | None,
                             action: str) -> None:
    """Nova's ``is_safe_to_update_az`` with ``check_no_instances_in_az``."""
    aggregate_id = record.aggregate.id
    if not zone:
        raise InvalidAggregateAction(action, aggregate_id, (
            f"Aggregate {record.aggregate.name} does not support empty named "
            "availability zone"))
    conflicting: list[str] = []
    for host in record.hosts:
        conflicting += [z for z in await _zones_of_host(db, host, but=aggregate_id)
                        if z != zone]
    if conflicting:
        raise InvalidAggregateAction(action, aggregate_id, (
            f"One or more hosts already in availability zone(s) {conflicting}"))
    if zone != record.availability_zone and await _instances_on(db, record.hosts):
        raise InvalidAggregateAction(action, aggregate_id,
                                     "One or more hosts contain instances in this zone")


async def _write_metadata(db: AsyncSession, record: AggregateRecord,
                          metadata: Mapping[str, str | None]) -> None:
    aggregate_id = record.aggregate.id
    for key, value in metadata.items():
        if value is None:
            await db.execute(sa.delete(AggregateMetadata).where(
                AggregateMetadata.aggregate_id == aggregate_id, AggregateMetadata.key == key))
            record.metadata.pop(key, None)
        elif key in record.metadata:
            await db.execute(sa.update(AggregateMetadata).where(
                AggregateMetadata.aggregate_id == aggregate_id, AggregateMetadata.key == key)
                .values(value=value))
            record.metadata[key] = value
        else:
            db.add(AggregateMetadata(aggregate_id=aggregate_id, key=key, value=value))
            record.metadata[key] = value
    record.metadata = dict(sorted(record.metadata.items()))


async def _zones_of_host(db: AsyncSession, host: str, *, but: int) -> list[str]:
    """The zones of the host's other aggregates, one per aggregate (as Nova lists them)."""
    rows = await db.execute(
        sa.select(AggregateMetadata.value)
        .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
        .where(AggregateHost.host == host, AggregateHost.aggregate_id != but,
               AggregateMetadata.key == ZONE_KEY)
        .order_by(AggregateMetadata.aggregate_id))
    return list(rows.scalars())


async def _instances_on(db: AsyncSession, hosts: list[str]) -> int:
    if not hosts:
        return 0
    return int((await db.execute(sa.select(sa.func.count()).select_from(Instance).where(
        Instance.host.in_(hosts), Instance.deleted.is_(False)))).scalar_one())


def _moving(old: str | None, new: str | None, count: int, verb: str) -> str:
    return (f"The host cannot be {verb} the aggregate as the availability zone of the host "
            f"would change from '{old}' to '{new}' but the host already has {count} "
            "instance(s). Changing the AZ of an existing instance is not supported by this "
            "action. Move the instances away from this host then try again. If you need to "
            "move the instances between AZs then you can use shelve_offload and unshelve "
            "to achieve this.")


async def _compute_host(db: AsyncSession, host: str) -> None:
    found = (await db.execute(sa.select(ComputeService.id).where(
        ComputeService.host == host, ComputeService.binary == COMPUTE_BINARY))).first()
    if found is None:
        raise ComputeHostNotFound(host)


# --- Placement ------------------------------------------------------------------------------

async def node_uuids(db: AsyncSession, host: str) -> list[str]:
    return list((await db.execute(sa.select(ComputeNode.uuid).where(
        ComputeNode.host == host).order_by(ComputeNode.id))).scalars())


async def mirror_membership(placement: PlacementClient, nodes: list[str],
                            aggregate_uuid: str, *, member: bool) -> None:
    """Put the aggregate among (or take it out of) each node's resource provider's
    aggregates. A failure is logged, not answered: as in Nova, the operator's request
    did what it asked of compute, and the next add or remove mends Placement."""
    for node in nodes:
        try:
            await placement.change_provider_aggregates(
                node, add=[aggregate_uuid] if member else [],
                remove=[] if member else [aggregate_uuid])
        except PlacementError as exc:
            log.warning("Could not %s aggregate %s on provider %s in Placement: %s",
                        "add" if member else "remove", aggregate_uuid, node, exc)
