"""Neutron's default policy (its "secure RBAC" defaults): admin, member and reader.

Rules keep Neutron's names (``create_network``, ``get_network:provider:network_type``), so
a Neutron policy file applies as it is. Who sees which rows is also decided in SQL by each
kind's visibility clause (another project's resources are 404, never 403); these rules
then decide what the caller may do with what it sees, and which attributes it may set or
read (an attribute rule that fails on a read drops the attribute from the response).
"""

from __future__ import annotations

from typing import Final

ADMIN: Final = "rule:admin_only"
MEMBER: Final = "rule:admin_or_project_member"
READER: Final = "rule:admin_or_project_reader"

_BASE: Final[dict[str, str]] = {
    "context_is_admin": "role:admin",
    "admin_only": "rule:context_is_admin",
    "service_api": "role:service",
    "project_member": "role:member and project_id:%(project_id)s",
    "project_reader": "role:reader and project_id:%(project_id)s",
    "admin_or_project_member": "rule:context_is_admin or rule:project_member",
    "admin_or_project_reader": "rule:context_is_admin or rule:project_reader",
    "shared": "'True':%(shared)s",
    "external": "'True':%(router:external)s",
    "sg_owner": "project_id:%(security_group:project_id)s",
    "network_owner_member": "role:member and project_id:%(network:project_id)s",
    "network_owner_reader": "role:reader and project_id:%(network:project_id)s",
    "admin_or_network_owner_member": "rule:context_is_admin or rule:network_owner_member",
}

_NETWORK: Final[dict[str, str]] = {
    "create_network": MEMBER,
    "create_network:shared": ADMIN,
    "create_network:router:external": ADMIN,
    "create_network:is_default": ADMIN,
    "create_network:segments": ADMIN,
    "create_network:provider:network_type": ADMIN,
    "create_network:provider:physical_network": ADMIN,
    "create_network:provider:segmentation_id": ADMIN,
    "get_network": f"{READER} or rule:shared or rule:external or rule:service_api",
    "get_network:diagnostics": ADMIN,           # ownstack's: the host objects behind it
    "get_network:router:external": "@",
    "get_network:provider:network_type": ADMIN,
    "get_network:provider:physical_network": ADMIN,
    "get_network:provider:segmentation_id": ADMIN,
    "update_network": MEMBER,
    "update_network:shared": ADMIN,
    "update_network:router:external": ADMIN,
    "update_network:is_default": ADMIN,
    "delete_network": MEMBER,
}

# A subnet is the network owner's to add, change and delete; its own project, the network's
# owner and, on a shared network, everyone read it.
_SUBNET: Final[dict[str, str]] = {
    "create_subnet": "rule:admin_or_network_owner_member",
    "get_subnet": f"{READER} or rule:network_owner_reader or rule:shared",
    "update_subnet": "rule:admin_or_network_owner_member",
    "delete_subnet": "rule:admin_or_network_owner_member",
}

_SUBNETPOOL: Final[dict[str, str]] = {
    "create_subnetpool": MEMBER,
    "create_subnetpool:shared": ADMIN,
    "create_subnetpool:is_default": ADMIN,
    "get_subnetpool": f"{READER} or rule:shared",
    "update_subnetpool": MEMBER,
    "update_subnetpool:is_default": ADMIN,
    "delete_subnetpool": MEMBER,
}

# Agents are the cloud's plumbing: its admin's alone (neutron/conf/policies/agent.py).
_AGENT: Final[dict[str, str]] = {
    "get_agent": ADMIN,
    "update_agent": ADMIN,
    "delete_agent": ADMIN,
    "get_dhcp-networks": ADMIN,
    "get_dhcp-agents": ADMIN,
}

_IP_AVAILABILITY: Final[dict[str, str]] = {
    "get_network_ip_availability": ADMIN,
}


_RBAC: Final[dict[str, str]] = {
    "create_rbac_policy": MEMBER,
    "create_rbac_policy:target_tenant": ADMIN,         # checked for the "*" target only
    "get_rbac_policy": READER,
    "update_rbac_policy": MEMBER,
    "update_rbac_policy:target_tenant": ADMIN,
    "delete_rbac_policy": MEMBER,
}

# A rule belongs to its group: the group's project may manage it, whoever made it.
_SG_OWNER_MEMBER: Final = "rule:context_is_admin or (role:member and rule:sg_owner)"
_SG_OWNER_READER: Final = "rule:context_is_admin or (role:reader and rule:sg_owner)"

_SECURITY_GROUP: Final[dict[str, str]] = {
    "create_security_group": MEMBER,
    "get_security_group": READER,
    "update_security_group": MEMBER,
    "delete_security_group": MEMBER,
    "create_security_group_rule": _SG_OWNER_MEMBER,
    "get_security_group_rule": _SG_OWNER_READER,
    "delete_security_group_rule": _SG_OWNER_MEMBER,
}

# Another project's quotas: an admin, or (Neutron 2024.1 and later) that project's manager.
_QUOTA: Final[dict[str, str]] = {
    "get_quota": "rule:context_is_admin or (role:manager and project_id:%(project_id)s)",
    "update_quota": ADMIN,
    "delete_quota": ADMIN,
}

