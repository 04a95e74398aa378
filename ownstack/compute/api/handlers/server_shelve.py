"""The shelve actions of ``POST /servers/{id}/action``: ``shelve``, ``shelveOffload`` and
``unshelve`` (see :mod:`ownstack.compute.objects.shelves`).

Shelve makes the image ``<name>-shelved`` as the caller (queued, Nova's snapshot
properties), then hands its upload to the agent, as ``createImage`` does; the image is
deleted again when the server changed under the request. Unshelve of an offloaded server
asks the conductor to schedule it (its sweep does when the cast is lost).
"""

from __future__ import annotations

import contextlib
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response
from ownstack.common.clients.image import ImageClientError
from ownstack.common.errors import BadRequest, Conflict
from ownstack.compute import rpc, states
from ownstack.compute.api.common import at_least, cast_to, nudge, version_of
from ownstack.compute.api.image_errors import image_error
from ownstack.compute.api.schemas import server_actions as schemas
from ownstack.compute.api.server_common import caller_is_admin, load_server
from ownstack.compute.objects import server_actions, servers, shelves
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-shelve:"


async def shelve(req: Req, data: dict[str, Any]) -> Response:
    schemas.SHELVE.validate(data)
    is_admin = caller_is_admin(req)
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "shelve")
        server_actions.check_can_begin(instance, shelves.SHELVE, is_admin=is_admin)
    async with req.svc.image_client(req.ctx.auth_token) as images:
        try:
            image = await images.create(
                shelves.image_name(instance), server_actions.snapshot_disk_format(instance),
                "bare", properties=server_actions.snapshot_properties(req.ctx, instance, {}),
                min_disk=server_actions.snapshot_min_disk(instance),
                min_ram=server_actions.snapshot_min_ram(instance))
        except ImageClientError as exc:
            raise image_error(exc) from None
        try:
            async with req.svc.write() as db:
                instance = await load_server(req, db, _RULE + "shelve")
                host = await server_actions.begin(db, req.ctx, instance, shelves.SHELVE,
                                                  is_admin=is_admin,
                                                  task_args={"image_id": image.id})
                uuid = instance.uuid
        except BaseException:
            with contextlib.suppress(ImageClientError):
                await images.delete(image.id)
            raise
    await nudge(req, host, uuid)
    return empty_response(202)


async def shelve_offload(req: Req, data: dict[str, Any]) -> Response:
    schemas.SHELVE_OFFLOAD.validate(data)
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "shelve_offload")
        host = await server_actions.begin(
            db, req.ctx, instance, shelves.OFFLOAD, is_admin=caller_is_admin(req),
            task_args=dict(instance.task_args or {}))
        uuid = instance.uuid
    await nudge(req, host, uuid)
    return empty_response(202)


async def unshelve(req: Req, data: dict[str, Any]) -> Response:
    version = version_of(req)
    body = schemas.UNSHELVE(version).validate(data)["unshelve"]
    wanted: dict[str, Any] = {}
    if isinstance(body, dict) and at_least(version, "2.77"):
        wanted = {key: body[key] for key in ("availability_zone", "host") if key in body}
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "unshelve")
        if "host" in wanted:
            req.svc.enforce(req.ctx, _RULE + "unshelve_to_host",
                            {"project_id": instance.project_id})
            if await servers.host_service(db, wanted["host"]) is None:
                raise BadRequest(f"Compute host {wanted['host']} could not be found.")
        if wanted and instance.vm_state == states.SHELVED:
            raise Conflict("The availability_zone and host of an unshelve are for a "
                           "server in SHELVED_OFFLOADED; this one is SHELVED.")
        host = await shelves.begin_unshelve(db, req.ctx, instance,
                                            is_admin=caller_is_admin(req), wanted=wanted)
        uuid = instance.uuid
    if host is not None:
        await nudge(req, host, uuid)
    else:
        await cast_to(req, rpc.CONDUCTOR_TOPIC, "unshelve_instance", {"uuid": uuid},
                      f"the conductor about the unshelve of {uuid} (its sweep will)")
    return empty_response(202)
