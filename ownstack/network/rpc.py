"""The network bus contract: who serves which topic, and what each message carries.

Network agents reach the control plane only through the bus, never the database (so a
network node needs no database credentials), as compute agents do
(:mod:`ownstack.compute.rpc`). Two kinds of topic:

``network`` (served by every network API process; competing consumers)
    Calls from agents. Every payload is JSON.

``network.<host>`` (served by that host's network agent)
    Nudges from the network service, and questions ``ownstack show port`` asks.

A cast is a nudge, never the only record of work: the port rows hold the desired state
(which host a port is bound to, and everything about it), so a lost cast is repaired by the
agent's next resync (``network.resync_interval``). Every method is idempotent.

Network service methods (topic ``network``)
-------------------------------------------
``report_agent`` (call, from an agent at start-up and every ``network.report_interval``)
    ``{"host", "agent_type", "binary", "topic", "availability_zone", "configurations": {...}}``
    (``configurations`` as Neutron's agents report them: the driver, bridge mappings,
    tunnel address, device counts). Upserts the agent row of ``(agent_type, host)``: its
    heartbeat, and ``started_at`` when ``"start_flag": true`` (the first report of a
    process). Returns ``{"id": str, "admin_state_up": bool}``.
``host_ports`` (call, from an agent's resync)
    ``{"host"}`` -> ``{"ports": [PortInfo]}``: every port whose ``binding:host_id`` is
    ``host``: the desired state of the host.
``host_networks`` (call) ``{"host"}`` -> ``{"networks": [NetworkInfo]}``: the networks of
    those ports.
``get_port`` (call) ``{"port_id"}`` -> ``{"port": PortInfo | None}``; ``None`` for a port
    that does not exist (any more). The agent compares its ``host`` with its own.
    A ``PortInfo`` carries the rules of each of its security groups
    (``security_group_rules``), so a rule change makes the port's desired state differ.
``group_members`` (call) ``{"security_group_ids": [str]}`` ->
    ``{"members": {group_id: {"v4": [str], "v6": [str]}}}``: the fixed IPs and allowed
    address pair IPs (or CIDRs) of every port in each group, bound anywhere; what a rule
    with that ``remote_group_id`` matches. A group that does not exist has no members.
``dhcp_networks`` (call, from an agent's resync when its driver has the DHCP capability)
    ``{"host"}`` -> ``{"networks": [DhcpNetworkInfo]}``: every network whose DHCP the
    host's agent serves (:mod:`ownstack.network.objects.dhcp`). A DHCP network with no
    agent yet is given one first (the alive DHCP-capable agent serving the fewest).
``get_dhcp_network`` (call) ``{"network_id", "host"}`` -> ``{"network": DhcpNetworkInfo |
    None}``: what dnsmasq needs for one network; ``None`` when ``host`` does not serve it
    (any more): no DHCP subnet, another agent, or the network is gone.
``port_status`` (call, from an agent once a port is wired or unwired)
    ``{"port_id", "host", "status": "ACTIVE" | "DOWN"}``. Applied only while the port is
    bound to ``host``: a report from a host the port has left changes nothing. The API
    never sets ACTIVE; ACTIVE clears the port's ``L2`` provisioning block, and the port
    is ACTIVE once nothing else blocks it (its DHCP entry: ``dhcp_ready``); DOWN blocks
    it again. A server's port that turns ACTIVE (or back to DOWN) is told to compute as Neutron does
    (``network-vif-plugged`` / ``network-vif-unplugged``, see
    :mod:`ownstack.network.notifier`). Returns ``{"applied": bool, "status": str | None}``.
``dhcp_ready`` (call, from the DHCP agent once its server has loaded host entries)
    ``{"host", "ports": [DhcpReadyEntry]}``: the entries (port, MAC, addresses) its
    dnsmasq now answers, in bulk, for the ports the network service said wait for them
    (``waiting`` of ``get_dhcp_network``). Each clears the port's ``DHCP`` provisioning
    block when ``host`` serves the port's network and the entry is the port's as it is
    now (:mod:`ownstack.network.objects.provisioning`); a port with nothing else blocking
    it goes ACTIVE and compute hears ``network-vif-plugged`` as from ``port_status``.
    Idempotent. Returns ``{"ports": [the ids whose block it cleared]}``.
``metadata_port`` (call, from an agent's metadata agent, for each guest request)
    ``{"ip_address", "network_id"}`` (a proxy in a ``qdhcp`` namespace) or
    ``{"ip_address", "router_id"}`` (in a ``qrouter`` namespace) ->
    ``{"port": {"id", "device_id", "tenant_id", "network_id"} | None}``: the port that
    holds the guest's source address on that network, or on a network the router has an
    interface on (Neutron's metadata agent asks the same with ``get_ports``);
    ``device_id`` is the instance and ``tenant_id`` the port's project, which the
    metadata service checks against the instance's. ``None`` for an address nobody holds.

Agent methods (topic ``network.<host>``)
----------------------------------------
``port_changed`` (cast) ``{"port_id"}``: a port bound to (or just unbound from) this host
    changed; reconcile it now.
``network_changed`` (cast) ``{"network_id"}``: a network with ports on this host changed
    (its MTU, its admin state); reconcile its ports now.
``security_groups_changed`` (cast) ``{"security_group_ids": [str]}``: the rules of these
    groups changed (a rule made or deleted, a remote group deleted with its rules); the
    agent reconciles its ports in them now. Sent to each host with a port in them.
``group_members_changed`` (cast) ``{"security_group_ids": [str]}``: a port joined or left
    these groups, or changed its addresses; the agent rewrites its sets of them now. Sent
    to each host with a port whose rules name one of them as ``remote_group_id``.
``dhcp_changed`` (cast) ``{"network_id"}``: a subnet or a port of a network this host
    serves (or served) DHCP for changed; reconcile its DHCP server now.
``describe_dhcp`` (call) ``{"network_id"}`` -> ``{"details": {...} | None}``: the host
    objects behind the network's DHCP server (namespace, interface, dnsmasq, leases).
``describe_network`` (call) ``{"network_id"}`` -> ``{"details": {"bridge", "dhcp"} | None}``:
    the network's bridge on this host (its MTU, taps, VXLAN device) and its DHCP server
    here, if any, for ``ownstack show network``.
``describe_port`` (call) ``{"port_id"}`` -> ``{"details": {...} | None}``: the host objects
    behind a port, for ``ownstack show port``.
"""

