"""Credentials: ``/v3/credentials`` and a user's EC2 key pairs,
``/v3/users/{user_id}/credentials/OS-EC2``.

Keystone's policy target is the stored credential: under ``/v3/credentials`` a caller that
may not see it gets a 403 whether or not it exists (Keystone answers 404 only to those the
policy lets through); under ``OS-EC2`` a missing key is a 404 to anyone. A token of an
application credential reaches only the credentials of its own project (Keystone's
delegation boundary).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import Forbidden, Unauthorized
from ownstack.identity.api import views
from ownstack.identity.api.schemas import credentials as schema
from ownstack.identity.errors import EntityNotFound
from ownstack.identity.objects import credentials, projects, users
from ownstack.identity.objects.models import Credential
from ownstack.identity.state import Req


def _target(user_id: str | None) -> dict[str, Any]:
    return {} if user_id is None else {"target.credential.user_id": user_id}


def _refuse_restricted(req: Req) -> None:
    if req.ctx.app_cred_id is not None and not req.ctx.app_cred_unrestricted:
        raise Forbidden("You are not authorized to perform the requested action: Using "
                        "method 'application_credential' is not allowed for managing "
                        "additional credentials.")


def _in_scope(req: Req, project_id: str | None) -> bool:
    """Whether the token may reach a credential of ``project_id``: any token but an
    application credential's, which reaches its own project's only."""
    return req.ctx.app_cred_id is None or project_id == req.ctx.project_id


def _check_scope(req: Req, project_id: str | None, what: str = "Credential") -> None:
    if not _in_scope(req, project_id):
        raise Forbidden("You are not authorized to perform the requested action: "
                        f"{what} project does not match the project scope of the "
                        "delegated token.")


def _enforce_on(req: Req, rule: str, credential: Credential | None, ident: str
                ) -> Credential:
    """Policy on the stored credential (an empty target if there is none), then its 404."""
    req.svc.enforce(req.ctx, rule, _target(credential.user_id if credential else None))
    if credential is None:
        raise EntityNotFound("credential", ident)
    return credential


def _answer(req: Req, credential: Credential, blob: str, status: int = 200) -> Response:
    return json_response({"credential": views.credential(req, credential, blob)},
                         status=status)


# --- /v3/credentials -----------------------------------------------------------------------

async def list_credentials(req: Req) -> Response:
    """Everyone may list, and sees the credentials the show policy lets them see."""
    mine = None if req.ctx.system_scope else req.ctx.user_id
    req.svc.enforce(req.ctx, "identity:list_credentials", _target(mine))
    async with req.svc.read() as db:
        found = await credentials.list_credentials(db, user_id=req.query.get("user_id"),
                                                   type=req.query.get("type"))
    keys = req.svc.credential_keys
    return json_response(views.collection(req, "credentials", [
        views.credential(req, c, keys.decrypt(c.encrypted_blob)) for c in found
        if req.svc.allowed(req.ctx, "identity:get_credential", _target(c.user_id))
        and _in_scope(req, c.project_id)]))


async def show_credential(req: Req) -> Response:
    ident = req.params["credential_id"]
    async with req.svc.read() as db:
        credential = _enforce_on(req, "identity:get_credential",
                                 await credentials.find_credential(db, ident), ident)
    _check_scope(req, credential.project_id)
    return _answer(req, credential, req.svc.credential_keys.decrypt(credential.encrypted_blob))


async def create_credential(req: Req) -> Response:
    data = (await req.json(schema.CREATE_CREDENTIAL))["credential"]
    req.svc.enforce(req.ctx, "identity:create_credential", _target(data["user_id"]))
    if credentials.is_ec2(data["type"]):
        _refuse_restricted(req)
        if not data.get("project_id"):
            raise credentials.expecting("project_id")
    _check_scope(req, data.get("project_id"))
    async with req.svc.write() as db:
        credential, blob = await credentials.create_credential(
            db, req.svc.credential_keys, data, app_cred_id=req.ctx.app_cred_id)
    return _answer(req, credential, blob, status=201)


async def update_credential(req: Req) -> Response:
    ident = req.params["credential_id"]
    data = (await req.json(schema.UPDATE_CREDENTIAL))["credential"]
    keys = req.svc.credential_keys
    async with req.svc.write() as db:
        credential = _enforce_on(req, "identity:update_credential",
                                 await credentials.find_credential(db, ident), ident)
        _check_scope(req, credential.project_id)
        old_blob = keys.decrypt(credential.encrypted_blob)
        credentials.check_update(credential, old_blob, data)
        # The caller must be allowed the credential as it will be: no giving it away.
        req.svc.enforce(req.ctx, "identity:update_credential",
                        _target(data.get("user_id", credential.user_id)))
        _check_scope(req, data.get("project_id", credential.project_id))
        await credentials.update_credential(db, keys, credential, data)
    return _answer(req, credential, data.get("blob", old_blob))


async def delete_credential(req: Req) -> Response:
    ident = req.params["credential_id"]
    async with req.svc.write() as db:
        credential = _enforce_on(req, "identity:delete_credential",
                                 await credentials.find_credential(db, ident), ident)
        _check_scope(req, credential.project_id)
        await credentials.delete_credential(db, credential)
    return empty_response()


# --- /v3/users/{user_id}/credentials/OS-EC2 ------------------------------------------------

def _ec2_view(req: Req, credential: Credential) -> dict[str, Any]:
    blob = json.loads(req.svc.credential_keys.decrypt(credential.encrypted_blob))
    return views.ec2_credential(req, credential, blob if isinstance(blob, dict) else {})


async def list_ec2_credentials(req: Req) -> Response:
    user_id = req.params["user_id"]
    req.svc.enforce(req.ctx, "identity:ec2_list_credentials", {"user_id": user_id})
    async with req.svc.read() as db:
        await users.get_user(db, user_id)
        found = await credentials.list_credentials(db, user_id=user_id, type=credentials.EC2)
    return json_response(views.collection(req, "credentials", [
        _ec2_view(req, c) for c in found if _in_scope(req, c.project_id)]))


async def create_ec2_credential(req: Req) -> Response:
    user_id = req.params["user_id"]
    project_id = (await req.json(schema.CREATE_EC2))["tenant_id"]
    req.svc.enforce(req.ctx, "identity:ec2_create_credential", _target(user_id))
    _refuse_restricted(req)
    async with req.svc.write() as db:
        await users.get_user(db, user_id)
        await projects.get_project(db, project_id)
        _check_scope(req, project_id, "EC2 credential")
        credential, _ = await credentials.create_credential(
            db, req.svc.credential_keys, {"user_id": user_id, "project_id": project_id,
                                          "type": credentials.EC2,
                                          "blob": json.dumps(credentials.new_ec2_blob())})
        body = {"credential": _ec2_view(req, credential)}
    return json_response(body, status=201)


async def _ec2_credential(req: Req, rule: str, db: Any) -> Credential:
    """The user's EC2 credential whose access key the URL names, after ``rule``."""
    user_id, access = req.params["user_id"], req.params["credential_id"]
    # Unlike /v3/credentials, Keystone looks the key up before the policy: a missing key
    # is a 404 to anyone.
    credential = await credentials.get_credential(db, credentials.hash_access_key(access))
    req.svc.enforce(req.ctx, rule, _target(credential.user_id))
    await users.get_user(db, user_id)
    if credential.user_id != user_id:
        # Keystone would show another user's key under this user's URL; not so here.
        raise EntityNotFound("credential", credential.id)
    if not credentials.is_ec2(credential.type):
        raise Unauthorized("EC2 access key not found.")
    _check_scope(req, credential.project_id, "EC2 credential")
    return credential


async def show_ec2_credential(req: Req) -> Response:
    async with req.svc.read() as db:
        credential = await _ec2_credential(req, "identity:ec2_get_credential", db)
    return json_response({"credential": _ec2_view(req, credential)})


async def delete_ec2_credential(req: Req) -> Response:
    async with req.svc.write() as db:
        credential = await _ec2_credential(req, "identity:ec2_delete_credential", db)
        await credentials.delete_credential(db, credential)
    return empty_response()
