"""Network tables, prefixed ``network_``: services share one database.

Every resource carries Neutron's standard attributes (:class:`StandardAttributes`): a
project, a name and description, times, and a ``revision_number`` that each change bumps
(``If-Match: revision_number=N`` compares against it). Tags of every kind of resource
live in one table.

Races are settled by unique constraints, not by reading first: an address is taken by
inserting its row into ``network_ip_allocations`` (unique per subnet), a VXLAN id by the
unique ``(network_type, segmentation_id)`` of the networks, a MAC by the unique
``(network_id, mac_address)`` of the ports, a project's one default security group by the
unique ``(project_id, default_marker)``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
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


class StandardAttributes:
    """Neutron's standard attributes, on every resource table."""

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Network(StandardAttributes, Base):
    __tablename__ = "network_networks"
    __table_args__ = (UniqueConstraint("network_type", "segmentation_id",
                                       name="uq_network_networks_segment"),
                      TABLE_OPTIONS)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    mtu: Mapped[int] = mapped_column(Integer)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    network_type: Mapped[str] = mapped_column(String(32))
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)


class Subnet(StandardAttributes, Base):
    __tablename__ = "network_subnets"
    __table_args__ = (TABLE_OPTIONS,)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), index=True)
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    subnetpool_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_subnetpools.id"), index=True)


class SubnetPool(StandardAttributes, Base):
    __tablename__ = "network_subnetpools"
    __table_args__ = (TABLE_OPTIONS,)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    # Bumped by compare-and-swap on every prefix handed out, so that two concurrent
    # allocations from one pool cannot both succeed on what each read (never shown).
    generation: Mapped[int] = mapped_column(Integer, default=0)


class Port(StandardAttributes, Base):
    __tablename__ = "network_ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address",
                                       name="uq_network_ports_mac"),
                      Index("ix_network_ports_device_id", "device_id"),
                      # A network's ports in the order of their ids (a listing's, paged
                      # or not) without sorting them.
                      Index("ix_network_ports_network_id_id", "network_id", "id"),
                      TABLE_OPTIONS)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"))
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # DOWN until every part of the network that serves it reports it provisioned: the
    # agent of the bound host, and its network's DHCP server (ProvisioningBlock).
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # Indexed: the hosts a port change concerns are read from the bound ports.
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class IpAllocation(Base):
    """One address of one port: the row whose insertion takes the address."""

    __tablename__ = "network_ip_allocations"
    __table_args__ = (TABLE_OPTIONS,)
    subnet_id: Mapped[str] = mapped_column(
        ForeignKey("network_subnets.id", ondelete="CASCADE"), primary_key=True)
    ip_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(String(UUID_LENGTH), index=True)


class SecurityGroup(StandardAttributes, Base):
    __tablename__ = "network_security_groups"
    __table_args__ = (UniqueConstraint("project_id", "default_marker",
                                       name="uq_network_security_groups_default"),
                      TABLE_OPTIONS)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    # True on a project's one "default" group and NULL on every other (NULLs never clash).
    default_marker: Mapped[bool | None] = mapped_column(Boolean)


class SecurityGroupRule(StandardAttributes, Base):
    __tablename__ = "network_security_group_rules"
    __table_args__ = (TABLE_OPTIONS,)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(16))
    protocol: Mapped[str | None] = mapped_column(String(40))
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)


class PortSecurityGroup(Base):
    __tablename__ = "network_port_security_groups"
    __table_args__ = (TABLE_OPTIONS,)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id"), primary_key=True, index=True)


class Tag(Base):
    """A tag on any resource; resource ids are uuids, unique across kinds."""

    __tablename__ = "network_tags"
    __table_args__ = (TABLE_OPTIONS,)
    resource_id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(32))


class Quota(Base):
    """A project's limit on one resource; absent means the configured default."""

    __tablename__ = "network_quotas"
    __table_args__ = (TABLE_OPTIONS,)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)


