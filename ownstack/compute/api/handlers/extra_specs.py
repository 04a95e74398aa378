"""``/flavors/{flavor_id}/os-extra_specs``: a flavor's key-value hints."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest
from ownstack.compute import schemas
from ownstack.compute.api.common import body
from ownstack.compute.errors import ExtraSpecNotFound
from ownstack.compute.objects import flavors
from ownstack.compute.service import Req

_CREATE = Validator(schemas.CREATE_EXTRA_SPECS)
_UPDATE = Validator(schemas.UPDATE_EXTRA_SPEC)


def _stored(specs: dict[str, Any]) -> dict[str, str]:
    """Values as Nova stores them: numbers and booleans become strings."""
    return {key: value if isinstance(value, str) else str(value)
            for key, value in specs.items()}


async def list_extra_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:index")
    async with req.svc.read() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        specs = await flavors.extra_specs_of(db, [flavor.id])
    return json_response({"extra_specs": specs[flavor.id]})


async def create_extra_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:create")
    data = await body(req, _CREATE)
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        await flavors.set_extra_specs(db, flavor, _stored(data["extra_specs"]))
    return json_response(data)


async def show_extra_spec(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:show")
    key = req.params["key"]
    async with req.svc.read() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        specs = (await flavors.extra_specs_of(db, [flavor.id]))[flavor.id]
    if key not in specs:
        raise ExtraSpecNotFound(flavor.flavorid, key)
    return json_response({key: specs[key]})


async def update_extra_spec(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:update")
    data = await body(req, _UPDATE)
    if req.params["key"] not in data:
        raise BadRequest("Request body and URI mismatch")
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        await flavors.set_extra_specs(db, flavor, _stored(data))
    return json_response(data)


async def delete_extra_spec(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:delete")
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        await flavors.delete_extra_spec(db, flavor, req.params["key"])
    return empty_response(202)