from __future__ import annotations

from typing import Final, NotRequired, TypedDict

NETWORK_TOPIC: Final = "network"
AGENT_TYPE: Final = "Linux bridge agent"        # Neutron's AGENT_TYPE_LINUXBRIDGE
AGENT_BINARY: Final = "neutron-linuxbridge-agent"
ACTIVE: Final = "ACTIVE"
DOWN: Final = "DOWN"
PORT_STATUSES: Final = (ACTIVE, DOWN)


def agent_topic(host: str) -> str:
    """The topic a host's network agent serves. Host names are bus-safe (checked when the
    agent starts; a port bound to any other name is never nudged)."""
    return f"{NETWORK_TOPIC}.{host}"


class NetworkInfo(TypedDict):
    """A network as an agent needs it: its segment and MTU."""

    id: str
    network_type: str
    segmentation_id: int | None
    physical_network: str | None
    mtu: int
    admin_state_up: bool


class FixedIpInfo(TypedDict):
    subnet_id: str
    ip_address: str


class AddressPairInfo(TypedDict):
    ip_address: str
    mac_address: str


class RuleInfo(TypedDict):
    """One security-group rule's matching fields (:class:`ownstack.network.sg_rules.RuleSpec`)."""

    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None


class MembersInfo(TypedDict):
    v4: list[str]
    v6: list[str]


class PortInfo(TypedDict):
    """A port as an agent needs it: the desired state of one port on one host."""

    id: str
    network_id: str
    host: str                       # binding:host_id ("" when unbound)
    status: str                     # what the control plane says now: ACTIVE or DOWN
    mac_address: str
    admin_state_up: bool
    device_owner: str
    device_id: str
    fixed_ips: list[FixedIpInfo]
    security_groups: list[str]
    security_group_rules: dict[str, list[RuleInfo]]     # group id -> its rules, in order
    port_security_enabled: bool
    allowed_address_pairs: list[AddressPairInfo]
    network: NetworkInfo


