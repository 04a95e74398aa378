"""``/os-aggregates``: host aggregates and the availability zones they make, admin only.

Nova answers 200 where 201, 204 or 202 would fit (create, delete, the actions), and so do
we. An aggregate id is an integer (anything else is Nova's 400). Adding or removing a host
mirrors the membership into Placement after the commit, on each of the host's nodes.

``POST /os-aggregates/{id}/images`` (2.81, image pre-caching) is not served: ownstack's
agents fetch an image when a server first needs it, and answering 202 to a request that
nothing would carry out is the silent no-op the house rules forbid; the route is a 404 and
2.81 is listed as not served.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import body, version_of
from ownstack.compute.api.schemas import aggregates as schemas
from ownstack.compute.api.views.aggregates import aggregate
from ownstack.compute.objects import aggregates
from ownstack.compute.state import Req

_RULE = "os_compute_api:os-aggregates:"


def _id(req: Req) -> int:
    """Nova's ``validate_integer(id, 'id')``."""
    value = req.params["aggregate_id"]
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Invalid input received: id must be an integer, not "
                         f"{value!r}") from None


def _answer(req: Req, record: aggregates.AggregateRecord, **kwargs: Any) -> Response:
    return json_response({"aggregate": aggregate(version_of(req), record, **kwargs)})


async def list_aggregates(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "index")
    version = version_of(req)
    async with req.svc.read() as db:
        found = await aggregates.list_aggregates(db)
    return json_response({"aggregates": [aggregate(version, r) for r in found]})


async def create_aggregate(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "create")
    data = (await body(req, schemas.CREATE))["aggregate"]
    async with req.svc.write() as db:
        record = await aggregates.create_aggregate(db, data["name"].strip(),
                                                   data.get("availability_zone"))
    return _answer(req, record, created=True)


async def show_aggregate(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "show")
    async with req.svc.read() as db:
        record = await aggregates.get_aggregate(db, _id(req))
    return _answer(req, record)


async def update_aggregate(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "update")
    data = (await body(req, schemas.UPDATE))["aggregate"]
    aggregate_id = _id(req)
    name = data["name"].strip() if "name" in data else None
    async with req.svc.write() as db:
        record = await aggregates.update_aggregate(
            db, aggregate_id, name=name, zone_given="availability_zone" in data,
            zone=data.get("availability_zone"))
    return _answer(req, record)


async def delete_aggregate(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "delete")
    aggregate_id = _id(req)
    async with req.svc.write() as db:
        await aggregates.delete_aggregate(db, aggregate_id)
    return empty_response(200)


async def aggregate_action(req: Req) -> Response:
    data = await req.json()
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Malformed request body: an action body is a JSON object with "
                         "exactly one key, the action's name.")
    name = next(iter(data))
    validator = schemas.ACTIONS.get(name)
    if validator is None:
        raise BadRequest(f"There is no such action: {name}")
    inner = validator.validate(data)[name]
    req.svc.enforce(req.ctx, _RULE + name)
    aggregate_id = _id(req)
    if name == "set_metadata":
        async with req.svc.write() as db:
            record = await aggregates.set_metadata(db, aggregate_id, inner["metadata"])
        return _answer(req, record)
    host = inner["host"]
    member = name == "add_host"
    async with req.svc.write() as db:
        if member:
            record = await aggregates.add_host(db, aggregate_id, host)
        else:
            record = await aggregates.remove_host(db, aggregate_id, host)
        nodes = await aggregates.node_uuids(db, host)
    await aggregates.mirror_membership(req.svc.placement, nodes, record.aggregate.uuid,
                                       member=member)
    return _answer(req, record)
