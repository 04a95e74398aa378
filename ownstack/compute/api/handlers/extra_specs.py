"""``/flavors/{flavor_id}/os-extra_specs``: a flavor's key-value hints.

From 2.86 created and updated specs are validated, as Nova does: a key of a namespace the
registry knows must be known and its value valid (400 otherwise); other keys are stored
as given. Flavor create takes no extra specs, so it validates nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import at_least, body, version_of
from ownstack.compute.api.schemas import extra_specs as schemas
from ownstack.compute.api.schemas import extra_specs_registry
from ownstack.compute.errors import ExtraSpecNotFound
from ownstack.compute.objects import flavors
from ownstack.compute.state import Req


async def _store(req: Req, specs: dict[str, Any]) -> None:
    """Set ``specs`` on the flavor of the URL, the values as Nova stores them (numbers and
    booleans become strings), each checked against the registry of known keys from 2.86
    (``compute/api/schemas/extra_specs_registry.py``)."""
    stored = {key: value if isinstance(value, str) else str(value)
              for key, value in specs.items()}
    validated = at_least(version_of(req), "2.86")
    for key, value in stored.items():
        if len(value) > 255:   # the schema's maxLength cannot bound a JSON number
            raise BadRequest(f"Invalid input for field extra_specs value {key}: it is "
                             "longer than 255 characters.")
        if validated:
            extra_specs_registry.validate(key, value)
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        await flavors.set_extra_specs(db, flavor, stored)


async def list_extra_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:index")
    async with req.svc.read() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        specs = await flavors.extra_specs_of(db, [flavor.id])
    return json_response({"extra_specs": specs[flavor.id]})


async def create_extra_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:create")
    data = await body(req, schemas.CREATE)
    await _store(req, data["extra_specs"])
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
    data = await body(req, schemas.UPDATE)
    if req.params["key"] not in data:
        raise BadRequest("Request body and URI mismatch")
    await _store(req, data)
    return json_response(data)


async def delete_extra_spec(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-flavor-extra-specs:delete")
    async with req.svc.write() as db:
        flavor = await flavors.get_flavor(db, req.ctx, req.params["flavor_id"])
        await flavors.delete_extra_spec(db, flavor, req.params["key"])
    return empty_response(200)          # Nova's default status: the route names none
