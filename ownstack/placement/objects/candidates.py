"""Allocation candidates: which providers (or trees of providers) can satisfy a request.

The database is asked a handful of set-based questions, never one per provider: every
provider with its parent and root; the inventory of the requested classes with the usage of
each (one ``SUM(used) ... GROUP BY provider, class`` joined to the inventory); and, only when
the request names them, the providers having given traits or aggregates. The matching itself
then runs in memory over those rows, following Placement's rules:

* a suffixed group (``resources1``) is satisfied by one provider;
* the unsuffixed group may spread over the providers of one tree (from 1.29; before, a
  result using two providers of one tree is dropped), its required traits met by the
  providers it uses, collectively;
* groups combine per tree (the "anchor" root), with ``group_policy=isolate`` putting each
  suffixed group on a different provider, ``same_subtree``, ``root_required``, and the
  capacity of the combined claim checked again.

Sharing providers (``MISC_SHARES_VIA_AGGREGATE``) are not considered: see the README notes.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select

from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest
from ownstack.placement.errors import ResourceClassNotFound, TraitNotFound
from ownstack.placement.objects.models import (
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
)
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.requests import RequestGroup, RequestWide
from ownstack.placement.objects.traits import traits_of

RP = ResourceProvider
Key = tuple[int, int]                      # (provider id, resource class id)


# One inventory row and its usage, as a tuple for speed:
# (limit = (total - reserved) * allocation_ratio, used, min_unit, max_unit, step_size, capacity)
Stock = tuple[float, int, int, int, int, int]


def fits(stock: Stock, amount: int) -> bool:
    return (stock[1] + amount <= stock[0] and stock[2] <= amount <= stock[3]
            and amount % stock[4] == 0)


@dataclass(slots=True)
class Request:
    """One allocation request: amounts by (provider, class), and which group used whom."""

    root: int
    # provider id -> class id -> amount; requests of one group may share the inner dicts.
    amounts: dict[int, dict[int, int]]
    mappings: dict[str, list[int]]


@dataclass
class Candidates:
    requests: list[Request] = field(default_factory=list)
    summary_ids: list[int] = field(default_factory=list)
    uuids: dict[int, str] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)
    roots: dict[int, int] = field(default_factory=dict)
    stock: dict[int, dict[int, Stock]] = field(default_factory=dict)
    classes: dict[int, str] = field(default_factory=dict)
    requested_classes: set[int] = field(default_factory=set)
    traits: dict[int, list[str]] = field(default_factory=dict)   # of the summarised ones


@dataclass
class _Search:
    groups: dict[str, RequestGroup]
    wide: RequestWide
    nested_aware: bool
    class_ids: dict[str, int]
    trait_ids: dict[str, int]
    result: Candidates
    traits: dict[int, set[str]] = field(default_factory=dict)      # only names asked about
    aggregates: dict[int, set[str]] = field(default_factory=dict)  # only aggregates asked about
    has_trees: bool = False


async def find_candidates(db: Runner, names: Names, groups: dict[str, RequestGroup],
                          wide: RequestWide, *, nested_aware: bool, all_classes: bool,
                          with_traits: bool) -> Candidates:
    try:
        class_ids = await names.class_ids(db, {rc for g in groups.values() for rc in g.resources})
    except ResourceClassNotFound as exc:
        raise BadRequest(f"Invalid resource class in resources parameter: {exc.message}"
                         ) from None
    trait_names = set(wide.root_required | wide.root_forbidden)
    for group in groups.values():
        trait_names |= group.forbidden.union(*group.required)
    try:
        trait_ids = await names.trait_ids(db, trait_names)
    except TraitNotFound as exc:
        raise BadRequest(exc.message) from None
    result = Candidates(classes=dict(await names.class_names(db)),
                        requested_classes=set(class_ids.values()))
    search = _Search(groups, wide, nested_aware, class_ids, trait_ids, result)
    await _load(db, search, all_classes)
    requests = _merge(search, {suffix: list(_group_requests(search, group))
                               for suffix, group in groups.items()})
    if not nested_aware and search.has_trees:
        requests = [r for r in requests if len({result.roots[rp] for rp in r.amounts})
                    == len(r.amounts)]
    if wide.limit is not None:
        requests = requests[:wide.limit]
    result.requests = requests
    if nested_aware or not search.has_trees:
        trees = {r.root for r in requests}
        result.summary_ids = [rp for rp in result.uuids if result.roots[rp] in trees]
    else:
        used = {rp for r in requests for rp in r.amounts}
        result.summary_ids = [rp for rp in result.uuids if rp in used]
    if with_traits and result.summary_ids:
        # Of every provider when the summary covers most of them (one query with no list
        # of a thousand ids to expand), else of those summarised.
        most = len(result.summary_ids) * 2 >= len(result.uuids)
        result.traits = await traits_of(db, None if most else result.summary_ids)
    return result


# Built once (a statement built per request costs more CPU than SQLite spends on it):
# every provider with its parent and root; each inventory with the usage against it, of
# every class or of the requested ones.
_PROVIDERS = (select(RP.id, RP.uuid, RP.parent_provider_id, RP.root_provider_id)
              .order_by(RP.id))


def _stock_statement(requested_only: bool) -> Any:
    usage = (select(Allocation.resource_provider_id.label("rp"),
                    Allocation.resource_class_id.label("rc"),
                    func.sum(Allocation.used).label("used"))
             .group_by(Allocation.resource_provider_id, Allocation.resource_class_id))
    inventory = select(Inventory.resource_provider_id, Inventory.resource_class_id,
                       Inventory.total, Inventory.reserved, Inventory.allocation_ratio,
                       Inventory.min_unit, Inventory.max_unit, Inventory.step_size)
    if requested_only:
        wanted: Any = bindparam("classes", expanding=True)
        inventory = inventory.where(Inventory.resource_class_id.in_(wanted))
        usage = usage.where(Allocation.resource_class_id.in_(wanted))
    sub = usage.subquery()
    return inventory.add_columns(func.coalesce(sub.c.used, 0)).outerjoin(
        sub, (sub.c.rp == Inventory.resource_provider_id)
        & (sub.c.rc == Inventory.resource_class_id))


_ALL_STOCK = _stock_statement(False)
_REQUESTED_STOCK = _stock_statement(True)


async def _load(db: Runner, search: _Search, all_classes: bool) -> None:
    result = search.result
    # Core execution, not ORM: thousands of plain rows, no entities.
    for rp_id, uuid, parent, root in (await run(db, _PROVIDERS)).all():
        result.uuids[rp_id] = uuid
        result.parents[rp_id] = parent
        result.roots[rp_id] = root if root is not None else rp_id
        search.has_trees = search.has_trees or parent is not None
    if all_classes:
        rows = await run(db, _ALL_STOCK)
    else:
        rows = await run(db, _REQUESTED_STOCK, {"classes": sorted(result.requested_classes)})
    stock = result.stock
    for rp_id, rc_id, total, reserved, ratio, min_unit, max_unit, step, used in rows.all():
        limit = (total - reserved) * ratio
        entry = (limit, int(used), min_unit, max_unit, step, int(limit))
        if rp_id in stock:
            stock[rp_id][rc_id] = entry
        else:
            stock[rp_id] = {rc_id: entry}
    if search.trait_ids:
        by_id = {v: k for k, v in search.trait_ids.items()}
        for rp_id, trait_id in (await run(db,
                select(ProviderTrait.resource_provider_id, ProviderTrait.trait_id)
                .where(ProviderTrait.trait_id.in_(list(by_id))))).all():
            search.traits.setdefault(rp_id, set()).add(by_id[trait_id])
    aggs = {agg for g in search.groups.values()
            for agg in g.forbidden_aggs.union(*g.member_of)}
    if aggs:
        for rp_id, agg in (await run(db,
                select(ProviderAggregate.resource_provider_id, ProviderAggregate.aggregate_uuid)
                .where(ProviderAggregate.aggregate_uuid.in_(aggs)))).all():
            search.aggregates.setdefault(rp_id, set()).add(agg)


def _traits_ok(have: set[str], group: RequestGroup) -> bool:
    return not (have & group.forbidden) and all(have & any_of for any_of in group.required)


def _aggs_ok(have: set[str], group: RequestGroup) -> bool:
    return not (have & group.forbidden_aggs) and all(have & any_of
                                                     for any_of in group.member_of)


def _allowed_roots(search: _Search, group: RequestGroup) -> set[int] | None:
    """Roots the group may use (in_tree, root_required); None when unrestricted."""
    result = search.result
    roots: set[int] | None = None
    if group.in_tree is not None:
        ids = [rp for rp, uuid in result.uuids.items() if uuid == group.in_tree]
        roots = {result.roots[ids[0]]} if ids else set()
    wide = search.wide
    if wide.root_required or wide.root_forbidden:
        ok = {rp for rp in result.uuids if result.roots[rp] == rp
              and wide.root_required <= search.traits.get(rp, set())
              and not (wide.root_forbidden & search.traits.get(rp, set()))}
        roots = ok if roots is None else roots & ok
    return roots


def _group_requests(search: _Search, group: RequestGroup) -> Iterator[Request]:
    result = search.result
    roots = _allowed_roots(search, group)
    wanted = [(search.class_ids[rc], amount) for rc, amount in group.resources.items()]
    empty: set[str] = set()
    if group.use_same_provider or not search.has_trees:
        constrained = bool(group.required or group.forbidden or group.member_of
                           or group.forbidden_aggs or roots is not None)
        amounts = dict(wanted)     # shared by every request of this group
        for rp, stock in _providers_with(search, wanted):
            if constrained and (
                    (roots is not None and result.roots[rp] not in roots)
                    or not _traits_ok(search.traits.get(rp, empty), group)
                    or not _aggs_ok(search.aggregates.get(rp, empty), group)):
                continue
            for rc, amount in wanted:
                item = stock.get(rc)
                if (item is None or item[1] + amount > item[0] or amount < item[2]
                        or amount > item[3] or amount % item[4]):
                    break
            else:
                yield Request(result.roots[rp], {rp: amounts}, {group.suffix: [rp]})
        return
    # The unsuffixed group over a tree: each class from any provider of the tree.
    by_root: dict[int, list[list[int]]] = {}
    for index, (rc, amount) in enumerate(wanted):
        for rp, stock in result.stock.items():
            root = result.roots[rp]
            if rc not in stock or not fits(stock[rc], amount):
                continue
            if roots is not None and root not in roots:
                continue
            aggs = search.aggregates.get(rp, empty) | search.aggregates.get(root, empty)
            if not _aggs_ok(aggs, group):
                continue
            lists = by_root.setdefault(root, [[] for _ in wanted])
            lists[index].append(rp)
    for root, lists in sorted(by_root.items()):
        if not all(lists):
            continue
        for combo in itertools.product(*lists):
            users = set(combo)
            if any(search.traits.get(rp, empty) & group.forbidden for rp in users):
                continue
            have = set().union(*(search.traits.get(rp, empty) for rp in users))
            if not all(have & any_of for any_of in group.required):
                continue
            amounts_by_rp: dict[int, dict[int, int]] = {}
            for rp, (rc, amount) in zip(combo, wanted, strict=True):
                amounts_by_rp.setdefault(rp, {})[rc] = amount
            yield Request(root, amounts_by_rp, {group.suffix: sorted(users)})


def _providers_with(search: _Search, wanted: list[tuple[int, int]]
                    ) -> Iterable[tuple[int, dict[int, Stock]]]:
    if wanted:
        return search.result.stock.items()
    return ((rp, search.result.stock.get(rp, {})) for rp in search.result.uuids)


def _merge(search: _Search, per_group: dict[str, list[Request]]) -> list[Request]:
    if len(per_group) == 1:
        (only,) = per_group.values()
        return only
    by_root: dict[int, dict[str, list[Request]]] = defaultdict(dict)
    for suffix, requests in per_group.items():
        for request in requests:
            by_root[request.root].setdefault(suffix, []).append(request)
    granular = [s for s in per_group if s]
    merged: list[Request] = []
    seen: set[Any] = set()
    for root in sorted(by_root):
        lists = by_root[root]
        if len(lists) != len(per_group):
            continue
        for combo in itertools.product(*lists.values()):
            if search.wide.group_policy == "isolate":
                used = {rp for r in combo if any(s in r.mappings for s in granular)
                        for rps in r.mappings.values() for rp in rps}
                if len(used) != len(granular):
                    continue
            mappings: dict[str, list[int]] = {}
            amounts: dict[Key, int] = defaultdict(int)
            for request in combo:
                mappings.update(request.mappings)
                for rp, by_class in request.amounts.items():
                    for rc, amount in by_class.items():
                        amounts[rp, rc] += amount
            if not _same_subtree(search, mappings):
                continue
            stock = search.result.stock
            if any(rc not in stock.get(rp, {}) or not _fits_total(stock[rp][rc], amount)
                   for (rp, rc), amount in amounts.items()):
                continue
            identity = (frozenset(amounts.items()),
                        frozenset((s, tuple(v)) for s, v in mappings.items()))
            if identity in seen:
                continue
            seen.add(identity)
            combined: dict[int, dict[int, int]] = {}
            for (rp, rc), amount in amounts.items():
                combined.setdefault(rp, {})[rc] = amount
            merged.append(Request(root, combined, mappings))
    return merged


def _fits_total(stock: Stock, amount: int) -> bool:
    return stock[1] + amount <= stock[0] and amount <= stock[3]


def _same_subtree(search: _Search, mappings: dict[str, list[int]]) -> bool:
    parents = search.result.parents
    for suffixes in search.wide.same_subtrees:
        rps = {rp for s in suffixes for rp in mappings.get(s, [])}
        if len(rps) <= 1:
            continue
        ancestors = []
        for rp in rps:
            chain, node = {rp}, parents.get(rp)
            while node is not None:
                chain.add(node)
                node = parents.get(node)
            ancestors.append(chain)
        if not set.intersection(*ancestors) & rps:
            return False
    return True
