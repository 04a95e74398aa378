"""The filters of GET /resource_providers as SQL conditions, one subquery per filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import QueryParams

from ownstack.common.api.microversion import Version
from ownstack.common.errors import BadRequest
from ownstack.placement.api.request_groups import (
    parse_in_tree,
    parse_member_of,
    parse_resources,
    parse_traits,
)
from ownstack.placement.errors import ResourceClassNotFound, TraitNotFound
from ownstack.placement.objects.models import (
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
)
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.providers import tree_root_id

RP = ResourceProvider


def capacity_for(rc_id: int, amount: int) -> Any:
    """Providers with room for ``amount`` of class ``rc_id`` (Placement's capacity clause)."""
    used = (select(func.coalesce(func.sum(Allocation.used), 0))
            .where(Allocation.resource_provider_id == Inventory.resource_provider_id,
                   Allocation.resource_class_id == Inventory.resource_class_id)
            .scalar_subquery())
    return select(Inventory.resource_provider_id).where(and_(
        Inventory.resource_class_id == rc_id,
        used + amount <= (Inventory.total - Inventory.reserved) * Inventory.allocation_ratio,
        Inventory.min_unit <= amount, Inventory.max_unit >= amount,
        literal(amount) % Inventory.step_size == 0))


def with_aggregates(any_of: set[str]) -> Any:
    return select(ProviderAggregate.resource_provider_id).where(
        ProviderAggregate.aggregate_uuid.in_(any_of))


def with_traits(trait_ids: set[int]) -> Any:
    return select(ProviderTrait.resource_provider_id).where(
        ProviderTrait.trait_id.in_(trait_ids))


async def provider_filters(db: AsyncSession, names: Names, raw: QueryParams,
                           params: dict[str, str], version: Version) -> list[Any] | None:
    """Conditions on providers; None when a filter can match nothing (an unknown tree)."""
    where: list[Any] = []
    if "name" in params:
        where.append(RP.name == params["name"])
    if "uuid" in params:
        where.append(RP.uuid == params["uuid"])
    if "member_of" in params:
        required, forbidden = parse_member_of(raw.getlist("member_of"), version)
        where += [RP.id.in_(with_aggregates(any_of)) for any_of in required]
        if forbidden:
            where.append(RP.id.not_in(with_aggregates(forbidden)))
    if "in_tree" in params:
        root = await tree_root_id(db, parse_in_tree(params["in_tree"]))
        if root is None:
            return None
        where.append(RP.root_provider_id == root)
    if "resources" in params:
        wanted = parse_resources(params["resources"])
        try:
            ids = await names.class_ids(db, wanted)
        except ResourceClassNotFound as exc:
            raise BadRequest(f"Invalid resource class in resources parameter: {exc.message}"
                             ) from None
        where += [RP.id.in_(capacity_for(ids[rc], amount)) for rc, amount in wanted.items()]
    if "required" in params:
        required, forbidden = parse_traits(raw.getlist("required"), version)
        try:
            ids = await names.trait_ids(db, forbidden.union(*required))
        except TraitNotFound as exc:
            raise BadRequest(f'Invalid trait(s) in "required" parameter: {exc.message}'
                             ) from None
        where += [RP.id.in_(with_traits({ids[t] for t in any_of})) for any_of in required]
        if forbidden:
            where.append(RP.id.not_in(with_traits({ids[t] for t in forbidden})))
    return where
