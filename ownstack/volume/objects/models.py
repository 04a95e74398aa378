"""Volume tables, prefixed ``volume_``: services share one database.

A volume row *is* the desired state its host's agent works toward (decisions 41, 59): its
``work`` says what the agent has to do (``creating``, ``deleting``, ``extending``,
``uploading``, ``reverting``), written only by the API action that asks for it beside the
status it shows; ``task`` holds the arguments of that work, and the agent's report moves
it on and clears ``work``. ``status`` alone asks nothing: an admin's reset-status writes
it and clears ``work``. ``status_at`` is when the status last changed, which the sweeps read
(an attach that compute never finished, a task whose agent is gone).

Quotas are counted from these rows under a per-project lock (:class:`ProjectLock`), as
compute counts servers: a volume counts from its insert until its row is removed.
Metadata lives in tables of its own, so that list filters on it are SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ownstack.common.db.base import TABLE_OPTIONS, Base, UTCDateTime, utcnow

UUID_LENGTH = 36
PROJECT_LENGTH = 255
NAME_LENGTH = 255
DESCRIPTION_LENGTH = 255
STATUS_LENGTH = 32


class VolumeType(Base):
    __tablename__ = "volume_types"
    __table_args__ = (UniqueConstraint("name", name="uq_volume_types_name"), TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    qos_specs_id: Mapped[str | None] = mapped_column(
        ForeignKey("volume_qos_specs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    __table_args__ = (TABLE_OPTIONS,)
    type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id", ondelete="CASCADE"),
                                         primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class TypeEncryption(Base):
    """A volume type's encryption (Cinder's ``encryption`` table): what a volume of the
    type would be encrypted with. ownstack has no key manager, so no volume is ever made
    of such a type (decision 73); the row is the admin's statement, kept and shown."""

    __tablename__ = "volume_type_encryption"
    __table_args__ = (UniqueConstraint("type_id", name="uq_volume_type_encryption_type"),
                      TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(255))
    cipher: Mapped[str | None] = mapped_column(String(255))
    key_size: Mapped[int | None] = mapped_column(Integer)
    control_location: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TypeProject(Base):
    """A project that may use a private volume type."""

    __tablename__ = "volume_type_projects"
    __table_args__ = (TABLE_OPTIONS,)
    type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id", ondelete="CASCADE"),
                                         primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), primary_key=True)


class DefaultType(Base):
    """A project's own default volume type (3.62), over ``volume.default_volume_type``."""

    __tablename__ = "volume_default_types"
    __table_args__ = (TABLE_OPTIONS,)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), primary_key=True)
    type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), index=True)


class QosSpecs(Base):
    __tablename__ = "volume_qos_specs"
    __table_args__ = (UniqueConstraint("name", name="uq_volume_qos_specs_name"), TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    consumer: Mapped[str] = mapped_column(String(16), default="back-end")
    specs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Volume(Base):
    __tablename__ = "volume_volumes"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    size: Mapped[int] = mapped_column(Integer)                   # GiB
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), index=True)
    previous_status: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))
    availability_zone: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255), index=True)   # the agent's host
    backend: Mapped[str | None] = mapped_column(String(64))            # its driver
    type_id: Mapped[str] = mapped_column(ForeignKey("volume_types.id"), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH))
    source_volid: Mapped[str | None] = mapped_column(String(UUID_LENGTH))
    image_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    # None until os-update_readonly_flag sets it: Cinder shows the key once it was set.
    read_only: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_location: Mapped[str | None] = mapped_column(String(1024))
    format: Mapped[str | None] = mapped_column(String(16))          # qcow2, raw, ...
    # The work the API asked of the host's agent (decision 59), None when there is none.
    work: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))
    # The arguments of the work ``status`` asks for (an upload's image, a revert's
    # snapshot, an extend's old size), and the reason of the last failure.
    task: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    image_metadata: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The generic volume group the volume belongs to (3.13+), None when none.
    group_id: Mapped[str | None] = mapped_column(
        ForeignKey("volume_groups.id"), index=True, nullable=True)


