"""The extensions ``/v2.0/extensions`` lists: only those ownstack truly implements.

Clients decide what to send by these aliases (openstacksdk and the CLI probe for
``security-group``, ``external-net``, ``router``...; Tempest skips tests of extensions
that are not listed), so listing one that does not work would break them, and leaving
one out hides a feature. Each entry names the module that implements it; a test keeps
that true.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Extension:
    alias: str
    name: str
    description: str
    module: str                   # where it lives, for the test that checks it does
    updated: str = "2024-01-01T00:00:00-00:00"


EXTENSIONS: Final = (
    Extension("project-id", "project_id field enabled",
              "Extension that indicates that project_id field is enabled.",
              "ownstack.network.api.views.networks"),
    Extension("standard-attr-description", "standard-attr-description",
              "Extension to add descriptions to standard attributes",
              "ownstack.network.objects.models"),
    Extension("standard-attr-timestamp", "Resource timestamps",
              "Adds created_at and updated_at fields to all Neutron resources that have "
              "Neutron standard attributes.", "ownstack.network.objects.standard"),
    Extension("standard-attr-revisions", "Resource revision numbers",
              "This extension will display the revision number of neutron resources.",
              "ownstack.network.objects.standard"),
    Extension("revision-if-match", "If-Match constraints based on revision_number",
              "Extension indicating that If-Match based on revision_number is supported.",
              "ownstack.network.objects.standard"),
    Extension("standard-attr-tag", "Tag support for resources with standard attribute",
              "Enables to set tag on resources with standard attribute.",
              "ownstack.network.api.handlers.tags"),
    Extension("pagination", "Pagination support", "Extension that indicates that pagination "
              "is enabled.", "ownstack.network.objects.listing"),
    Extension("sorting", "Sorting support", "Extension that indicates that sorting is "
              "enabled.", "ownstack.network.objects.listing"),
    Extension("filter-validation", "Filter parameters validation",
              "Provides validation on filter parameters.", "ownstack.network.objects.listing"),
    Extension("external-net", "Neutron external network",
              "Adds external network attribute to network resource.",
              "ownstack.network.objects.networks"),
    Extension("provider", "Provider Network", "Expose mapping of virtual networks to "
              "physical networks", "ownstack.network.objects.networks"),
    Extension("net-mtu", "Network MTU", "Provides MTU attribute for a network resource.",
              "ownstack.network.objects.networks"),
    Extension("net-mtu-writable", "Network MTU (writable)",
              "Provides a writable MTU attribute for a network resource.",
              "ownstack.network.objects.networks"),
    Extension("port-security", "Port Security", "Provides port security",
              "ownstack.network.objects.networks"),
    Extension("agent", "agent", "The agent management extension.",
              "ownstack.network.api.handlers.agents", "2013-02-03T10:00:00-00:00"),
    Extension("dhcp_agent_scheduler", "DHCP Agent Scheduler",
              "Schedule networks among dhcp agents", "ownstack.network.objects.dhcp",
              "2013-02-07T10:00:00-00:00"),
    Extension("availability_zone", "Availability Zone",
              "The availability zone extension.", "ownstack.network.api.views.networks"),
    Extension("network_availability_zone", "Network Availability Zone",
              "Availability zone support for network.", "ownstack.network.api.views.networks"),
    Extension("rbac-policies", "RBAC Policies", "Allows creation and modification of "
              "policies that control tenant access to resources.",
              "ownstack.network.objects.rbac"),
    Extension("l2_adjacency", "L2 Adjacency", "Display L2 Adjacency for Neutron Networks.",
              "ownstack.network.api.views.networks"),
    Extension("security-group", "security-group", "The security groups extension.",
              "ownstack.network.objects.security_groups", "2012-10-05T10:00:00-00:00"),
    Extension("stateful-security-group", "Stateful security group",
              "Indicates if the security group is stateful or not",
              "ownstack.network.objects.security_groups", "2019-11-26T09:00:00-00:00"),
    Extension("security-groups-normalized-cidr",
              "Normalized CIDR field for security group rules",
              "Add new field with normalized remote_ip_prefix cidr in SG rule",
              "ownstack.network.api.views.security_groups", "2020-07-28T10:00:00-00:00"),
    Extension("security-groups-rules-belongs-to-default-sg",
              "Security group rule belongs to the project's default security group",
              "Flag to determine if the security group rule belongs to the project's "
              "default security group", "ownstack.network.api.views.security_groups",
              "2023-05-23T10:00:00-00:00"),
    Extension("quotas", "Quota management support",
              "Expose functions for quotas management per project",
              "ownstack.network.api.handlers.quotas", "2012-07-29T10:00:00-00:00"),
    Extension("quota_details", "Quota details management support",
              "Expose functions for quotas usage statistics per project",
              "ownstack.network.api.handlers.quotas", "2017-02-10T10:00:00-00:00"),
    Extension("subnet_allocation", "Subnet Allocation", "Enables allocation of subnets "
              "from a subnet pool", "ownstack.network.objects.subnetpools"),
    Extension("default-subnetpools", "Default Subnetpools", "Provides ability to mark and "
              "use a subnetpool as the default.", "ownstack.network.objects.subnets"),
    Extension("network-ip-availability", "Network IP Availability",
              "Provides IP availability data for each network and subnet.",
              "ownstack.network.objects.ip_availability"),
    Extension("binding", "Port Binding", "Expose port bindings of a virtual port to "
              "external application", "ownstack.network.objects.ports"),
    Extension("allowed-address-pairs", "Allowed Address Pairs",
              "Provides allowed address pairs", "ownstack.network.objects.ports"),
    Extension("fixed-ip-substring", "IP address substring filtering",
              "Provides IP address substring filtering when listing ports",
              "ownstack.network.objects.ports"),
    Extension("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding "
              "between L2 Neutron networks and access to external networks via a NAT "
              "gateway.", "ownstack.network.objects.routers", "2012-07-20T10:00:00-00:00"),
    Extension("ext-gw-mode", "Neutron L3 Configurable external gateway mode",
              "Extension of the router abstraction for specifying whether SNAT should "
              "occur on the external gateway", "ownstack.network.objects.routers",
              "2013-03-28T10:00:00-00:00"),
    Extension("extraroute", "Neutron Extra Route", "Extra routes configuration for L3 "
              "router", "ownstack.network.objects.routers", "2013-02-01T10:00:00-00:00"),
    Extension("extraroute-atomic", "Atomically add/remove extra routes",
              "Edit extra routes of a router on server side by atomically adding/removing "
              "extra routes", "ownstack.network.api.handlers.routers"),
    Extension("router_availability_zone", "Router Availability Zone",
              "Availability zone support for router.", "ownstack.network.api.views.routers"),
    Extension("fip-port-details", "Floating IP Port Details Extension",
              "Add port_details attribute to Floating IP resource",
              "ownstack.network.api.views.floatingips"),
    Extension("floatingip-pools", "Floating IP Pools",
              "Provides a floating IP pools API.", "ownstack.network.api.handlers.floatingips"),
)
