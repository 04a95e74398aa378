"""``/types/{type_id}/encryption``: a volume type's encryption, the admin's.

``GET`` shows it (``{}`` for a type without), ``POST`` makes it, and
``/encryption/{key}`` shows one of its fields (``GET``, e.g. ``provider``), changes it
(``PUT``) or removes it (``DELETE``). Cinder reads ``{key}`` as a field name only for the
``GET``; its ``PUT`` and ``DELETE`` ignore it, and the ``openstack`` CLI sends
``provider`` there where Tempest sends the encryption's id, so both are accepted, as in
Cinder. What a volume of an encrypted type meets is decision 73.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.volume.api.schemas import types as schemas
from ownstack.volume.api.schemas.parameter_types import in_range
from ownstack.volume.api.views import types as views
from ownstack.volume.errors import VolumeTypeEncryptionNotFound
from ownstack.volume.objects import encryption as objects
from ownstack.volume.objects import types
from ownstack.volume.state import Req


async def _values(req: Req, validator: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict((await req.json(validator))["encryption"])
    if values.get("key_size") is not None:
        values["key_size"] = in_range(values["key_size"], "key_size", 0)
    return values


async def show_encryption(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:volume_type_encryption:get")
    async with req.svc.read() as db:
        volume_type = await types.get_type(db, req.ctx, req.params["type_id"])
        row = await objects.of_type(db, volume_type.id)
    return json_response(views.encryption(row) if row is not None else {})


async def show_encryption_item(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:volume_type_encryption:get")
    key = req.params["key"]
    async with req.svc.read() as db:
        volume_type = await types.get_type(db, req.ctx, req.params["type_id"])
        row = await objects.of_type(db, volume_type.id)
    shown = views.encryption(row) if row is not None else {}
    if key not in shown:
        raise VolumeTypeEncryptionNotFound(volume_type.id)
    return json_response({key: shown[key]})


async def create_encryption(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:volume_type_encryption:create")
    values = await _values(req, schemas.ENCRYPTION_CREATE)
    async with req.svc.write() as db:
        volume_type = await types.get_type(db, req.ctx, req.params["type_id"])
        row = await objects.create(db, volume_type, values)
    # Cinder answers with what was asked, and the two ids it gave the row.
    return json_response({"encryption": {**values, "volume_type_id": row.type_id,
                                         "encryption_id": row.id}})


async def update_encryption(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:volume_type_encryption:update")
    values = await _values(req, schemas.ENCRYPTION_UPDATE)
    async with req.svc.write() as db:
        volume_type = await types.get_type(db, req.ctx, req.params["type_id"])
        await objects.update(db, volume_type, values)
    return json_response({"encryption": values})


async def delete_encryption(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume_extension:volume_type_encryption:delete")
    async with req.svc.write() as db:
        volume_type = await types.get_type(db, req.ctx, req.params["type_id"])
        await objects.delete(db, volume_type)
    return empty_response(202)
