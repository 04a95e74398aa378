"""The network service: every URL, method and handler in one table (Networking v2.0)."""

from __future__ import annotations

from ownstack.common.api.routing import Handler, RouteTable
from ownstack.network.api.handlers import (
    ip_availability,
    networks,
    root,
    subnetpools,
    subnets,
    tags,
)


def _tag_routes(collections: list[str]) -> dict[str, dict[str, Handler]]:
    routes: dict[str, dict[str, Handler]] = {}
    for collection in collections:
        base = f"/v2.0/{collection}/{{resource_id}}/tags"
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
    "/v2.0/subnets": {"GET": subnets.list_subnets, "POST": subnets.create_subnet},
    "/v2.0/subnets/{subnet_id}": {"GET": subnets.show_subnet, "PUT": subnets.update_subnet,
                                  "DELETE": subnets.delete_subnet},
    "/v2.0/subnetpools": {"GET": subnetpools.list_subnetpools,
                          "POST": subnetpools.create_subnetpool},
    "/v2.0/subnetpools/{subnetpool_id}": {"GET": subnetpools.show_subnetpool,
                                          "PUT": subnetpools.update_subnetpool,
                                          "DELETE": subnetpools.delete_subnetpool},
    "/v2.0/network-ip-availabilities": {"GET": ip_availability.list_availabilities},
    "/v2.0/network-ip-availabilities/{network_id}": {"GET": ip_availability.show_availability},
    **_tag_routes(sorted(tags.FINDERS)),
}
