"""The factory of the compute service's ASGI app: its state, routes and error format.

The only module of the service that imports its routes, so handlers can import the state
(``Req``) without a cycle.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.compute.api.routes import ROUTES
from ownstack.compute.errors import format_error
from ownstack.compute.state import SERVICE_TYPE, ComputeState


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[ComputeState]:
    svc = ComputeState(config, peers, engine)
    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=format_error,
                      validator=svc.identity, body_limit=config.compute.max_request_body_size,
                      on_startup=[svc.start], on_shutdown=[svc.stop],
                      access_log=config.log.access_log,
                      # Nova sends its own name for the request id beside the common one.
                      request_id_headers=("X-Openstack-Request-Id", "X-Compute-Request-Id"))
