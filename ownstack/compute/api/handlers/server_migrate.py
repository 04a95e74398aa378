"""The ``migrate`` action of ``POST /servers/{id}/action``: a cold migration (see
:mod:`ownstack.compute.objects.cold_migrations`). Admin only, as Nova's default policy;
2.56 lets the admin name the target host (its own rule)."""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.compute import rpc
from ownstack.compute.api.common import at_least, cast_to, version_of
from ownstack.compute.api.schemas import server_actions as schemas
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.objects import cold_migrations
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-migrate-server:migrate"


async def migrate(req: Req, data: dict[str, Any]) -> Response:
    version = version_of(req)
    body = schemas.MIGRATE(version).validate(data)["migrate"]
    requested = body.get("host") if isinstance(body, dict) and at_least(version, "2.56") \
        else None
    is_admin = caller_is_admin(req)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE)
        if requested is not None:
            req.svc.enforce(req.ctx, _RULE + ":host", {"project_id": instance.project_id})
        await cold_migrations.check_can_migrate(db, instance, requested, is_admin=is_admin)
        migration = await cold_migrations.begin_migrate(db, req.ctx, instance, requested,
                                                        is_admin=is_admin)
        uuid = instance.uuid
    await cast_to(req, rpc.CONDUCTOR_TOPIC, "resize_instance",
                  {"uuid": uuid, "migration": migration},
                  f"the conductor about the migration of {uuid} (its sweep will)")
    return empty_response(202)
