"""The identity service's ASGI app; the one module that imports its routes (decision 27)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
from ownstack.common.service import service_app
from ownstack.identity.api.routes import ROUTES
from ownstack.identity.errors import format_error
from ownstack.identity.state import SERVICE_TYPE, IdentityState


def make_app(config: Config, peers: Peers | None = None, engine: AsyncEngine | None = None
             ) -> ServiceApp[IdentityState]:
    """``peers`` is unused: identity is the service the others ask, and asks nobody."""
    svc = IdentityState(config, engine)

    def identity_error(exc: OwnstackError, request_id: str
                       ) -> tuple[dict[str, Any], dict[str, str]]:
        return format_error(exc, request_id, auth_uri=svc.public_url)

    return service_app(SERVICE_TYPE, svc, ROUTES, identity_error, validator=svc.tokens,
                       body_limit=config.identity.max_request_body_size)
