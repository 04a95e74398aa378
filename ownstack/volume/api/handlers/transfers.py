"""``/os-volume-transfer`` and, the same handlers (Cinder's v3 controller serves both),
``/volume-transfers``: create, list and detail, show, delete, accept.

The transfer is its giving project's: another project (but the admin) finds no such
transfer, except through accept, which any project's member may call who knows the
transfer's id and auth key. See :mod:`ownstack.volume.objects.transfers` for the rules.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.volume.api import common
from ownstack.volume.api.common import body, flag, version_of
from ownstack.volume.api.schemas import transfers as schemas
from ownstack.volume.api.views import transfers as views
from ownstack.volume.objects import listing
from ownstack.volume.objects import transfers as objects
from ownstack.volume.objects import volumes as volume_objects
from ownstack.volume.state import Req


def _own(req: Req) -> dict[str, Any]:
    return {"project_id": req.ctx.project_id}


async def create_transfer(req: Req) -> Response:
    version = version_of(req)
    data: dict[str, Any] = (await body(req, schemas.CREATE(version)))["transfer"]
    name = data.get("name")
    no_snapshots = flag("no_snapshots", data.get("no_snapshots", False))
    async with req.svc.write() as db:
        volume = await volume_objects.get(db, req.ctx, str(data["volume_id"]))
        req.svc.enforce(req.ctx, "volume:create_transfer", {"project_id": volume.project_id})
        made = await objects.create(db, volume, name=name.strip() if name else name,
                                    no_snapshots=no_snapshots)
        answer = views.created(req, version, made.transfer, made.auth_key)
    return json_response({"transfer": answer}, status=202)


async def _list(req: Req, *, detail: bool) -> Response:
    req.svc.enforce(req.ctx, "volume:get_all_transfers", _own(req))
    version = version_of(req)
    query = listing.parse_query(req.query.multi_items(), objects.TRANSFERS, version,
                                is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await objects.list_page(db, req.ctx, query)
    items = [views.detail(req, version, row) if detail else views.summary(req, row)
             for row in rows]
    return common.list_body("transfers", items, req, rows, query, count)


async def list_transfers(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_transfers_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def show_transfer(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume:get_transfer", _own(req))
    async with req.svc.read() as db:
        transfer = await objects.get(db, req.ctx, req.params["transfer_id"])
    return json_response({"transfer": views.detail(req, version_of(req), transfer)})


async def delete_transfer(req: Req) -> Response:
    async with req.svc.write() as db:
        transfer = await objects.get(db, req.ctx, req.params["transfer_id"])
        req.svc.enforce(req.ctx, "volume:delete_transfer",
                        {"project_id": transfer.source_project_id})
        await objects.delete(db, transfer)
    return empty_response(202)


async def accept_transfer(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume:accept_transfer", _own(req))
    auth_key = (await body(req, schemas.ACCEPT))["accept"]["auth_key"]
    async with req.svc.write() as db:
        transfer = await objects.get(db, req.ctx, req.params["transfer_id"], anyones=True)
        await objects.accept(db, req.svc.settings, req.ctx, transfer, str(auth_key))
        answer = views.summary(req, transfer)
    return json_response({"transfer": answer}, status=202)
