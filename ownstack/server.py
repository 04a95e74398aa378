"""Run the roles of one process (see :mod:`ownstack.roles`): the API services, one uvicorn
server per port, and the workers, all on one event loop.

Start-up goes in timed phases, logged and written to the state directory for
``ownstack up`` to print: ``imports`` (from the interpreter's first line of ownstack to
every module the roles need), ``migration check`` (each service's schema at its head),
``bootstrap`` (identity's default domain, users, roles and catalog), then each role. The
APIs start first, so the workers find them; on the way down the workers stop first, so
nothing they do is cut off from the APIs. Once the start is reported, each service's
prebuilt reads are compiled (:func:`compile_prebuilt_reads`), outside the phases.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import signal
import socket
import time
from collections.abc import Generator, Iterable

import uvicorn

from ownstack.common.config import Config
from ownstack.common.db import migrate
from ownstack.common.db.engine import make_engine
from ownstack.common.heap import keep_heap_top
from ownstack.common.peers import Peers
from ownstack.common.phases import PhaseClock
from ownstack.common.service import ServiceState
from ownstack.common.statedir import read_admin_password, read_service_password, write_startup
from ownstack.roles import (
    API_SERVICES,
    CATALOG_SERVICES,
    Selection,
    Worker,
    check_process_can_run,
    select,
)

log = logging.getLogger("ownstack.server")

# The modules each role needs, imported up front so that their cost is the ``imports``
# phase and not hidden in the first request.
_ROLE_MODULES = {
    "api": ("ownstack.identity.app", "ownstack.identity.bootstrap", "ownstack.image.app",
            "ownstack.placement.app", "ownstack.compute.app", "ownstack.network.app",
            "ownstack.volume.app", "ownstack.compute.consoleproxy.app"),
    "conductor": ("ownstack.compute.conductor.worker",),
    "compute": ("ownstack.compute.agent.runner",),
    "network": ("ownstack.network.agent.runner",),
    "volume": ("ownstack.volume.agent.runner",),
}


# Seconds an idle client connection stays open. The openstack CLI's --wait polls every 5 s
# on one kept-alive connection; uvicorn's default of 5 s closes it just as the next poll
# is sent, and the client sees "Connection reset by peer". Far longer than any polling
# interval, as nginx's 75 s.
KEEP_ALIVE = 75


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve`, which runs several."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def migrate_all(config: Config) -> None:
    """Bring every service's schema to its head (a check when it is there already)."""
    engine = make_engine(config.database_url, echo=config.database.echo)
    try:
        for spec in API_SERVICES:
            if spec.schema is not None:
                await migrate.upgrade(engine, spec.schema or spec.type)
    finally:
        await engine.dispose()


async def bootstrap_identity(config: Config) -> None:
    """Identity's bootstrap, idempotent and run at each start, so that a moved address or
    a new service lands in the catalog."""
    from ownstack.identity.bootstrap import bootstrap
    from ownstack.identity.state import IdentityState

    svc = IdentityState(config)
    try:
        svc.keys.setup()
        svc.credential_keys.setup()
        await bootstrap(svc, admin_password=read_admin_password(config),
                        service_password=read_service_password(config),
                        catalog=[entry for spec in CATALOG_SERVICES
                                 for entry in spec.catalog_entries(config)])
    finally:
        await svc.db.close()


async def initialise(config: Config) -> None:
    """Migrate every service's schema and bootstrap identity."""
    await migrate_all(config)
    await bootstrap_identity(config)


