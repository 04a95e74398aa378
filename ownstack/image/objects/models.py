"""Image tables, prefixed ``image_``: services share one database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownstack.common.db.base import Base, UTCDateTime, utcnow

ID = String(64)


class Image(Base):
    __tablename__ = "image_image"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)   # a dashed UUID, as Glance
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    # queued -> saving -> active; deactivated; killed. Deleted images are removed.
    status: Mapped[str] = mapped_column(String(30), default="queued", index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="shared", index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(ID, index=True)
    disk_format: Mapped[str | None] = mapped_column(String(20))
    container_format: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    # What qemu-img found in the uploaded bytes (qcow2, raw, vmdk, ...).
    detected_format: Mapped[str | None] = mapped_column(String(20))
    # Free-form properties (os_distro, hw_*, owner_specified.openstack.*, ...): str -> str.
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Every write is a compare-and-swap on this counter (objects/images.py save_image).
    generation: Mapped[int] = mapped_column(Integer, default=0)


class ImageTag(Base):
    __tablename__ = "image_tag"
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_image.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_member"
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("image_image.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(ID, primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # accepted, rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Metadata definitions (Glance's /v2/metadefs catalog, decision 69). Names are Glance's
# lengths: 80 characters; a namespace's contents go with it (ON DELETE CASCADE).

class MetadefNamespace(Base):
    __tablename__ = "image_metadef_namespace"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _namespace_fk() -> Mapped[int]:
    return mapped_column(Integer, ForeignKey("image_metadef_namespace.id",
                                             ondelete="CASCADE"), index=True)


class MetadefObject(Base):
    __tablename__ = "image_metadef_object"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list[str] | None] = mapped_column(JSON)
    # name -> a property's definition, as /v2/schemas/metadefs/property describes one
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MetadefProperty(Base):
    __tablename__ = "image_metadef_property"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MetadefTag(Base):
    __tablename__ = "image_metadef_tag"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = _namespace_fk()
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MetadefResourceType(Base):
    __tablename__ = "image_metadef_resource_type"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # The seeded types (migration 0002); those an association made are not.
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class MetadefResourceTypeAssociation(Base):
    __tablename__ = "image_metadef_resource_type_association"
    namespace_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("image_metadef_namespace.id", ondelete="CASCADE"),
        primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("image_metadef_resource_type.id", ondelete="CASCADE"),
        primary_key=True, index=True)
    prefix: Mapped[str | None] = mapped_column(String(80))
    properties_target: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ImageTask(Base):
    """A task of ``/v2/tasks`` (Glance's legacy tasks API): ``pending -> processing ->
    success | failure``; a finished task is removed once ``expires_at`` has passed."""

    __tablename__ = "image_task"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), index=True)
    owner: Mapped[str] = mapped_column(ID, index=True)
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    user_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
