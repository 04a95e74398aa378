"""``/resource_classes`` and ``/resource_classes/{name}`` (1.2+)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest, Conflict, ValidationFailed
from ownstack.placement.api import common, views
from ownstack.placement.api.schemas import resource_class as schema
from ownstack.placement.objects import resource_classes as classes
from ownstack.placement.state import Req

_POST = Validator(schema.POST)
_PUT_1_2 = Validator(schema.PUT_1_2)
_NAME = Validator(schema.NAME)


async def list_resource_classes(req: Req) -> Response:
    common.allow_read(req, "placement:resource_classes:list", since="1.2")
    async with req.svc.read() as db:
        found = await classes.list_classes(db)
    return json_response({"resource_classes": [views.resource_class(name) for name, _ in found]},
                         headers=common.cache_headers(req, (m for _, m in found)))


async def show_resource_class(req: Req) -> Response:
    common.allow_read(req, "placement:resource_classes:show", since="1.2")
    async with req.svc.read() as db:
        _, modified = await classes.get_class(db, req.params["name"])
    return json_response(views.resource_class(req.params["name"]),
                         headers=common.cache_headers(req, [modified]))


async def create_resource_class(req: Req) -> Response:
    common.allow(req, "placement:resource_classes:create", since="1.2")
    name = (await common.body(req, _POST))["name"]
    async with req.svc.write() as db:
        if not await classes.create_class(db, req.svc.names, name):
            raise Conflict(f"Conflicting resource class already exists: {name}")
    return empty_response(201, headers={"Location": f"/resource_classes/{name}"})


async def update_resource_class(req: Req) -> Response:
    """1.2 - 1.6: rename a custom class; from 1.7: a bodiless create-or-verify."""
    common.allow(req, "placement:resource_classes:update", since="1.2")
    name = req.params["name"]
    if not common.at_least(common.version_of(req), "1.7"):
        new_name = (await common.body(req, _PUT_1_2))["name"]
        async with req.svc.write() as db:
            await classes.rename_class(db, req.svc.names, name, new_name)
        return json_response(views.resource_class(new_name))
    try:
        _NAME.validate(name)
    except ValidationFailed as exc:
        raise BadRequest(f"JSON does not validate: {exc.message}") from None
    async with req.svc.write() as db:
        created = await classes.create_class(db, req.svc.names, name)
    return empty_response(201 if created else 204,
                          headers={"Location": f"/resource_classes/{name}"})


async def delete_resource_class(req: Req) -> Response:
    common.allow(req, "placement:resource_classes:delete", since="1.2")
    async with req.svc.write() as db:
        await classes.delete_class(db, req.svc.names, req.params["name"])
    return empty_response(204)
