"""Every role ownstack can run, in one registry: the API services and the workers.

* **API services** (:data:`API_SERVICES`): identity, image, placement, compute, network and
  volume; each one ASGI app on its own port, registered in the catalog (volume under the
  types ``block-storage`` and ``volumev3``, as clients look it up); and compute's metadata
  service
  (port 8775), which guests reach through the network side's proxies and which, as in
  Nova, is in no catalog and has no schema of its own; and the console proxies (ports 6080
  and 6083, Nova's ``nova-novncproxy`` and ``nova-serialproxy``), in no catalog either. The
  role ``api`` runs them all.
* **Workers** (:data:`WORKERS`): the ``conductor`` (scheduling and the instance state
  machine), ``compute`` (this machine's compute agent), ``network`` (this machine's
  network agent) and ``volume`` (this machine's volume agent). A worker is built from config,
  the bus and service clients acting as the services' own user (:class:`Peers`), never
  from an API app's state, so it runs beside the APIs or in a process of its own.

``ownstack up`` runs every role in one process by default (config ``roles``, or
``ownstack up --roles api,conductor`` for a subset).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ownstack.common.catalog import CatalogEntry
from ownstack.common.config import Config, ConfigError
from ownstack.common.peers import Peers

API = "api"


@dataclass(frozen=True)
class ApiService:
    type: str
    name: str
    port: Callable[[Config], int]
    catalog_path: str
    make_app: Callable[[Config, Peers], Any]
    health_path: str = "/"
    in_catalog: bool = True         # False: the metadata service, which Nova lists nowhere
    schema: str | None = ""         # whose migrations it runs: "" its type's, None: none
    catalog_types: tuple[str, ...] = ()     # the catalog's types for it; () : its own type

    @property
    def description(self) -> str:
        """What the catalog says the service is."""
        return f"{self.type.capitalize()} service (ownstack.{self.type})"

    def catalog_entry(self, config: Config) -> CatalogEntry:
        """Its first catalog entry (where ``ownstack status`` says it is)."""
        return self.catalog_entries(config)[0]

    def catalog_entries(self, config: Config) -> list[CatalogEntry]:
        """One entry per catalog type, all at the same URL."""
        url = config.public_url(self.port(config), self.catalog_path)
        return [CatalogEntry(type=kind, name=self.name, url=url, description=self.description)
                for kind in self.catalog_types or (self.type,)]

    def local_url(self, config: Config) -> str:
        """Where ``ownstack status`` and the health check reach the service."""
        host = config.cloud.bind_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self.port(config)}"


class Worker(Protocol):
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class WorkerRole:
    name: str
    description: str
    start: Callable[[Peers], Awaitable[Worker]]


def _identity_app(config: Config, peers: Peers) -> Any:
    from ownstack.identity.app import make_app

    return make_app(config, peers)


def _image_app(config: Config, peers: Peers) -> Any:
    from ownstack.image.app import make_app

    return make_app(config, peers)


def _placement_app(config: Config, peers: Peers) -> Any:
    from ownstack.placement.app import make_app

    return make_app(config, peers)


def _compute_app(config: Config, peers: Peers) -> Any:
    from ownstack.compute.app import make_app

    return make_app(config, peers)


def _metadata_app(config: Config, peers: Peers) -> Any:
    from ownstack.compute.metadata.service import make_app

    return make_app(config, peers)


def _network_app(config: Config, peers: Peers) -> Any:
    from ownstack.network.app import make_app

    return make_app(config, peers)


def _volume_app(config: Config, peers: Peers) -> Any:
    from ownstack.volume.app import make_app

    return make_app(config, peers)


def _novncproxy_app(config: Config, peers: Peers) -> Any:
    from ownstack.compute.consoleproxy.app import make_novnc_app

    return make_novnc_app(config, peers)


def _serialproxy_app(config: Config, peers: Peers) -> Any:
    from ownstack.compute.consoleproxy.app import make_serial_app

    return make_serial_app(config, peers)


async def _conductor(peers: Peers) -> Worker:
    from ownstack.compute.conductor.worker import start_conductor

    return await start_conductor(peers)


async def _compute_agents(peers: Peers) -> Worker:
    from ownstack.compute.agent.runner import start_compute_agents

    return await start_compute_agents(peers)


async def _network_agent(peers: Peers) -> Worker:
    from ownstack.network.agent.runner import start_network_agent

    return await start_network_agent(peers)


async def _volume_agent(peers: Peers) -> Worker:
    from ownstack.volume.agent.runner import start_volume_agent

    return await start_volume_agent(peers)


API_SERVICES: tuple[ApiService, ...] = (
    ApiService(type="identity", name="keystone", port=lambda c: c.identity.port,
               catalog_path="/v3", make_app=_identity_app, health_path="/v3"),
    ApiService(type="image", name="glance", port=lambda c: c.image.port,
               catalog_path="", make_app=_image_app, health_path="/versions"),
    ApiService(type="placement", name="placement", port=lambda c: c.placement.port,
               catalog_path="", make_app=_placement_app, health_path="/"),
    ApiService(type="compute", name="nova", port=lambda c: c.compute.port,
               catalog_path="/v2.1", make_app=_compute_app, health_path="/v2.1"),
    ApiService(type="network", name="neutron", port=lambda c: c.network.port,
               catalog_path="", make_app=_network_app, health_path="/"),
    # Cinder's catalog path names the project (identity substitutes it per token); the
    # service also answers without it (3.67's project-less URLs).
    ApiService(type="volume", name="cinderv3", port=lambda c: c.volume.port,
               catalog_path="/v3/%(project_id)s", make_app=_volume_app, health_path="/",
               catalog_types=("block-storage", "volumev3")),
    ApiService(type="metadata", name="nova-metadata", port=lambda c: c.metadata.port,
               catalog_path="", make_app=_metadata_app, health_path="/", in_catalog=False,
               schema=None),
    # The console proxies, as Nova's nova-novncproxy and nova-serialproxy: in no catalog
    # (clients get their URLs from the compute API), on compute's tables.
    ApiService(type="novncproxy", name="nova-novncproxy",
               port=lambda c: c.console.novncproxy_port, catalog_path="",
               make_app=_novncproxy_app, health_path="/vnc_lite.html", in_catalog=False,
               schema=None),
    ApiService(type="serialproxy", name="nova-serialproxy",
               port=lambda c: c.console.serialproxy_port, catalog_path="",
               make_app=_serialproxy_app, health_path="/", in_catalog=False, schema=None),
)

CATALOG_SERVICES: tuple[ApiService, ...] = tuple(s for s in API_SERVICES if s.in_catalog)

WORKERS: tuple[WorkerRole, ...] = (
    WorkerRole(name="conductor", start=_conductor,
               description="scheduling and the instance state machine"),
    WorkerRole(name="compute", start=_compute_agents,
               description="this machine's compute agent (compute.driver)"),
    WorkerRole(name="network", start=_network_agent,
               description="this machine's network agent (network.driver)"),
    WorkerRole(name="volume", start=_volume_agent,
               description="this machine's volume agent (volume.driver)"),
)

ROLE_NAMES: tuple[str, ...] = (API, *(w.name for w in WORKERS))


@dataclass(frozen=True)
class Selection:
    """The roles one process runs."""

    api: bool
    workers: tuple[WorkerRole, ...]

    @property
    def services(self) -> tuple[ApiService, ...]:
        return API_SERVICES if self.api else ()

    @property
    def names(self) -> tuple[str, ...]:
        return ((API,) if self.api else ()) + tuple(w.name for w in self.workers)

    @property
    def everything(self) -> bool:
        return set(self.names) == set(ROLE_NAMES)


def select(config: Config) -> Selection:
    """The roles ``config.roles`` names; :class:`ConfigError` for an unknown one or none."""
    names = [name.strip() for name in config.roles.split(",") if name.strip()]
    unknown = [name for name in names if name not in ROLE_NAMES]
    if unknown:
        raise ConfigError(f"roles: unknown role {unknown[0]!r}; the roles are "
                          f"{', '.join(ROLE_NAMES)}")
    if not names:
        raise ConfigError(f"roles: name at least one of {', '.join(ROLE_NAMES)}")
    return Selection(api=API in names, workers=tuple(w for w in WORKERS if w.name in names))


def check_process_can_run(config: Config, selection: Selection) -> None:
    """A process that runs only some roles talks to the others over the bus, so the bus
    must cross processes: the in-process bus would leave its roles talking to nobody,
    unless ``roles_alone`` says the roles left out are meant to run nowhere."""
    if not selection.everything and config.bus.url in ("", "memory://") \
            and not config.roles_alone:
        raise ConfigError(
            f"roles: running {','.join(selection.names)} without the other roles needs a "
            f"bus that crosses processes; set bus.url=amqp://user:password@host:5672/ "
            f"(or roles_alone=true, for the other roles to run nowhere)")
