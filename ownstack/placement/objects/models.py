"""Placement tables, prefixed ``placement_``: services share one database.

Resource classes, traits and consumer types are rows with small integer ids, which the
inventory, allocation and association tables refer to; :mod:`.names` caches the mapping.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ownstack.common.db.base import TABLE_OPTIONS, Base, UTCDateTime, utcnow

_RP_ID = "placement_resource_providers.id"


class ResourceClass(Base):
    __tablename__ = "placement_resource_classes"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Trait(Base):
    __tablename__ = "placement_traits"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsumerType(Base):
    __tablename__ = "placement_consumer_types"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceProvider(Base):
    __tablename__ = "placement_resource_providers"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Bumped by every change to the provider, its inventory, traits, aggregates or usage:
    # the compare-and-swap token of every write.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    # Null only inside the transaction that creates the provider (it is its own root).
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_rp_root"), index=True)
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_rp_parent"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Inventory(Base):
    __tablename__ = "placement_inventories"
    __table_args__ = (UniqueConstraint("resource_provider_id", "resource_class_id",
                                       name="uq_placement_inv_rp_rc"),
                      TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_inv_rp"), index=True)
    resource_class_id: Mapped[int] = mapped_column(
        ForeignKey("placement_resource_classes.id", name="fk_placement_inv_rc"), index=True)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Allocation(Base):
    __tablename__ = "placement_allocations"
    __table_args__ = (
        # Usage is always summed per provider and class: keep that sum index-only.
        Index("ix_placement_allocations_usage", "resource_provider_id", "resource_class_id",
              "used"),
        TABLE_OPTIONS,
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_alloc_rp"))
    consumer_id: Mapped[str] = mapped_column(String(36), index=True)   # the consumer's uuid
    resource_class_id: Mapped[int] = mapped_column(
        ForeignKey("placement_resource_classes.id", name="fk_placement_alloc_rc"))
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Consumer(Base):
    __tablename__ = "placement_consumers"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    consumer_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("placement_consumer_types.id", name="fk_placement_consumer_type"))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ProviderTrait(Base):
    __tablename__ = "placement_resource_provider_traits"
    __table_args__ = (TABLE_OPTIONS,)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_rp_trait_rp"), primary_key=True)
    trait_id: Mapped[int] = mapped_column(
        ForeignKey("placement_traits.id", name="fk_placement_rp_trait_trait"),
        primary_key=True, index=True)


class ProviderAggregate(Base):
    __tablename__ = "placement_resource_provider_aggregates"
    __table_args__ = (TABLE_OPTIONS,)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey(_RP_ID, name="fk_placement_rp_agg_rp"), primary_key=True)
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
