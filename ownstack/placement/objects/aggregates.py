"""The aggregates a provider is in: bare uuids, as Placement keeps them."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.placement.objects.models import ProviderAggregate
from ownstack.placement.objects.providers import Provider, bump_generation


async def provider_aggregates(db: AsyncSession, provider_id: int) -> list[str]:
    rows = await db.execute(select(ProviderAggregate.aggregate_uuid)
                            .where(ProviderAggregate.resource_provider_id == provider_id)
                            .order_by(ProviderAggregate.aggregate_uuid))
    return list(rows.scalars())


async def set_provider_aggregates(db: AsyncSession, provider: Provider, aggregates: list[str],
                                  generation: int | None) -> None:
    """Replace the provider's aggregates; from 1.19 with the generation check and bump."""
    if generation is not None:
        await bump_generation(db, provider, generation)
    await db.execute(delete(ProviderAggregate)
                     .where(ProviderAggregate.resource_provider_id == provider.id))
    if aggregates:
        await db.execute(insert(ProviderAggregate), [
            {"resource_provider_id": provider.id, "aggregate_uuid": agg}
            for agg in sorted(set(aggregates))])