class VolumeMetadata(Base):
    __tablename__ = "volume_volume_metadata"
    __table_args__ = (TABLE_OPTIONS,)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Snapshot(Base):
    __tablename__ = "volume_snapshots"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), index=True)
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    provider_location: Mapped[str | None] = mapped_column(String(1024))
    work: Mapped[str | None] = mapped_column(String(STATUS_LENGTH))     # creating, deleting
    task: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The group snapshot the snapshot was made for (3.14+), None when none.
    group_snapshot_id: Mapped[str | None] = mapped_column(
        ForeignKey("volume_group_snapshots.id"), index=True, nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnapshotMetadata(Base):
    __tablename__ = "volume_snapshot_metadata"
    __table_args__ = (TABLE_OPTIONS,)
    snapshot_id: Mapped[str] = mapped_column(
        ForeignKey("volume_snapshots.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Transfer(Base):
    """A volume offered to another project (Cinder's ``transfers``), from its create to
    its accept or delete, which remove the row. Only the auth key's salted hash is kept;
    the key itself is shown once, by the create."""

    __tablename__ = "volume_transfers"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    source_project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    salt: Mapped[str] = mapped_column(String(64))
    crypt_hash: Mapped[str] = mapped_column(String(128))
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """One attachment of a volume to a server (Cinder's ``volume_attachment``)."""

    __tablename__ = "volume_attachments"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    volume_id: Mapped[str] = mapped_column(
        ForeignKey("volume_volumes.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(UUID_LENGTH), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    attach_mode: Mapped[str] = mapped_column(String(8), default="null")
    # reserved, attaching, attached, detaching (Cinder's attach statuses)
    attach_status: Mapped[str] = mapped_column(String(STATUS_LENGTH))
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attach_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detach_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VolumeService(Base):
    """One volume service of one host, upserted by its heartbeats: an agent
    (``cinder-volume``, with its backend) or the volume API that schedules
    (``cinder-scheduler``, no backend)."""

    __tablename__ = "volume_services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uq_volume_services_host"),
                      TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(UUID_LENGTH))
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Quota(Base):
    __tablename__ = "volume_quotas"
    __table_args__ = (TABLE_OPTIONS,)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    """A quota class's limit of one resource (``os-quota-class-sets``). Only the
    ``default`` class has effect: its rows override ``volume.quota.*``."""

    __tablename__ = "volume_quota_classes"
    __table_args__ = (TABLE_OPTIONS,)
    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(300), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ProjectLock(Base):
    """One row per project, updated first by every quota-counted create or extend, so
    concurrent ones in a project take turns and each counts what the others committed."""

    __tablename__ = "volume_project_locks"
    __table_args__ = (TABLE_OPTIONS,)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """A user message (Cinder's ``messages``, 3.3): what went wrong with an action the API
    had already answered 202 for, in Cinder's fixed vocabulary (an action and a detail,
    never the exception's text), kept until ``expires_at``."""

    __tablename__ = "volume_messages"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    request_id: Mapped[str] = mapped_column(String(255))
    resource_type: Mapped[str] = mapped_column(String(36))
    resource_uuid: Mapped[str | None] = mapped_column(String(UUID_LENGTH), index=True)
    event_id: Mapped[str] = mapped_column(String(255))
    action_id: Mapped[str] = mapped_column(String(10))
    detail_id: Mapped[str] = mapped_column(String(10))
    message_level: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class GroupType(Base):
    """A generic volume group type (3.11): what a group's volumes have in common."""

    __tablename__ = "volume_group_types"
    __table_args__ = (UniqueConstraint("name", name="uq_volume_group_types_name"),
                      TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupTypeSpec(Base):
    __tablename__ = "volume_group_type_specs"
    __table_args__ = (TABLE_OPTIONS,)
    group_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_group_types.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Group(Base):
    """A generic volume group (3.13). Its volumes carry its id; while they are made
    (create-from-src) or removed (delete with its volumes) the group shows ``creating``
    or ``deleting``, and the agents' reports of its volumes move it on
    (:mod:`ownstack.volume.objects.groups`)."""

    __tablename__ = "volume_groups"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), index=True)
    availability_zone: Mapped[str] = mapped_column(String(255))
    group_type_id: Mapped[str] = mapped_column(ForeignKey("volume_group_types.id"),
                                               index=True)
    volume_type_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH))
    source_group_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupSnapshot(Base):
    """A snapshot of every volume of a group at once (3.14): one :class:`Snapshot` per
    member, made and removed by the members' agents; the group snapshot's status follows
    theirs."""

    __tablename__ = "volume_group_snapshots"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    group_id: Mapped[str] = mapped_column(ForeignKey("volume_groups.id"), index=True)
    group_type_id: Mapped[str] = mapped_column(String(UUID_LENGTH))
    name: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION_LENGTH))
    status: Mapped[str] = mapped_column(String(STATUS_LENGTH), index=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
