"""Run every service of the all-in-one cloud in one process, one uvicorn server per port."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Generator

import uvicorn

from ownstack.common.config import Config
from ownstack.common.db import migrate
from ownstack.common.db.engine import make_engine
from ownstack.common.peers import Peers
from ownstack.common.statedir import read_admin_password, read_service_password
from ownstack.identity.bootstrap import bootstrap
from ownstack.identity.state import IdentityState
from ownstack.services import SERVICES

log = logging.getLogger("ownstack.server")


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve`, which runs several."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def initialise(config: Config) -> None:
    """Migrate every service's schema and bootstrap identity. Idempotent, run at each start
    so that a moved address or a new service lands in the catalog."""
    engine = make_engine(config.database_url, echo=config.database.echo)
    try:
        for spec in SERVICES:
            await migrate.upgrade(engine, spec.type)
        svc = IdentityState(config, engine)
        svc.keys.setup()
        await bootstrap(svc, admin_password=read_admin_password(config),
                        service_password=read_service_password(config),
                        catalog=[spec.catalog_entry(config) for spec in SERVICES])
    finally:
        await engine.dispose()


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


async def serve(config: Config) -> None:
    sockets: dict[str, socket.socket] = {}
    try:
        for spec in SERVICES:
            sockets[spec.type] = listen(config.cloud.bind_host, spec.port(config), spec.type)
        await _serve(config, sockets)
    finally:
        for sock in sockets.values():
            sock.close()


async def _serve(config: Config, sockets: dict[str, socket.socket]) -> None:
    await initialise(config)
    servers: list[tuple[_Server, socket.socket]] = []
    peers = Peers(config)
    for spec in SERVICES:
        app = spec.make_app(config, peers)
        peers.apps[spec.type] = app
        uv_config = uvicorn.Config(app, host=config.cloud.bind_host, port=spec.port(config),
                                   log_config=None, access_log=False, lifespan="on",
                                   loop="none", http="httptools", server_header=False)
        servers.append((_Server(uv_config), sockets[spec.type]))

    def stop(signum: int) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        for server, _ in servers:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    for spec in SERVICES:
        log.info("%s listening on %s", spec.type, spec.local_url(config))
    # Everything built so far (modules, metadata, apps) lives as long as the process: keep it
    # out of the cyclic collector, whose full passes over it otherwise stall large responses
    # (allocation candidates at 1000 providers) by 100 ms and more.
    gc.freeze()
    await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))
    if any(not server.started for server, _ in servers):
        raise SystemExit("a service failed to start; see the log above")
