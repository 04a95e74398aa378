"""The services this build of ownstack runs, their ports and their catalog entries.

Each later service (image, placement, compute, network, volume) adds one line here and
is then started by ``ownstack up`` and registered in the catalog by bootstrap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.identity.bootstrap import CatalogEntry


@dataclass(frozen=True)
class ServiceSpec:
    type: str
    name: str
    port: Callable[[Config], int]
    catalog_path: str
    make_app: Callable[[Config, Peers], Any]
    health_path: str = "/"
    description: str = ""

    def catalog_entry(self, config: Config) -> CatalogEntry:
        return CatalogEntry(type=self.type, name=self.name,
                            url=config.public_url(self.port(config), self.catalog_path),
                            description=self.description)

    def local_url(self, config: Config) -> str:
        """Where ``ownstack status`` and the health check reach the service."""
        host = config.cloud.bind_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.port(config)}"


def _identity_app(config: Config, peers: Peers) -> Any:
    from ownstack.identity.app import make_app

    return make_app(config)


def _image_app(config: Config, peers: Peers) -> Any:
    from ownstack.image.app import make_app

    return make_app(config, peers)


def _placement_app(config: Config, peers: Peers) -> Any:
    from ownstack.placement.app import make_app

    return make_app(config, peers)


def _compute_app(config: Config, peers: Peers) -> Any:
    from ownstack.compute.app import make_app

    return make_app(config, peers)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(type="identity", name="keystone", port=lambda c: c.identity.port,
                catalog_path="/v3", make_app=_identity_app, health_path="/v3",
                description="Identity service (ownstack.identity)"),
    ServiceSpec(type="image", name="glance", port=lambda c: c.image.port,
                catalog_path="", make_app=_image_app, health_path="/versions",
                description="Image service (ownstack.image)"),
    ServiceSpec(type="placement", name="placement", port=lambda c: c.placement.port,
                catalog_path="", make_app=_placement_app, health_path="/",
                description="Placement service (ownstack.placement)"),
    ServiceSpec(type="compute", name="nova", port=lambda c: c.compute.port,
                catalog_path="/v2.1", make_app=_compute_app, health_path="/v2.1",
                description="Compute service (ownstack.compute)"),
)
