"""``/qos-specs``: QoS specs and their association with volume types (the admin's).

The specs are stored and handed to compute in a volume's connection info when their
consumer is ``front-end`` or ``both`` (Cinder's rule); the file driver applies none
itself (a ``back-end`` spec is recorded only).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.volume.api.common import body, query_flag
from ownstack.volume.api.schemas import types as schemas
from ownstack.volume.api.views import types as views
from ownstack.volume.objects import types as objects
from ownstack.volume.objects.models import QosSpecs
from ownstack.volume.state import Req

_RULE = "volume_extension:qos_specs_manage:"


async def _load(req: Req, rule: str) -> QosSpecs:
    req.svc.enforce(req.ctx, _RULE + rule)
    async with req.svc.read() as db:
        return await objects.get_qos(db, req.params["qos_id"])


async def list_qos_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "get_all")
    async with req.svc.read() as db:
        rows = await objects.list_qos(db)
    return json_response({"qos_specs": [views.qos_specs(row) for row in rows]})


async def show_qos_specs(req: Req) -> Response:
    return json_response(views.qos_specs_answer(req, await _load(req, "get")))


async def create_qos_specs(req: Req) -> Response:
    req.svc.enforce(req.ctx, _RULE + "create")
    data: dict[str, Any] = dict((await body(req, schemas.QOS_CREATE))["qos_specs"])
    name = str(data.pop("name")).strip()
    consumer = str(data.pop("consumer", "back-end"))
    async with req.svc.write() as db:
        row = await objects.create_qos(db, name, consumer, data)
    return json_response(views.qos_specs_answer(req, row))


async def update_qos_specs(req: Req) -> Response:
    row = await _load(req, "update")
    specs: dict[str, str] = (await body(req, schemas.QOS_UPDATE))["qos_specs"]
    async with req.svc.write() as db:
        await objects.update_qos(db, await objects.get_qos(db, row.id), specs)
    return json_response({"qos_specs": specs})


async def delete_qos_specs(req: Req) -> Response:
    row = await _load(req, "delete")
    async with req.svc.write() as db:
        await objects.delete_qos(db, await objects.get_qos(db, row.id),
                                 force=query_flag(req, "force"))
    return empty_response(202)


async def delete_qos_keys(req: Req) -> Response:
    row = await _load(req, "update")
    keys: list[str] = (await body(req, schemas.QOS_DELETE_KEYS))["keys"]
    async with req.svc.write() as db:
        await objects.delete_qos_keys(db, await objects.get_qos(db, row.id), keys)
    return empty_response(202)


async def list_associations(req: Req) -> Response:
    row = await _load(req, "get")
    async with req.svc.read() as db:
        found = await objects.qos_associations(db, row)
    return json_response({"qos_associations": [
        {"association_type": "volume_type", "name": t.name, "id": t.id} for t in found]})


def _type_ref(req: Req) -> str:
    ref = req.query.get("vol_type_id")
    if not ref:
        raise BadRequest("Invalid input received: a volume type (vol_type_id) is required.")
    return ref


async def associate(req: Req) -> Response:
    row = await _load(req, "update")
    type_id = _type_ref(req)
    async with req.svc.write() as db:
        volume_type = await objects.get_type(db, req.ctx, type_id)
        await objects.associate_qos(db, await objects.get_qos(db, row.id), volume_type)
    return empty_response(202)


async def disassociate(req: Req) -> Response:
    row = await _load(req, "update")
    type_id = _type_ref(req)
    async with req.svc.write() as db:
        volume_type = await objects.get_type(db, req.ctx, type_id)
        await objects.disassociate_qos(db, await objects.get_qos(db, row.id), volume_type)
    return empty_response(202)


async def disassociate_all(req: Req) -> Response:
    row = await _load(req, "update")
    async with req.svc.write() as db:
        await objects.disassociate_qos(db, await objects.get_qos(db, row.id), None)
    return empty_response(202)
