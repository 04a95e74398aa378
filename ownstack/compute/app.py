"""The compute service's ASGI app; the one module that imports its routes (decision 27)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import REQUEST_ID_HEADERS, ServiceApp
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.service import service_app
from ownstack.compute.api.routes import ROUTES
from ownstack.compute.errors import format_error
from ownstack.compute.state import SERVICE_TYPE, ComputeState


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[ComputeState]:
    svc = ComputeState(config, peers, engine)
    return service_app(SERVICE_TYPE, svc, ROUTES, format_error, validator=svc.identity,
                       body_limit=config.compute.max_request_body_size,
                       # Nova sends its own name for the request id beside the common one.
                       request_id_headers=(*REQUEST_ID_HEADERS, "X-Compute-Request-Id"))