NET_OWNER: Final = "rule:context_is_admin or rule:network_owner_member"
ADMIN_OR_SERVICE: Final = "rule:admin_only or rule:service_api"

# Ports: a member makes ports of its project on any network it sees (a shared one of
# another project too); the network's owner may also choose MACs, addresses and port
# security, and read and delete the ports on its network. Binding is the admin's and the
# compute service's. "device_owner" is checked only for a "network:" owner.
_PORT: Final[dict[str, str]] = {
    "create_port": MEMBER,
    "create_port:device_owner": NET_OWNER,
    "create_port:mac_address": NET_OWNER,
    "create_port:fixed_ips": f"{NET_OWNER} or rule:shared",
    "create_port:fixed_ips:ip_address": NET_OWNER,
    "create_port:fixed_ips:subnet_id": f"{NET_OWNER} or rule:shared",
    "create_port:port_security_enabled": NET_OWNER,
    "create_port:binding:host_id": ADMIN_OR_SERVICE,
    "create_port:binding:profile": ADMIN_OR_SERVICE,
    "create_port:binding:vnic_type": MEMBER,
    "create_port:allowed_address_pairs": NET_OWNER,
    "create_port:allowed_address_pairs:mac_address": NET_OWNER,
    "create_port:allowed_address_pairs:ip_address": NET_OWNER,
    "get_port": f"{READER} or rule:network_owner_reader or rule:service_api",
    "get_port:binding:vif_type": ADMIN_OR_SERVICE,
    "get_port:diagnostics": ADMIN,              # ownstack's: the host objects behind it
    "get_port:binding:vif_details": ADMIN_OR_SERVICE,
    "get_port:binding:host_id": ADMIN_OR_SERVICE,
    "get_port:binding:profile": ADMIN_OR_SERVICE,
    "update_port": f"{MEMBER} or rule:service_api",
    "update_port:device_owner": NET_OWNER,
    "update_port:mac_address": ADMIN_OR_SERVICE,
    "update_port:fixed_ips": NET_OWNER,
    "update_port:fixed_ips:ip_address": NET_OWNER,
    "update_port:fixed_ips:subnet_id": f"{NET_OWNER} or rule:shared",
    "update_port:port_security_enabled": NET_OWNER,
    "update_port:binding:host_id": ADMIN_OR_SERVICE,
    "update_port:binding:profile": ADMIN_OR_SERVICE,
    "update_port:binding:vnic_type": f"{MEMBER} or rule:service_api",
    "update_port:allowed_address_pairs": NET_OWNER,
    "update_port:allowed_address_pairs:mac_address": NET_OWNER,
    "update_port:allowed_address_pairs:ip_address": NET_OWNER,
    "delete_port": f"{MEMBER} or rule:network_owner_member or rule:service_api",
}


# Routers and floating IPs: a project's member makes and changes its own; the SNAT flag and
# the gateway's addresses, and a floating IP's address, are the admin's to choose.
_GW: Final = "external_gateway_info"
_ROUTER: Final[dict[str, str]] = {
    "create_router": MEMBER,
    f"create_router:{_GW}": MEMBER,
    f"create_router:{_GW}:network_id": MEMBER,
    f"create_router:{_GW}:enable_snat": ADMIN,
    f"create_router:{_GW}:external_fixed_ips": ADMIN,
    "get_router": READER,
    "get_router:diagnostics": ADMIN,            # ownstack's: the host objects behind it
    "update_router": MEMBER,
    f"update_router:{_GW}": MEMBER,
    f"update_router:{_GW}:network_id": MEMBER,
    f"update_router:{_GW}:enable_snat": ADMIN,
    f"update_router:{_GW}:external_fixed_ips": ADMIN,
    "delete_router": MEMBER,
    "add_router_interface": MEMBER,
    "remove_router_interface": MEMBER,
    "add_extraroutes": MEMBER,
    "remove_extraroutes": MEMBER,
}

_FLOATINGIP: Final[dict[str, str]] = {
    "create_floatingip": MEMBER,
    "create_floatingip:floating_ip_address": ADMIN,
    "get_floatingip": READER,
    "update_floatingip": MEMBER,
    "delete_floatingip": MEMBER,
    "get_floatingip_pool": "role:reader or role:admin",
}


def _tag_rules(collections: tuple[str, ...]) -> dict[str, str]:
    rules: dict[str, str] = {}
    for collection in collections:
        rules[f"get_{collection}_tags"] = READER
        rules[f"create_{collection}_tags"] = MEMBER
        rules[f"update_{collection}_tags"] = MEMBER
        rules[f"delete_{collection}_tags"] = MEMBER
    return rules


TAGGED: Final = ("networks", "subnets", "ports", "subnetpools", "security_groups", "routers",
                  "floatingips")

DEFAULT_RULES: Final[dict[str, str]] = {
    **_BASE,
    **_NETWORK,
    **_RBAC,
    "get_availability_zone": "role:reader or role:admin",
    **_SECURITY_GROUP,
    **_QUOTA,
    **_SUBNET,
    **_SUBNETPOOL,
    **_IP_AVAILABILITY,
    **_PORT,
    **_AGENT,
    **_ROUTER,
    **_FLOATINGIP,
    **_tag_rules(TAGGED),
}
