"""Compute tables, prefixed ``compute_``: services share one database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownstack.common.db.base import TABLE_OPTIONS, Base, UTCDateTime, utcnow


class Flavor(Base):
    __tablename__ = "compute_flavors"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlavorExtraSpec(Base):
    __tablename__ = "compute_flavor_extra_specs"
    __table_args__ = (UniqueConstraint("flavor_id", "key"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    __tablename__ = "compute_flavor_projects"
    __table_args__ = (UniqueConstraint("flavor_id", "project_id"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("compute_flavors.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(255))


class KeyPair(Base):
    __tablename__ = "compute_key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
