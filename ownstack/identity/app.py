"""The factory of the identity service's ASGI app: its state, routes and error format.

The only module of the service that imports its routes, so handlers can import the state
(``Req``) without a cycle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ownstack.common.api.app import ServiceApp
from ownstack.common.config import Config
from ownstack.common.errors import OwnstackError
from ownstack.common.peers import Peers
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

    return ServiceApp(name=SERVICE_TYPE, routes=ROUTES, svc=svc, format_error=identity_error,
                      validator=svc.tokens, body_limit=config.identity.max_request_body_size,
                      on_shutdown=[svc.db.close], access_log=config.log.access_log)
