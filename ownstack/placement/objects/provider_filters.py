"""The filters of GET /resource_providers as SQL conditions, one subquery per filter."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.placement.errors import ResourceClassNotFound, TraitNotFound
from ownstack.placement.objects import models
from ownstack.placement.objects.names import Names
from ownstack.placement.objects.providers import Provider, list_providers, tree_root_id
from ownstack.placement.objects.requests import RequestGroup

RP = models.ResourceProvider


def capacity_for(rc_id: int, amount: int) -> Any:
    """Providers with room for ``amount`` of class ``rc_id`` (Placement's capacity clause)."""
    inventory, allocation = models.Inventory, models.Allocation
    used = (select(func.coalesce(func.sum(allocation.used), 0))
            .where(allocation.resource_provider_id == inventory.resource_provider_id,
                   allocation.resource_class_id == inventory.resource_class_id)
            .scalar_subquery())
    return select(inventory.resource_provider_id).where(and_(
        inventory.resource_class_id == rc_id,
        used + amount <= (inventory.total - inventory.reserved) * inventory.allocation_ratio,
        inventory.min_unit <= amount, inventory.max_unit >= amount,
        literal(amount) % inventory.step_size == 0))


def with_aggregates(any_of: set[str]) -> Any:
    return select(models.ProviderAggregate.resource_provider_id).where(
        models.ProviderAggregate.aggregate_uuid.in_(any_of))


def with_traits(trait_ids: set[int]) -> Any:
    return select(models.ProviderTrait.resource_provider_id).where(
        models.ProviderTrait.trait_id.in_(trait_ids))


async def find_providers(db: AsyncSession, names: Names, wanted: RequestGroup, *,
                         name: str | None = None, uuid: str | None = None) -> list[Provider]:
    """The providers named so (when given) that meet every filter of ``wanted``: its
    aggregates, tree, capacity for its resources, and traits. An unknown tree matches
    nothing; an unknown resource class or trait is a 400."""
    where: list[Any] = []
    if name is not None:
        where.append(RP.name == name)
    if uuid is not None:
        where.append(RP.uuid == uuid)
    where += [RP.id.in_(with_aggregates(any_of)) for any_of in wanted.member_of]
    if wanted.forbidden_aggs:
        where.append(RP.id.not_in(with_aggregates(wanted.forbidden_aggs)))
    if wanted.in_tree is not None:
        root = await tree_root_id(db, wanted.in_tree)
        if root is None:
            return []
        where.append(RP.root_provider_id == root)
    if wanted.resources:
        try:
            class_ids = await names.class_ids(db, wanted.resources)
        except ResourceClassNotFound as exc:
            raise BadRequest(f"Invalid resource class in resources parameter: {exc.message}"
                             ) from None
        where += [RP.id.in_(capacity_for(class_ids[rc], amount))
                  for rc, amount in wanted.resources.items()]
    if wanted.required or wanted.forbidden:
        try:
            trait_ids = await names.trait_ids(db, wanted.forbidden.union(*wanted.required))
        except TraitNotFound as exc:
            raise BadRequest(f'Invalid trait(s) in "required" parameter: {exc.message}'
                             ) from None
        where += [RP.id.in_(with_traits({trait_ids[t] for t in any_of}))
                  for any_of in wanted.required]
        if wanted.forbidden:
            where.append(RP.id.not_in(with_traits({trait_ids[t] for t in wanted.forbidden})))
    return await list_providers(db, where)