# -- routers -----------------------------------------------------------------------------
#
# ``host_routers`` (call) ``{"host"}`` -> ``{"routers": [RouterInfo]}``: every router hosted
#     by ``host`` (its ports are bound there). A router no agent hosts yet is given to the
#     asking agent first when it reports the routers capability (Neutron's auto-scheduling).
# ``get_router`` (call) ``{"router_id"}`` -> ``{"router": RouterInfo | None}``.
# ``router_status`` (call) ``{"router_id", "host", "status"}``: the router's legs and
#     floating IPs are wired (ACTIVE) or not (DOWN) on ``host``; applied to its ports and
#     floating IPs while the router is hosted there.
# ``router_changed`` (cast, to the hosting agent) ``{"router_id"}``.


class RouterAddressInfo(TypedDict):
    subnet_id: str
    ip_address: str
    prefixlen: int
    # The subnet's IPv6 modes and DNS servers (router advertisements); absent from a
    # server older than them, which the agent reads as unset.
    ipv6_ra_mode: NotRequired[str | None]
    ipv6_address_mode: NotRequired[str | None]
    dns_nameservers: NotRequired[list[str]]


class RouterLegInfo(TypedDict):
    port_id: str
    mac_address: str
    status: str
    network: NetworkInfo
    addresses: list[RouterAddressInfo]


class RouterGatewayInfo(TypedDict):
    leg: RouterLegInfo
    next_hops: list[str]            # the external subnets' gateway IPs
    enable_snat: bool


class RouterRouteInfo(TypedDict):
    destination: str
    nexthop: str


class FloatingIpInfo(TypedDict):
    id: str
    floating_ip_address: str
    fixed_ip_address: str
    status: str


class RouterInfo(TypedDict):
    """A router as the agent hosting it needs it."""

    id: str
    host: str                       # the host its ports are bound to ("" when unhosted)
    admin_state_up: bool
    status: str
    interfaces: list[RouterLegInfo]
    gateway: RouterGatewayInfo | None
    routes: list[RouterRouteInfo]
    floating_ips: list[FloatingIpInfo]


class MetadataPort(TypedDict):
    """The port a guest's metadata request came from (``metadata_port``)."""

    id: str
    device_id: str          # the instance
    tenant_id: str          # the port's project, which Nova checks against the instance's
    network_id: str


# -- DHCP (see dhcp_networks, get_dhcp_network and dhcp_changed above) ----------


class HostRouteInfo(TypedDict):
    destination: str
    nexthop: str


class PoolInfo(TypedDict):
    start: str
    end: str


class DhcpSubnetInfo(TypedDict):
    """A subnet as a DHCP server needs it; ``has_router``: a router interface holds its
    gateway address (else the server hands out the metadata route via itself)."""

    id: str
    cidr: str
    ip_version: int
    gateway_ip: str | None
    enable_dhcp: bool
    dns_nameservers: list[str]
    host_routes: list[HostRouteInfo]
    allocation_pools: list[PoolInfo]
    ipv6_ra_mode: str | None
    ipv6_address_mode: str | None
    has_router: bool


class DhcpPortInfo(TypedDict):
    id: str
    mac_address: str
    fixed_ips: list[FixedIpInfo]
    status: str                     # ACTIVE once the serving agent reported it


class DhcpHostInfo(TypedDict):
    """One port's static entry: ``hostname`` is Neutron's default (``host-10-0-0-5``)."""

    port_id: str
    mac_address: str
    fixed_ips: list[FixedIpInfo]
    hostname: str


class DhcpNetworkInfo(TypedDict):
    """A network's DHCP server as the serving host's agent needs it."""

    network: NetworkInfo
    host: str                       # the host serving it
    port: DhcpPortInfo              # its DHCP port (device_owner network:dhcp)
    subnets: list[DhcpSubnetInfo]   # every subnet, DHCP-enabled or not
    hosts: list[DhcpHostInfo]       # every other port of the network with an address
    waiting: list[str]              # the ports waiting for this server's dhcp_ready


class DhcpReadyEntry(TypedDict):
    """One host entry a DHCP server has loaded (``dhcp_ready``)."""

    port_id: str
    mac_address: str
    ip_addresses: list[str]
