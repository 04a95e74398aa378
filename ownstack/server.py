"""Run every service of the all-in-one cloud in one process, one uvicorn server per port."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Generator

import uvicorn

from ownstack.common.config import Config
from ownstack.common.db import migrate
from ownstack.common.db.engine import make_engine
from ownstack.identity.bootstrap import bootstrap
from ownstack.identity.service import IdentityService
from ownstack.peers import Peers
from ownstack.services import SERVICES
from ownstack.state import read_admin_password, read_service_password

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
        svc = IdentityService(config, engine)
        svc.keys.setup()
        await bootstrap(svc, admin_password=read_admin_password(config),
                        service_password=read_service_password(config),
                        catalog=[spec.catalog_entry(config) for spec in SERVICES])
    finally:
        await engine.dispose()


async def serve(config: Config) -> None:
    await initialise(config)
    servers: list[_Server] = []
    peers = Peers(config)
    for spec in SERVICES:
        app = spec.make_app(config, peers)
        peers.apps[spec.type] = app
        uv_config = uvicorn.Config(app, host=config.cloud.bind_host, port=spec.port(config),
                                   log_config=None, access_log=False, lifespan="on",
                                   loop="none", http="httptools", server_header=False)
        servers.append(_Server(uv_config))

    def stop(signum: int) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        for server in servers:
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
    await asyncio.gather(*(server.serve() for server in servers))
    if any(not server.started for server in servers):
        raise SystemExit("a service failed to start; see the log above")
