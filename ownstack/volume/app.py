"""The volume service's ASGI app; the one module that imports its routes (decision 27)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.peers import Peers
from ownstack.common.service import service_app
from ownstack.volume.api.routes import ROUTES
from ownstack.volume.errors import format_error
from ownstack.volume.state import SERVICE_TYPE, VolumeState


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None
             ) -> ServiceApp[VolumeState]:
    svc = VolumeState(config, peers, engine)
    return service_app(SERVICE_TYPE, svc, ROUTES, format_error, validator=svc.identity,
                       body_limit=config.volume.max_request_body_size)
