"""The network service: every URL, method and handler in one table (Networking v2.0)."""

from __future__ import annotations

from ownstack.common.api.routing import Handler, RouteTable
from ownstack.network.api.handlers import networks, ports, root, tags


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
    "/v2.0/ports": {"GET": ports.list_ports, "POST": ports.create_port},
    "/v2.0/ports/{port_id}": {"GET": ports.show_port, "PUT": ports.update_port,
                              "DELETE": ports.delete_port},
    **_tag_routes(sorted(tags.FINDERS)),
}
