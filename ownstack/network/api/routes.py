"""The network service: every URL, method and handler in one table (Networking v2.0)."""

from __future__ import annotations

from ownstack.common.api.routing import Handler, RouteTable
from ownstack.network.api.handlers import (
    agents,
    diagnostics,
    floatingips,
    ip_availability,
    networks,
    ports,
    quotas,
    rbac,
    root,
    routers,
    subnetpools,
    subnets,
    tags,
    zones,
)
from ownstack.network.api.handlers import security_groups as sg


def _tag_routes(collections: list[str]) -> dict[str, dict[str, Handler]]:
    routes: dict[str, dict[str, Handler]] = {}
    for collection in collections:
        base = f"/v2.0/{tags.PATHS[collection]}/{{resource_id}}/tags"
        routes[base] = {"GET": tags.list_tags, "PUT": tags.replace_tags,
                        "DELETE": tags.delete_tags}
        routes[f"{base}/{{tag}}"] = {"GET": tags.show_tag, "PUT": tags.add_tag,
                                     "DELETE": tags.delete_tag}
    return routes


ROUTES: RouteTable = {
    "/": {"GET": root.versions},
    "/v2.0": {"GET": root.resources},
    "/v2.0/extensions": {"GET": root.list_extensions},
    "/v2.0/extensions/{alias}": {"GET": root.show_extension},
    "/v2.0/networks": {"GET": networks.list_networks, "POST": networks.create_network},
    "/v2.0/networks/{network_id}": {"GET": networks.show_network,
                                    "PUT": networks.update_network,
                                    "DELETE": networks.delete_network},
    "/v2.0/availability_zones": {"GET": zones.list_availability_zones},
    "/v2.0/ports": {"GET": ports.list_ports, "POST": ports.create_port},
    "/v2.0/ports/{port_id}": {"GET": ports.show_port, "PUT": ports.update_port,
                              "DELETE": ports.delete_port},
    "/v2.0/ports/{port_id}/diagnostics": {"GET": diagnostics.port_diagnostics},
    "/v2.0/agents": {"GET": agents.list_agents},
    "/v2.0/agents/{agent_id}": {"GET": agents.show_agent, "PUT": agents.update_agent,
                                "DELETE": agents.delete_agent},
    "/v2.0/agents/{agent_id}/dhcp-networks": {"GET": networks.list_agent_dhcp_networks},
    "/v2.0/networks/{network_id}/dhcp-agents": {"GET": agents.list_network_dhcp_agents},
    "/v2.0/networks/{network_id}/diagnostics": {"GET": diagnostics.network_diagnostics},
    "/v2.0/rbac-policies": {"GET": rbac.list_rbac_policies, "POST": rbac.create_rbac_policy},
    "/v2.0/rbac-policies/{policy_id}": {"GET": rbac.show_rbac_policy,
                                        "PUT": rbac.update_rbac_policy,
                                        "DELETE": rbac.delete_rbac_policy},
    "/v2.0/security-groups": {"GET": sg.list_security_groups,
                              "POST": sg.create_security_group},
    "/v2.0/security-groups/{security_group_id}": {"GET": sg.show_security_group,
                                                  "PUT": sg.update_security_group,
                                                  "DELETE": sg.delete_security_group},
    "/v2.0/security-group-rules": {"GET": sg.list_security_group_rules,
                                   "POST": sg.create_security_group_rules},
    "/v2.0/security-group-rules/{security_group_rule_id}": {
        "GET": sg.show_security_group_rule, "DELETE": sg.delete_security_group_rule},
    "/v2.0/quotas": {"GET": quotas.list_quotas},
    "/v2.0/quotas/project": {"GET": quotas.show_own_project},
    "/v2.0/quotas/tenant": {"GET": quotas.show_own_project},
    "/v2.0/quotas/{project_id}": {"GET": quotas.show_quota, "PUT": quotas.update_quota,
                                  "DELETE": quotas.delete_quota},
    "/v2.0/quotas/{project_id}/default": {"GET": quotas.show_default_quota},
    "/v2.0/quotas/{project_id}/details": {"GET": quotas.show_quota_details},
    "/v2.0/subnets": {"GET": subnets.list_subnets, "POST": subnets.create_subnet},
    "/v2.0/subnets/{subnet_id}": {"GET": subnets.show_subnet, "PUT": subnets.update_subnet,
                                  "DELETE": subnets.delete_subnet},
    "/v2.0/subnetpools": {"GET": subnetpools.list_subnetpools,
                          "POST": subnetpools.create_subnetpool},
    "/v2.0/subnetpools/{subnetpool_id}": {"GET": subnetpools.show_subnetpool,
                                          "PUT": subnetpools.update_subnetpool,
                                          "DELETE": subnetpools.delete_subnetpool},
    "/v2.0/routers": {"GET": routers.list_routers, "POST": routers.create_router},
    "/v2.0/routers/{router_id}": {"GET": routers.show_router, "PUT": routers.update_router,
                                  "DELETE": routers.delete_router},
    "/v2.0/routers/{router_id}/diagnostics": {"GET": diagnostics.router_diagnostics},
    "/v2.0/routers/{router_id}/add_router_interface": {"PUT": routers.add_router_interface},
    "/v2.0/routers/{router_id}/remove_router_interface": {
        "PUT": routers.remove_router_interface},
    "/v2.0/routers/{router_id}/add_extraroutes": {"PUT": routers.add_extraroutes},
    "/v2.0/routers/{router_id}/remove_extraroutes": {"PUT": routers.remove_extraroutes},
    "/v2.0/floatingips": {"GET": floatingips.list_floating_ips,
                          "POST": floatingips.create_floating_ip},
    "/v2.0/floatingips/{floatingip_id}": {"GET": floatingips.show_floating_ip,
                                          "PUT": floatingips.update_floating_ip,
                                          "DELETE": floatingips.delete_floating_ip},
    "/v2.0/floatingip_pools": {"GET": floatingips.list_floating_ip_pools},
    "/v2.0/network-ip-availabilities": {"GET": ip_availability.list_availabilities},
    "/v2.0/network-ip-availabilities/{network_id}": {"GET": ip_availability.show_availability},
    **_tag_routes(sorted(tags.FINDERS)),
}
