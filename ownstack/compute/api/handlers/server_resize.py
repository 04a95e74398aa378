"""The resize actions of ``POST /servers/{id}/action``: ``resize``, ``confirmResize`` and
``revertResize`` (see :mod:`ownstack.compute.objects.resizes`).

A resize is accepted in one transaction (migration record, ``resize_prep``, instance
action), then the conductor is asked to claim the new flavor (its sweep does if the cast
is lost); confirm and revert nudge the server's agent.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.common.errors import BadRequest
from ownstack.compute import rpc
from ownstack.compute.api.common import cast_to, nudge
from ownstack.compute.api.schemas import server_actions as schemas
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.errors import FlavorNotFound
from ownstack.compute.objects import flavors, quotas, resizes
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:servers:"


async def resize(req: Req, data: dict[str, Any]) -> Response:
    wanted = schemas.RESIZE.validate(data)["resize"]
    is_admin = caller_is_admin(req)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "resize")
        # Nova checks the lock and the state (409) before the flavor (400).
        resizes.check_can_resize(instance, is_admin=is_admin)
        try:
            flavor = await flavors.get_flavor(db, req.ctx, str(wanted["flavorRef"]))
        except FlavorNotFound:
            raise BadRequest("Unable to locate requested flavor.") from None
        if flavor.disabled:
            raise BadRequest("Unable to locate requested flavor.")
        specs = (await flavors.extra_specs_of(db, [flavor.id])).get(flavor.id, {})
        # Nova checks the quota for the larger flavor's extra vCPUs and RAM (403), after
        # the flavor itself (400).
        old = instance.flavor
        resizes.check_new_flavor(old, flavor)
        await quotas.admit_upsize(
            db, req.svc.config.compute.quota, instance.project_id, instance.user_id,
            quotas.Request(vcpus=flavor.vcpus - int(old.get("vcpus") or 0),
                           ram=flavor.memory_mb - int(old.get("ram") or 0)))
        _, migration = await resizes.begin_resize(db, req.ctx, instance, flavor, specs,
                                                  is_admin=is_admin)
        uuid = instance.uuid
    await cast_to(req, rpc.CONDUCTOR_TOPIC, "resize_instance",
                  {"uuid": uuid, "migration": migration},
                  f"the conductor about the resize of {uuid} (its sweep will)")
    return empty_response(202)


async def confirm_resize(req: Req, data: dict[str, Any]) -> Response:
    schemas.CONFIRM_RESIZE.validate(data)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "confirm_resize")
        host = await resizes.begin_confirm_by_user(db, req.ctx, instance,
                                                   is_admin=caller_is_admin(req))
        uuid = instance.uuid
    await nudge(req, host, uuid)
    return empty_response(204)


async def revert_resize(req: Req, data: dict[str, Any]) -> Response:
    schemas.REVERT_RESIZE.validate(data)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "revert_resize")
        host = await resizes.begin_revert(db, req.ctx, instance,
                                          is_admin=caller_is_admin(req))
        uuid, source = instance.uuid, instance.host
    await nudge(req, host, uuid)
    if source and source != host:       # a cold migration's: back to its source
        await nudge(req, source, uuid)
    return empty_response(202)