def listen(host: str, port: int, service: str) -> socket.socket:
    """A listening socket for one service, or a clear exit naming the service and address.

    Every port is bound before anything starts, so a port that is taken stops the whole
    cloud at once with one readable line, rather than after the other services came up."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        log.error("%s cannot listen on %s:%s: %s", service, host, port, exc.strerror or exc)
        raise SystemExit(1) from exc


async def serve(config: Config, clock: PhaseClock | None = None) -> None:
    """Run the roles ``config.roles`` names until SIGTERM or SIGINT. ``clock`` started when
    the process did (``ownstack/__main__.py``), so the imports count."""
    clock = clock or PhaseClock()
    keep_heap_top()         # large request bodies arrive in pieces: see common/heap.py
    selection = select(config)
    check_process_can_run(config, selection)
    sockets: dict[str, socket.socket] = {}
    try:
        for spec in selection.services:
            sockets[spec.type] = listen(config.cloud.bind_host, spec.port(config), spec.type)
        await _serve(config, selection, sockets, clock)
    finally:
        for sock in sockets.values():
            sock.close()


async def _serve(config: Config, selection: Selection, sockets: dict[str, socket.socket],
                 clock: PhaseClock) -> None:
    for name in selection.names:
        for module in _ROLE_MODULES[name]:
            importlib.import_module(module)
    clock.mark("imports", clock.started)
    if selection.api or any(w.name == "conductor" for w in selection.workers):
        with clock.phase("migration check"):
            await migrate_all(config)
    if selection.api:
        with clock.phase("bootstrap"):
            await bootstrap_identity(config)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _on_signal, signum, stopping)

    peers = Peers(config)
    servers: list[_Server] = []
    server_tasks: list[asyncio.Task[None]] = []
    workers: list[Worker] = []
    try:
        if selection.api:
            with clock.phase("api"):
                servers, server_tasks = await _start_apis(config, peers, sockets)
        for role in selection.workers:
            with clock.phase(role.name):
                workers.append(await role.start(peers))
        for spec in selection.services:
            log.info("%s listening on %s", spec.type, spec.local_url(config))
        log.info("started %s in %.2fs: %s", ",".join(selection.names), clock.total,
                 clock.summary())
        write_startup(config, {"pid": os.getpid(), "roles": list(selection.names),
                               "seconds": round(clock.total, 3),
                               "phases": [[name, round(seconds, 3)]
                                          for name, seconds in clock.phases]})
        # Everything built so far (modules, metadata, apps) lives as long as the process:
        # keep it out of the cyclic collector, whose full passes over it otherwise stall
        # large responses (allocation candidates at 1000 providers) by 100 ms and more.
        gc.freeze()
        if selection.api:
            # After the report, so that ``ownstack up`` does not wait for it (0.15-0.3 s):
            # a user's first command comes later than that (decision 101).
            await compile_prebuilt_reads(peers.apps.values())
            gc.freeze()
        await _until_stopped(stopping, server_tasks)
    finally:
        for worker in reversed(workers):
            await _stop_quietly(worker)
        for server in servers:
            server.should_exit = True
        if server_tasks:
            await asyncio.gather(*server_tasks, return_exceptions=True)
        await peers.aclose()


async def _start_apis(config: Config, peers: Peers, sockets: dict[str, socket.socket]
                      ) -> tuple[list[_Server], list[asyncio.Task[None]]]:
    """Every API service's app on its socket; returns once all of them listen."""
    servers: list[_Server] = []
    for spec in API_SERVICES:
        app = spec.make_app(config, peers)
        peers.apps[spec.type] = app
        uv_config = uvicorn.Config(app, host=config.cloud.bind_host, port=spec.port(config),
                                   log_config=None, access_log=False, lifespan="on",
                                   loop="none", http="httptools", server_header=False,
                                   timeout_keep_alive=KEEP_ALIVE)
        servers.append(_Server(uv_config))
    tasks = [asyncio.get_running_loop().create_task(server.serve(sockets=[sockets[spec.type]]))
             for server, spec in zip(servers, API_SERVICES, strict=True)]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            raise SystemExit("a service failed to start; see the log above")
        await asyncio.sleep(0.005)
    return servers, tasks


async def compile_prebuilt_reads(apps: Iterable[object]) -> int:
    """Each service's prebuilt reads compiled into its engine's statement cache (see
    :meth:`ServiceState.compile_prebuilt_reads`), so that no request's first use waits for
    it. Returns how many ran."""
    started = time.perf_counter()
    ran = 0
    for app in apps:
        svc = getattr(app, "svc", None)
        if not isinstance(svc, ServiceState):
            continue
        try:
            ran += await svc.compile_prebuilt_reads()
        except Exception:
            # Only the first requests' latency is at stake: the cloud serves on.
            log.exception("compiling the prebuilt reads of %s failed", svc.prebuilt_package)
    log.info("compiled %d prebuilt reads in %.2fs", ran, time.perf_counter() - started)
    return ran


async def _until_stopped(stopping: asyncio.Event, server_tasks: list[asyncio.Task[None]]
                         ) -> None:
    """Wait for a stop signal, or for an API server that ended by itself."""
    signalled = asyncio.ensure_future(stopping.wait())
    await asyncio.wait([signalled, *server_tasks], return_when=asyncio.FIRST_COMPLETED)
    signalled.cancel()


def _on_signal(signum: int, stopping: asyncio.Event) -> None:
    log.info("received %s, shutting down", signal.Signals(signum).name)
    stopping.set()


async def _stop_quietly(worker: Worker) -> None:
    try:
        await worker.stop()
    except Exception:
        log.exception("stopping %r failed", worker)
