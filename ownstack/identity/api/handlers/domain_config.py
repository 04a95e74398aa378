"""Domain-specific configuration: ``/v3/domains/{domain_id}/config[/{group}[/{option}]]``
and Keystone's defaults at ``/v3/domains/config[/{group}[/{option}]]/default``.

The domain is looked up first (a missing one is 404), then the group and option are
checked (403 for one Keystone does not support), then the stored configuration.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.identity.api.schemas import domain_config as schema
from ownstack.identity.objects import domain_config, domains
from ownstack.identity.state import Req


def _where(req: Req) -> tuple[str, str | None, str | None]:
    return (req.params["domain_id"], req.params.get("group"), req.params.get("option"))


async def show_config(req: Req) -> Response:
    domain_id, group, option = _where(req)
    req.svc.enforce(req.ctx, "identity:get_domain_config")
    async with req.svc.read() as db:
        await domains.get_domain(db, domain_id)
        config = await domain_config.get(db, domain_id, group, option)
    return json_response({"config": config})


async def create_config(req: Req) -> Response:
    domain_id = req.params["domain_id"]
    req.svc.enforce(req.ctx, "identity:create_domain_config")
    body = await req.json(schema.CONFIG)
    async with req.svc.write() as db:
        await domains.get_domain(db, domain_id)
        existed = await domain_config.exists(db, domain_id)
        config = await domain_config.create(db, domain_id, body["config"])
    return json_response({"config": config}, status=200 if existed else 201)


async def update_config(req: Req) -> Response:
    domain_id, group, option = _where(req)
    req.svc.enforce(req.ctx, "identity:update_domain_config")
    body = await req.json(schema.CONFIG)
    async with req.svc.write() as db:
        await domains.get_domain(db, domain_id)
        config = await domain_config.update(db, domain_id, body["config"], group, option)
    return json_response({"config": config})


async def delete_config(req: Req) -> Response:
    domain_id, group, option = _where(req)
    req.svc.enforce(req.ctx, "identity:delete_domain_config")
    async with req.svc.write() as db:
        await domains.get_domain(db, domain_id)
        await domain_config.remove(db, domain_id, group, option)
    return empty_response()


async def show_default(req: Req) -> Response:
    req.svc.enforce(req.ctx, "identity:get_domain_config_default")
    return json_response({"config": domain_config.default(req.params.get("group"),
                                                          req.params.get("option"))})
