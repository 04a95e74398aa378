"""Allocations: writing a consumer's claims, race-free, and reading them back.

:func:`replace_allocations` replaces the allocations of one or more consumers in the
caller's write transaction. It checks every consumer generation (from 1.28), deletes the
consumers' old allocations, checks capacity against the usage the transaction sees
(``used + requested <= (total - reserved) * allocation_ratio``, and min_unit, max_unit,
step_size), inserts the new allocations, and ends by compare-and-swapping the generation of
every provider whose usage changed. If another writer committed a change to one of those
providers after it was read here, that swap finds no row and the whole transaction rolls
back as a 409 ``placement.concurrent_update``: a claim is never counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest, Conflict, NotFound
from ownstack.placement.errors import ConcurrentUpdate, ResourceClassNotFound
from ownstack.placement.objects.models import (
    Allocation,
    Consumer,
    ConsumerType,
    Inventory,
    ResourceProvider,
)
from ownstack.placement.objects.names import Names

RP = ResourceProvider
# Placement's defaults for consumers written before 1.8, which had no project or user.
INCOMPLETE_PROJECT = "00000000-0000-0000-0000-000000000000"
INCOMPLETE_USER = "00000000-0000-0000-0000-000000000000"
UNKNOWN_CONSUMER_TYPE = "unknown"


@dataclass
class ConsumerWrite:
    uuid: str
    project_id: str
    user_id: str
    # rp uuid -> resource class -> amount; empty removes the consumer's allocations.
    allocations: dict[str, dict[str, int]]
    generation: int | None = None
    check_generation: bool = False          # 1.28+: generation must match (None: new)
    consumer_type_id: int | None = None     # 1.38+, resolved before the transaction


@dataclass
class ConsumerAllocations:
    project_id: str | None = None
    user_id: str | None = None
    generation: int | None = None
    consumer_type: str | None = None
    # rp uuid -> (rp generation, {resource class: used})
    providers: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)
    modified: list[datetime | None] = field(default_factory=list)


async def replace_allocations(db: Runner, names: Names, writes: list[ConsumerWrite]
                              ) -> None:
    writes = sorted(writes, key=lambda w: w.uuid)   # one lock order for every writer
    consumer_uuids = [w.uuid for w in writes]
    wanted = {rp for w in writes for rp in w.allocations}
    providers = await _providers(db, wanted, consumer_uuids)
    by_uuid = {row.uuid: row for row in providers.values()}
    for rp_uuid in sorted(wanted - by_uuid.keys()):
        raise BadRequest(f"Allocation for resource provider '{rp_uuid}' that does not exist.")
    try:
        class_ids = await names.class_ids(
            db, {rc for w in writes for res in w.allocations.values() for rc in res})
    except ResourceClassNotFound as exc:
        raise BadRequest(f"Unable to allocate inventory: {exc.message}") from None
    consumers = await _check_consumers(db, writes)
    if any(provider.holds for provider in providers.values()):
        # Only when a provider holds some of the consumers' allocations (a new consumer's
        # claim has none to delete: one statement fewer).
        await _delete_allocations(db, consumer_uuids)
    rows = []
    requested: dict[tuple[int, int], int] = defaultdict(int)
    for write in writes:
        for rp_uuid, resources in write.allocations.items():
            for rc, amount in resources.items():
                key = (by_uuid[rp_uuid].id, class_ids[rc])
                requested[key] += amount
                rows.append({"resource_provider_id": key[0], "resource_class_id": key[1],
                             "consumer_id": write.uuid, "used": amount})
    if requested:
        await _check_capacity(db, requested, rows, providers,
                              {v: k for k, v in class_ids.items()})
        now = utcnow()
        for row in rows:
            row["created_at"] = now
        await run(db, _INSERT_ALLOCATIONS, rows)
    created = [write for write in writes
               if write.allocations and consumers.get(write.uuid) is None]
    if created:
        await _create_consumers(db, created)
    for write in writes:
        if consumers.get(write.uuid) is not None:
            await _save_consumer(db, write, consumers[write.uuid])
    for provider_id in sorted(providers):
        await _bump(db, providers[provider_id])


@dataclass
class _ProviderGen:
    id: int
    uuid: str
    generation: int
    holds: bool = False         # some of the consumers' allocations are on it


async def _providers(db: Runner, wanted: set[str], consumer_uuids: list[str]
                     ) -> dict[int, _ProviderGen]:
    """The providers written to and those losing a consumer's allocations, with the
    generations this transaction will swap."""
    statement = _PROVIDERS[min(len(wanted), 2), len(consumer_uuids) == 1]
    rows = (await run(db, statement, {**_one_or_many("wanted", sorted(wanted)),
                                      **_one_or_many("consumers", consumer_uuids)})).all()
    return {row[0]: _ProviderGen(row[0], row[1], row[2], bool(row[3])) for row in rows}


async def _delete_allocations(db: Runner, consumer_uuids: list[str]) -> None:
    await run(db, _DELETE_ALLOCATIONS[len(consumer_uuids) == 1],
              _one_or_many("consumers", consumer_uuids))


# A list of one value is bound as ``= :name_one``, several as an expanding IN list (which
# makes SQLAlchemy rewrite the statement's text at each execution; a claim of one
# consumer on one provider, the common case, has no list).
def _in(column: Any, name: str, one: bool) -> Any:
    return column == bindparam(f"{name}_one") if one else column.in_(
        bindparam(name, expanding=True))


def _one_or_many(name: str, values: list[Any]) -> dict[str, Any]:
    return {f"{name}_one": values[0]} if len(values) == 1 else {name: values}


def _providers_statement(wanted: int, one_consumer: bool) -> Any:
    holds = RP.id.in_(select(Allocation.resource_provider_id).where(
        _in(Allocation.consumer_id, "consumers", one_consumer)))
    statement = select(RP.id, RP.uuid, RP.generation, holds)
    if wanted == 0:         # nothing written: only the providers losing allocations
        return statement.where(holds)
    return statement.where(or_(_in(RP.uuid, "wanted", wanted == 1), holds))


# Built once: every claim runs these. Core tables: plain statements, no unit of work.
_ALLOCATIONS = cast(Table, Allocation.__table__)
_PROVIDERS = {(wanted, one): _providers_statement(wanted, one)
              for wanted in (0, 1, 2) for one in (True, False)}
_DELETE_ALLOCATIONS = {one: delete(_ALLOCATIONS).where(
    _in(_ALLOCATIONS.c.consumer_id, "consumers", one)) for one in (True, False)}
_INSERT_ALLOCATIONS = insert(_ALLOCATIONS)
_DELETE_CONSUMER_BY_UUID = delete(Consumer).where(Consumer.uuid == bindparam("b_uuid"))
_CONSUMERS_OF = {one: select(Consumer.uuid, Consumer.id, Consumer.generation,
                             Consumer.project_id, Consumer.user_id, Consumer.consumer_type_id
                             ).where(_in(Consumer.uuid, "consumers", one))
                 for one in (True, False)}
_USED = (select(func.coalesce(func.sum(Allocation.used), 0))
         .where(Allocation.resource_provider_id == Inventory.resource_provider_id,
                Allocation.resource_class_id == Inventory.resource_class_id)
         .scalar_subquery())
_CAPACITY = {one: select(
    Inventory.resource_provider_id, Inventory.resource_class_id, Inventory.total,
    Inventory.reserved, Inventory.allocation_ratio, Inventory.min_unit, Inventory.max_unit,
    Inventory.step_size, _USED,
).where(_in(Inventory.resource_provider_id, "rp_ids", one),
        Inventory.resource_class_id.in_(bindparam("rc_ids", expanding=True)))
    for one in (True, False)}


# Built once: each claim runs these for every provider and consumer it touches.
_RP_TABLE = cast(Table, RP.__table__)
_CONSUMERS = cast(Table, Consumer.__table__)
_BUMP = (update(_RP_TABLE)
         .where(_RP_TABLE.c.id == bindparam("b_id"),
                _RP_TABLE.c.generation == bindparam("b_generation"))
         .values(generation=bindparam("b_next")))
_INSERT_CONSUMER = insert(_CONSUMERS)
_UPDATE_CONSUMER = (update(_CONSUMERS)
                    .where(_CONSUMERS.c.id == bindparam("b_id"),
                           _CONSUMERS.c.generation == bindparam("b_generation"))
                    .values(generation=bindparam("b_next"),
                            updated_at=bindparam("b_now", type_=_CONSUMERS.c.updated_at.type),
                            project_id=bindparam("b_project"), user_id=bindparam("b_user")))
_UPDATE_CONSUMER_TYPE = _UPDATE_CONSUMER.values(consumer_type_id=bindparam("b_type"))
_DELETE_CONSUMER = delete(_CONSUMERS).where(
    _CONSUMERS.c.id == bindparam("b_id"), _CONSUMERS.c.generation == bindparam("b_generation"))


async def _bump(db: Runner, provider: _ProviderGen) -> None:
    result = await run(db, _BUMP, {"b_id": provider.id, "b_generation": provider.generation,
                                   "b_next": provider.generation + 1})
    if rows_matched(result) != 1:
        raise ConcurrentUpdate(
            "Inventory and/or allocations changed while attempting to allocate: "
            f"resource provider {provider.uuid} was updated by another request; retry.")


async def _check_consumers(db: Runner, writes: list[ConsumerWrite]) -> dict[str, Any]:
    uuids = [w.uuid for w in writes]
    rows = (await run(db, _CONSUMERS_OF[len(uuids) == 1],
                      _one_or_many("consumers", uuids))).all()
    found = {row[0]: row for row in rows}
    for write in writes:
        if not write.check_generation:
            continue
        row = found.get(write.uuid)
        if row is None and write.generation is not None:
            raise ConcurrentUpdate("consumer generation conflict - expected null but got "
                                   f"{write.generation}")
        if row is not None and row.generation != write.generation:
            got = "null" if write.generation is None else write.generation
            raise ConcurrentUpdate(f"consumer generation conflict - expected {row.generation} "
                                   f"but got {got}")
    return found


async def _check_capacity(db: Runner, requested: dict[tuple[int, int], int],
                          rows: list[dict[str, Any]], providers: dict[int, _ProviderGen],
                          class_names: dict[int, str]) -> None:
    rp_ids = sorted({key[0] for key in requested})
    found = (await run(db, _CAPACITY[len(rp_ids) == 1], {
        **_one_or_many("rp_ids", rp_ids),
        "rc_ids": sorted({key[1] for key in requested})})).all()
    inventory = {(row[0], row[1]): row for row in found}
    for row in rows:
        key = (row["resource_provider_id"], row["resource_class_id"])
        rc, rp_uuid = class_names[key[1]], providers[key[0]].uuid
        record = inventory.get(key)
        if record is None:
            raise Conflict(f"Unable to allocate inventory: Inventory for '{rc}' on resource "
                           f"provider '{rp_uuid}' invalid.")
        min_unit, max_unit, step = record[5], record[6], record[7]
        amount = row["used"]
        if amount < min_unit or amount > max_unit or amount % step:
            raise Conflict(f"Unable to allocate inventory: Unable to create allocation for "
                           f"'{rc}' on resource provider '{rp_uuid}'. The requested amount "
                           "would violate inventory constraints.")
    for key, amount in sorted(requested.items()):
        rc, rp_uuid = class_names[key[1]], providers[key[0]].uuid
        total, reserved, ratio, already = (inventory[key][2], inventory[key][3],
                                           inventory[key][4], inventory[key][8])
        # `already` is the usage that remains once this transaction removed the consumers'
        # old allocations; the new ones are inserted only after this check.
        if (total - reserved) * ratio < already + amount:
            raise Conflict(f"Unable to allocate inventory: Unable to create allocation for "
                           f"'{rc}' on resource provider '{rp_uuid}'. The requested amount "
                           "would exceed the capacity.")


async def _create_consumers(db: Runner, writes: list[ConsumerWrite]) -> None:
    """Insert the consumers that had no row, in one statement."""
    now = utcnow()
    try:
        await run(db, _INSERT_CONSUMER, [
            {"uuid": w.uuid, "project_id": w.project_id, "user_id": w.user_id,
             "consumer_type_id": w.consumer_type_id, "generation": 1, "created_at": now,
             "updated_at": now} for w in writes])
    except IntegrityError:
        which = ", ".join(w.uuid for w in writes)
        raise ConcurrentUpdate(f"consumer {which} was created by another request; retry "
                               "with its generation.") from None


async def _save_consumer(db: Runner, write: ConsumerWrite, row: Any) -> None:
    """Update (or, with nothing allocated, forget) a consumer that has a row."""
    params = {"b_id": row.id, "b_generation": row.generation}
    if not write.allocations:
        # A consumer with nothing allocated is forgotten, as in Placement.
        result = await run(db, _DELETE_CONSUMER, params)
    else:
        params.update(b_next=row.generation + 1, b_now=utcnow(), b_project=write.project_id,
                      b_user=write.user_id)
        statement = _UPDATE_CONSUMER
        if write.consumer_type_id is not None:
            statement = _UPDATE_CONSUMER_TYPE
            params["b_type"] = write.consumer_type_id
        result = await run(db, statement, params)
    if rows_matched(result) != 1:
        raise ConcurrentUpdate(f"consumer {write.uuid} was updated by another request; retry.")


async def consumer_allocations(db: AsyncSession, names: Names, consumer_uuid: str
                               ) -> ConsumerAllocations:
    result = ConsumerAllocations()
    consumer = (await db.execute(
        select(Consumer.project_id, Consumer.user_id, Consumer.generation, ConsumerType.name)
        .outerjoin(ConsumerType, Consumer.consumer_type_id == ConsumerType.id)
        .where(Consumer.uuid == consumer_uuid))).first()
    rows = (await db.execute(
        select(RP.uuid, RP.generation, Allocation.resource_class_id, Allocation.used,
               Allocation.created_at, Allocation.updated_at)
        .join(RP, RP.id == Allocation.resource_provider_id)
        .where(Allocation.consumer_id == consumer_uuid).order_by(Allocation.id))).all()
    if consumer is None or not rows:
        return result
    result.project_id, result.user_id, result.generation = consumer[0], consumer[1], consumer[2]
    result.consumer_type = consumer[3] or UNKNOWN_CONSUMER_TYPE
    classes = await names.class_names(db)
    for rp_uuid, rp_generation, rc_id, used, created, updated in rows:
        if rc_id not in classes:
            await names.classes.reload(db)
            classes = names.classes.by_id
        result.providers.setdefault(rp_uuid, (rp_generation, {}))[1][classes[rc_id]] = used
        result.modified.append(updated or created)
    return result


async def provider_allocations(db: AsyncSession, names: Names, provider_id: int
                               ) -> tuple[dict[str, dict[str, Any]], list[datetime | None]]:
    """consumer uuid -> {resources, consumer_generation} on one provider."""
    rows = (await db.execute(
        select(Allocation.consumer_id, Allocation.resource_class_id, Allocation.used,
               Consumer.generation, Allocation.created_at, Allocation.updated_at)
        .outerjoin(Consumer, Consumer.uuid == Allocation.consumer_id)
        .where(Allocation.resource_provider_id == provider_id).order_by(Allocation.id))).all()
    classes = await names.class_names(db)
    if any(row[1] not in classes for row in rows):
        await names.classes.reload(db)
        classes = names.classes.by_id
    out: dict[str, dict[str, Any]] = {}
    for consumer, rc_id, used, generation, _created, _updated in rows:
        entry = out.setdefault(consumer, {"resources": {}, "consumer_generation": generation})
        entry["resources"][classes[rc_id]] = used
    return out, [row[5] or row[4] for row in rows]


async def delete_consumer_allocations(db: AsyncSession, consumer_uuid: str) -> None:
    providers = await _providers(db, set(), [consumer_uuid])
    if not providers:
        raise NotFound(f"No allocations for consumer '{consumer_uuid}'")
    await _delete_allocations(db, [consumer_uuid])
    await db.execute(_DELETE_CONSUMER_BY_UUID, {"b_uuid": consumer_uuid})
    for provider_id in sorted(providers):
        await _bump(db, providers[provider_id])
