"""Compute tables, prefixed ``compute_``: services share one database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from ownstack.common.db.base import TABLE_OPTIONS, Base, IPAddress, UTCDateTime, utcnow


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


class Instance(Base):
    """A server. Its flavor is copied in at create, as Nova does, so a later flavor change
    or delete never changes a running server. Deleted servers stay, ``deleted`` set, for
    ``?deleted=true`` listings and usage reports."""

    __tablename__ = "compute_instances"
    __table_args__ = (Index("ix_compute_instances_project_deleted", "project_id", "deleted"),
                      Index("ix_compute_instances_host_deleted", "host", "deleted"),
                      Index("ix_compute_instances_deleted_network_status", "deleted",
                            "network_status"),
                      TABLE_OPTIONS)
    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255))
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str] = mapped_column(String(255))
    host: Mapped[str | None] = mapped_column(String(255))          # compute service host
    node: Mapped[str | None] = mapped_column(String(255))          # hypervisor_hostname
    vm_state: Mapped[str] = mapped_column(String(32))
    task_state: Mapped[str | None] = mapped_column(String(32))
    task_args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    # The flavor as it was at create: flavorid, name, vcpus, ram, disk, ephemeral, swap,
    # rxtx_factor, is_public, description, extra_specs.
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The flavor's vCPUs and RAM again, as columns, so quotas sum them in SQL.
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    image_ref: Mapped[str] = mapped_column(String(255), default="")
    # The image's properties, disk_format and sizes at create, for the scheduler's filters
    # and the driver (hw_*, os_*, min_disk, min_ram, size, virtual_size).
    image_meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_name: Mapped[str | None] = mapped_column(String(255))
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(Text)             # base64, as sent
    # Handed to the guest through the config drive at spawn, then cleared.
    admin_pass: Mapped[str | None] = mapped_column(String(255))
    # What the guest posted to the metadata service's password path (Nova keeps it in
    # system metadata): written once, read back by the guest.
    password: Mapped[str | None] = mapped_column(Text)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    # The zone the user asked for at create (2.96's pinned_availability_zone); the
    # conductor fills availability_zone with the chosen host's zone when this is empty.
    requested_availability_zone: Mapped[str | None] = mapped_column(String(255))
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[str] = mapped_column(String(255))
    access_ip_v4: Mapped[str | None] = mapped_column(IPAddress)
    access_ip_v6: Mapped[str | None] = mapped_column(IPAddress)
    # The request's networks: "none", "auto" or a list of {"uuid"|"port"|"fixed_ip"}.
    requested_networks: Mapped[Any] = mapped_column(JSON, default=list)
    # What the API resolved that request to, with the caller's token: one item per port
    # the server gets, {"network_id", "port_id", "fixed_ip", "tag"} ("auto" became the one
    # network the project has; "none" and an "auto" with no network are []).
    network_requests: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The security groups asked for, resolved: [{"id", "name"}] (None: the default group).
    security_groups: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # The network info cache (Nova's instance_info_caches): one VIF per port, as
    # ownstack.compute.netinfo builds it; what ``addresses`` and the agent's NICs read.
    network_info: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Whether ports may exist for this server: None (never asked for), "allocating"
    # (the conductor is making them), "allocated", "released" (cleaned up after delete).
    network_status: Mapped[str | None] = mapped_column(String(16))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))      # "owner" or "admin"
    locked_reason: Mapped[str | None] = mapped_column(Text)
    # Hosts a boot has tried, so a retry goes elsewhere.
    attempts: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The latest fault: {"code", "message", "details", "created"}; null once cleared.
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every write, for compare-and-swap and for changes-since ordering.
    generation: Mapped[int] = mapped_column(Integer, default=0)


class InstanceMetadata(Base):
    __tablename__ = "compute_instance_metadata"
    __table_args__ = (UniqueConstraint("instance_uuid", "key"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


class InstanceTag(Base):
    __tablename__ = "compute_instance_tags"
    __table_args__ = (TABLE_OPTIONS,)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(60), primary_key=True)


class InstanceAction(Base):
    """One user request on a server (create, stop, reboot ...), under its request id."""

    __tablename__ = "compute_instance_actions"
    __table_args__ = (Index("ix_compute_instance_actions_instance_request",
                            "instance_uuid", "request_id"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    action: Mapped[str] = mapped_column(String(255))
    request_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(String(255))       # "Error" on failure
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstanceActionEvent(Base):
    """One timed step of an action: a scheduling pass, a spawn phase, a power-off."""

    __tablename__ = "compute_instance_action_events"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(UTCDateTime)
    finish_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(String(255))        # "Success" / "Error"
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[str | None] = mapped_column(Text)


class Aggregate(Base):
    """A host aggregate (``os-aggregates``): a named set of compute hosts with metadata;
    its ``availability_zone`` metadata makes its hosts a zone."""

    __tablename__ = "compute_aggregates"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AggregateHost(Base):
    __tablename__ = "compute_aggregate_hosts"
    __table_args__ = (UniqueConstraint("aggregate_id", "host"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("compute_aggregates.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)


class AggregateMetadata(Base):
    __tablename__ = "compute_aggregate_metadata"
    __table_args__ = (UniqueConstraint("aggregate_id", "key"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("compute_aggregates.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))


# The metadata key that makes an aggregate's hosts an availability zone.
ZONE_KEY = "availability_zone"


def aggregate_zone_of(host: Any) -> Any:
    """The zone the aggregates of ``host`` (a column) put it in, or NULL: one at most,
    since the aggregate API refuses a host in two aggregates of different zones."""
    return (sa.select(sa.func.min(AggregateMetadata.value))
            .join(AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
            .where(AggregateHost.host == host, AggregateMetadata.key == ZONE_KEY)
            .correlate_except(AggregateHost, AggregateMetadata)
            .scalar_subquery())


class ComputeService(Base):
    """A running nova-compute (or conductor) equivalent: ``os-services``."""

    __tablename__ = "compute_services"
    __table_args__ = (UniqueConstraint("host", "binary"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))               # "nova-compute", ...
    topic: Mapped[str | None] = mapped_column(String(255))
    # The zone its agent reports (``compute.availability_zone``): the host's zone unless
    # an aggregate with an availability_zone holds it (``zone``), Nova's default zone.
    availability_zone: Mapped[str] = mapped_column(String(255), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[datetime | None] = mapped_column(UTCDateTime)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The host's effective zone, read with the row: its aggregates' zone, else its own.
    zone: Mapped[str] = column_property(sa.func.coalesce(aggregate_zone_of(host),
                                                         availability_zone))


class ComputeNode(Base):
    """A hypervisor (``os-hypervisors``); its uuid is its Placement resource provider's."""

    __tablename__ = "compute_nodes"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("compute_services.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255))
    hypervisor_hostname: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    host_ip: Mapped[str | None] = mapped_column(String(39))
    cpu_info: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ServerGroup(Base):
    __tablename__ = "compute_server_groups"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    # affinity, anti-affinity, soft-affinity, soft-anti-affinity
    policy: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # max_server_per_host
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerGroupMember(Base):
    __tablename__ = "compute_server_group_members"
    __table_args__ = (TABLE_OPTIONS,)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("compute_server_groups.id", ondelete="CASCADE"), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class Quota(Base):
    """A per-project (or per project and user) override of a default quota."""

    __tablename__ = "compute_quotas"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "resource"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), default="")  # "" for the project
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    """A quota class's limit of one resource (``os-quota-class-sets``). Only the
    ``default`` class has effect: its rows override the configured defaults."""

    __tablename__ = "compute_quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"), TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class ProjectLock(Base):
    """One row per project, updated first by every quota-counted create, so concurrent
    creates in one project take turns (a row lock on PostgreSQL and MariaDB, the write lock
    on SQLite) and each counts what the others committed."""

    __tablename__ = "compute_project_locks"
    __table_args__ = (TABLE_OPTIONS,)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class BlockDeviceMapping(Base):
    """Nova's block device mapping: one disk of a server that is not its image's root
    overlay, for now a volume attached to it (``source_type=volume``,
    ``destination_type=volume``). Boot from volume adds rows with ``boot_index`` 0 and the
    other sources (``image``, ``snapshot``, ``blank``) that become volumes at boot.

    ``attach_state`` is compute's own progress with the volume (the volume service keeps
    its own status): ``attaching`` (the API reserved an attachment; the agent has to
    connect, plug and complete it), ``attached`` (plugged, part of the guest's recipe),
    ``detaching`` (the agent has to unplug it and delete the attachment). Deleted rows
    stay, ``deleted`` set, as Nova's do."""

    __tablename__ = "compute_block_device_mappings"
    __table_args__ = (Index("ix_compute_bdm_instance_deleted", "instance_uuid", "deleted"),
                      Index("ix_compute_bdm_volume_deleted", "volume_id", "deleted"),
                      TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("compute_instances.uuid", ondelete="CASCADE"))
    source_type: Mapped[str] = mapped_column(String(16))       # volume|image|snapshot|blank
    destination_type: Mapped[str] = mapped_column(String(16))  # volume|local
    boot_index: Mapped[int | None] = mapped_column(Integer)    # None: not bootable
    device_name: Mapped[str | None] = mapped_column(String(255))   # "/dev/vdb"
    device_type: Mapped[str | None] = mapped_column(String(16))    # "disk"
    disk_bus: Mapped[str | None] = mapped_column(String(16))       # "virtio"
    guest_format: Mapped[str | None] = mapped_column(String(255))
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    volume_id: Mapped[str | None] = mapped_column(String(36))
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    volume_size: Mapped[int | None] = mapped_column(Integer)       # GiB
    volume_type: Mapped[str | None] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(60))
    # The volume service's attachment (3.27+), and what its update with this host's
    # connector answered (decision 41's file connection_info).
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attach_state: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
class Migration(Base):
    """A resize or cold migration of one server (Nova's ``migrations`` table).

    While it is in flight its ``uuid`` is a Placement consumer holding the server's old
    allocation, as Nova holds it; the server's own uuid holds the new flavor's."""

    __tablename__ = "compute_migrations"
    __table_args__ = (Index("ix_compute_migrations_instance_status", "instance_uuid", "status"),
                      Index("ix_compute_migrations_status_updated", "status", "updated_at"),
                      TABLE_OPTIONS)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    source_compute: Mapped[str | None] = mapped_column(String(255))
    source_node: Mapped[str | None] = mapped_column(String(255))
    dest_compute: Mapped[str | None] = mapped_column(String(255))
    dest_node: Mapped[str | None] = mapped_column(String(255))
    dest_host: Mapped[str | None] = mapped_column(String(255))
    # pre-migrating, migrating, post-migrating, finished, confirming, confirmed,
    # reverting, reverted, error (Nova's words).
    status: Mapped[str] = mapped_column(String(32))
    migration_type: Mapped[str] = mapped_column(String(32))        # resize, migration
    old_instance_type_id: Mapped[int | None] = mapped_column(Integer)   # compute_flavors.id
    new_instance_type_id: Mapped[int | None] = mapped_column(Integer)
    old_flavor: Mapped[dict[str, Any]] = mapped_column(JSON)       # the servers' flavor dicts
    new_flavor: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
class ConsoleAuthToken(Base):
    """Nova's ``console_auth_tokens``: a console URL's token, stored as its SHA-256 only,
    bound to one instance and its host's console socket, and removed when used once (see
    :mod:`ownstack.compute.objects.console_tokens`)."""

    __tablename__ = "compute_console_auth_tokens"
    __table_args__ = (TABLE_OPTIONS,)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(String(255))       # novnc, serial
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=0)         # 0: a Unix socket
    internal_access_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    access_url_base: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expires: Mapped[int] = mapped_column(Integer, index=True)     # Unix time, as Nova's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
