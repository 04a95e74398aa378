"""``/traits``, ``/traits/{name}`` and ``/resource_providers/{uuid}/traits`` (1.6+)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest, ValidationFailed
from ownstack.placement.api import common, views
from ownstack.placement.api.schemas import trait as schema
from ownstack.placement.objects import traits
from ownstack.placement.objects.providers import get_provider
from ownstack.placement.state import Req

_CUSTOM = Validator(schema.CUSTOM_TRAIT)
_SET = Validator(schema.SET_PROVIDER_TRAITS)
_LIST = Validator(schema.LIST)


async def list_traits(req: Req) -> Response:
    common.allow_read(req, "placement:traits:list", since="1.6")
    params = common.query(req, _LIST)
    names_in = prefix = associated = None
    if "name" in params:
        op, sep, value = params["name"].partition(":")
        if not sep:
            raise BadRequest("Badly formatted name parameter. Expected name query string "
                             "parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. "
                             f'Got: "{params["name"]}"')
        if op == "in":
            names_in = value.split(",")
        elif op == "startswith":
            prefix = value
    if "associated" in params:
        if params["associated"].lower() not in ("true", "false"):
            raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
        associated = params["associated"].lower() == "true"
    async with req.svc.read() as db:
        found = await traits.list_traits(db, names_in=names_in, prefix=prefix,
                                         associated=associated)
    return json_response({"traits": [name for name, _ in found]},
                         headers=common.cache_headers(req, (c for _, c in found)))


async def show_trait(req: Req) -> Response:
    common.allow(req, "placement:traits:show", since="1.6")
    async with req.svc.read() as db:
        _, created = await traits.get_trait(db, req.params["name"])
    return empty_response(204, headers=common.cache_headers(req, [created]))


async def put_trait(req: Req) -> Response:
    common.allow(req, "placement:traits:update", since="1.6")
    name = req.params["name"]
    try:
        _CUSTOM.validate(name)
    except ValidationFailed:
        raise BadRequest('The trait is invalid. A valid trait must be no longer than 255 '
                         'characters, start with the prefix "CUSTOM_" and use following '
                         'characters: "A"-"Z", "0"-"9" and "_"') from None
    async with req.svc.write() as db:
        created, created_at = await traits.ensure_trait(db, req.svc.names, name)
    return empty_response(201 if created else 204, headers={
        "Location": f"/traits/{name}", **common.cache_headers(req, [created_at])})


async def delete_trait(req: Req) -> Response:
    common.allow(req, "placement:traits:delete", since="1.6")
    async with req.svc.write() as db:
        await traits.delete_trait(db, req.svc.names, req.params["name"])
    return empty_response(204)


async def list_provider_traits(req: Req) -> Response:
    common.allow_read(req, "placement:resource_providers:traits:list", since="1.6")
    async with req.svc.read() as db:
        provider = await get_provider(db, req.params["uuid"])
        names = await traits.provider_traits(db, provider.id)
    return json_response(views.provider_traits(provider, names),
                         headers=common.cache_headers(req))


async def set_provider_traits(req: Req) -> Response:
    common.allow(req, "placement:resource_providers:traits:update", since="1.6")
    data = await common.body(req, _SET)
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await traits.set_provider_traits(db, req.svc.names, provider,
                                         data["resource_provider_generation"], data["traits"])
    return json_response(views.provider_traits(provider, sorted(set(data["traits"]))),
                         headers=common.cache_headers(req))


async def delete_provider_traits(req: Req) -> Response:
    common.allow(req, "placement:resource_providers:traits:delete", since="1.6")
    async with req.svc.write() as db:
        provider = await get_provider(db, req.params["uuid"])
        await traits.set_provider_traits(db, req.svc.names, provider, None, [])
    return empty_response(204)
