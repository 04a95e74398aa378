"""``/os-keypairs``: import, list, show and delete a user's public keys.

Below 2.92 a create without ``public_key`` gets a key pair made by the server, as the API
reference and Nova have it: an RSA SSH key pair, or for type ``x509`` the certificate Nova
makes for WinRM, with the private key once in the answer (Tempest's keypair tests rely on
it). From 2.92 ``public_key`` is required (the schema says so), as in Nova: clients make
their own keys (``openstack keypair create NAME`` makes an ed25519 key locally).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.compute.api.common import at_least, body, collection_links, limit_of, version_of
from ownstack.compute.api.schemas import keypairs as schemas
from ownstack.compute.api.views import keypairs as views
from ownstack.compute.objects import keypairs
from ownstack.compute.state import Req


def _target_user(req: Req, rule: str, requested: str | None) -> str:
    """The user whose keys the request is about: the caller, or from 2.10 another user
    named by an admin. Policy decides with that user as the target."""
    user_id = req.ctx.user_id or ""
    if requested is not None and at_least(version_of(req), "2.10"):
        user_id = requested
    req.svc.enforce(req.ctx, rule, {"user_id": user_id})
    return user_id


async def create_keypair(req: Req) -> Response:
    version = version_of(req)
    data: dict[str, Any] = (await body(req, schemas.CREATE(version)))["keypair"]
    user_id = _target_user(req, "os_compute_api:os-keypairs:create", data.get("user_id"))
    key_type = data.get("type", "ssh")
    public_key, private_key = data.get("public_key"), None
    if public_key is None:
        keypairs.validate_name(data["name"])
        if key_type == "x509":
            generated = await asyncio.to_thread(keypairs.generate_x509, user_id)
        else:
            generated = await asyncio.to_thread(keypairs.generate_ssh)
        public_key, private_key = generated.public_key, generated.private_key
    async with req.svc.write() as db:
        keypair = await keypairs.import_keypair(
            db, user_id=user_id, name=data["name"], public_key=public_key,
            key_type=key_type, special_names=at_least(version, "2.92"))
    status = 201 if at_least(version, "2.2") else 200
    view = views.keypair_created(version, keypair)
    if private_key is not None:
        view["private_key"] = private_key
    return json_response({"keypair": view}, status)


async def list_keypairs(req: Req) -> Response:
    version = version_of(req)
    user_id = _target_user(req, "os_compute_api:os-keypairs:index", req.query.get("user_id"))
    paged = at_least(version, "2.35")
    limit = limit_of(req) if paged and "limit" in req.query else None
    marker = req.query.get("marker") if paged else None
    async with req.svc.read() as db:
        found = await keypairs.list_keypairs(db, user_id, limit=limit, marker=marker)
    result: dict[str, Any] = {
        "keypairs": [{"keypair": views.keypair_brief(version, k)} for k in found]}
    next_links = collection_links(req, len(found), limit, found[-1].name if found else None)
    if next_links:
        result["keypairs_links"] = next_links
    return json_response(result)


async def show_keypair(req: Req) -> Response:
    user_id = _target_user(req, "os_compute_api:os-keypairs:show", req.query.get("user_id"))
    async with req.svc.read() as db:
        keypair = await keypairs.get_keypair(db, user_id, req.params["name"])
    return json_response({"keypair": views.keypair_detail(version_of(req), keypair)})


async def delete_keypair(req: Req) -> Response:
    user_id = _target_user(req, "os_compute_api:os-keypairs:delete", req.query.get("user_id"))
    async with req.svc.write() as db:
        await keypairs.delete_keypair(db, user_id, req.params["name"])
    return empty_response(204 if at_least(version_of(req), "2.2") else 202)