class RbacPolicy(Base):
    """Who else may use a network: ``access_as_shared`` (ports on it) or
    ``access_as_external`` (router gateways and floating IPs on it), for one project or
    for every project (``target_project`` ``*``). A network's ``shared`` and ``external``
    columns say whether a ``*`` row of each action exists, so that listings need no join."""

    __tablename__ = "network_rbac_policies"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action", "target_project",
                                       name="uq_network_rbac_policies_grant"),
                      TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(UUID_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(PROJECT_LENGTH), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NetworkAgent(Base):
    """One agent of one host, as Neutron's ``agents`` table: upserted by each of its
    heartbeats (``report_agent`` on the bus), one row per ``(agent_type, host)``. Whether
    it is alive is the age of its heartbeat, read against ``network.agent_down_time``."""

    __tablename__ = "network_agents"
    __table_args__ = (UniqueConstraint("agent_type", "host",
                                       name="uq_network_agents_type_host"),
                      TABLE_OPTIONS)
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    agent_type: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(255))
    topic: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(String(DESCRIPTION_LENGTH), default="")
    configurations: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DhcpAgentBinding(Base):
    """Which network agent serves a network's DHCP, as Neutron's
    ``networkdhcpagentbindings`` with one agent per network: the scheduler inserts it,
    and the primary key settles two schedulers racing for one network. It goes with its
    network or its agent."""

    __tablename__ = "network_dhcp_agent_bindings"
    __table_args__ = (TABLE_OPTIONS,)
    network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(
        ForeignKey("network_agents.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProvisioningBlock(Base):
    """What a port still waits for before it may go ACTIVE, as Neutron's
    ``provisioningblocks``: one row per entity that has not yet reported the port
    provisioned (``L2``: its host's agent has not wired it; ``DHCP``: its network's DHCP
    server has not loaded its host entry). See :mod:`.provisioning`. It goes with its
    port."""

    __tablename__ = "network_provisioning_blocks"
    __table_args__ = (TABLE_OPTIONS,)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Router(StandardAttributes, Base):
    """A router: its interfaces are :class:`RouterPort` rows, its gateway a port on an
    external network (``gw_port_id``), its extra routes a JSON list."""

    __tablename__ = "network_routers"
    __table_args__ = (TABLE_OPTIONS,)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_network_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_networks.id"), index=True)
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id"))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)


class RouterPort(Base):
    """A port of a router: an interface (``network:router_interface``) or its gateway
    (``network:router_gateway``). A port belongs to one router at most: its primary key."""

    __tablename__ = "network_router_ports"
    __table_args__ = (TABLE_OPTIONS,)
    port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), primary_key=True)
    router_id: Mapped[str] = mapped_column(
        ForeignKey("network_routers.id", ondelete="CASCADE"), index=True)
    port_type: Mapped[str] = mapped_column(String(255))


class FloatingIP(StandardAttributes, Base):
    """A floating IP: an address of an external network (held by its own port,
    ``floating_port_id``), mapped to one fixed IP of a port behind ``router_id``.

    The unique ``(floating_network_id, fixed_port_id, fixed_ip_address)`` is Neutron's: two
    concurrent associations of one fixed IP cannot both win (NULLs, unassociated, never
    clash)."""

    __tablename__ = "network_floating_ips"
    __table_args__ = (UniqueConstraint("floating_network_id", "fixed_port_id",
                                       "fixed_ip_address",
                                       name="uq_network_floating_ips_fixed"),
                      TABLE_OPTIONS)
    floating_network_id: Mapped[str] = mapped_column(
        ForeignKey("network_networks.id"), index=True)
    floating_port_id: Mapped[str] = mapped_column(
        ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    fixed_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_ports.id", ondelete="SET NULL"), index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_routers.id"), index=True)
    # DOWN until the agent that serves the router reports it ACTIVE (never the API).
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
