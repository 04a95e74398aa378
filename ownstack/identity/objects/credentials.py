"""Credentials (``/v3/credentials``) and their EC2 view (``OS-EC2``): secrets a user keeps
with Keystone. The blob is encrypted with the credential keys before it is stored and
decrypted only to be shown.

An ``ec2`` credential's blob is a JSON object with an ``access`` key; its id is the
SHA-256 of that access key, as Keystone makes it, so that the key is found by its hash.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import rows
from ownstack.identity.objects.models import Credential, Project, User

if TYPE_CHECKING:       # the keys are passed in; objects sit below the key repositories
    from ownstack.identity.credential_keys import CredentialCipher

EC2 = "ec2"
# Attributes with a column (or no place at all); any other is kept in ``extra``.
_RESERVED = {"id", "links", "user_id", "project_id", "type", "blob"}
# What an EC2 blob carries that ties it to the delegation that made it: never changed.
_BOUND_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")
_MISSING_SUFFIX = (" The server could not comply with the request since it is either "
                   "malformed or otherwise incorrect. The client is assumed to be in error.")


def expecting(attribute: str) -> BadRequest:
    """Keystone's ``ValidationError(attribute=..., target='credential')``."""
    return BadRequest(f"Expecting to find {attribute} in credential.{_MISSING_SUFFIX}")


def is_ec2(kind: str | None) -> bool:
    return (kind or "").lower() == EC2


def hash_access_key(access: str) -> str:
    """The id of the EC2 credential whose access key is ``access``."""
    return hashlib.sha256(access.encode("utf-8")).hexdigest()


def ec2_blob(blob: str | None) -> dict[str, Any]:
    """The EC2 blob as an object, with Keystone's errors: JSON, an object, an access key."""
    try:
        parsed = json.loads(blob or "")
    except ValueError:
        raise BadRequest("Invalid blob in credential") from None
    if not parsed or not isinstance(parsed, dict):
        raise expecting("blob")
    if parsed.get("access") is None:
        raise expecting("access")
    return parsed


def new_ec2_blob() -> dict[str, Any]:
    """A new EC2 key pair, as ``OS-EC2`` makes one."""
    return {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex, "trust_id": None}


async def find_credential(db: AsyncSession, credential_id: str) -> Credential | None:
    return await db.get(Credential, credential_id)


async def get_credential(db: AsyncSession, credential_id: str) -> Credential:
    return await rows.get_or_404(db, Credential, credential_id, "credential")


async def list_credentials(db: AsyncSession, *, user_id: str | None = None,
                           type: str | None = None) -> Sequence[Credential]:
    return (await db.scalars(select(Credential).where(
        *rows.matching((Credential.user_id, user_id), (Credential.type, type)))
        .order_by(Credential.id))).all()


async def _check_owners(db: AsyncSession, user_id: str | None, project_id: str | None
                        ) -> None:
    """The user and project a credential names exist (Keystone does not look, and a
    credential of a user that does not exist would outlive every clean-up)."""
    if user_id is not None:
        await rows.get_or_404(db, User, user_id, "user")
    if project_id is not None:
        await rows.get_or_404(db, Project, project_id, "project")


async def create_credential(db: AsyncSession, cipher: CredentialCipher,
                            data: Mapping[str, Any], *, app_cred_id: str | None = None
                            ) -> tuple[Credential, str]:
    """A new credential, and its blob as shown. An EC2 credential made with an
    application credential's token carries that credential's id in its blob, as Keystone
    records it."""
    blob: str = data["blob"]
    credential_id = uuid.uuid4().hex
    if is_ec2(data["type"]):
        parsed = ec2_blob(blob)
        credential_id = hash_access_key(str(parsed["access"]))
        if app_cred_id is not None:
            parsed["app_cred_id"] = app_cred_id
            blob = json.dumps(parsed)
    await _check_owners(db, data["user_id"], data.get("project_id"))
    encrypted, key_hash = cipher.encrypt(blob)
    credential = Credential(id=credential_id, user_id=data["user_id"],
                            project_id=data.get("project_id"), type=data["type"],
                            encrypted_blob=encrypted, key_hash=key_hash,
                            extra=rows.extra_attrs(data, _RESERVED))
    if await db.get(Credential, credential_id) is not None:
        raise _duplicate(credential_id)
    db.add(credential)
    await rows.flush_unique(db, _duplicate(credential_id))
    return credential, blob


def _duplicate(credential_id: str) -> DuplicateEntity:
    return DuplicateEntity("credential", f"Duplicate ID, {credential_id}")


def check_update(credential: Credential, old_blob: str, data: Mapping[str, Any]) -> None:
    """Keystone's rules for an update: the id stays; an EC2 credential's new blob is one,
    and keeps the delegation it was made under; an EC2 credential has a project."""
    if "id" in data and data["id"] != credential.id:
        raise BadRequest("Cannot change ID")
    kind = data.get("type", credential.type)
    if is_ec2(credential.type) and "blob" in data:
        new = ec2_blob(data["blob"])
        try:
            old = json.loads(old_blob)
        except ValueError:
            old = {}
        old = old if isinstance(old, dict) else {}
        for key in _BOUND_KEYS:
            if old.get(key) != new.get(key):
                raise BadRequest(f"{key} can not be updated for credential")
    elif is_ec2(kind) and not is_ec2(credential.type):
        ec2_blob(data.get("blob", old_blob))
    if is_ec2(kind) and not data.get("project_id", credential.project_id):
        raise expecting("project_id")


async def update_credential(db: AsyncSession, cipher: CredentialCipher,
                            credential: Credential, data: Mapping[str, Any]) -> None:
    """Apply a checked update (:func:`check_update`); the blob is encrypted anew."""
    await _check_owners(db, data.get("user_id"),
                        data.get("project_id"))
    rows.assign(credential, data, ("user_id", "project_id", "type"))
    if "blob" in data:
        credential.encrypted_blob, credential.key_hash = cipher.encrypt(data["blob"])
    rows.merge_extra(credential, data, _RESERVED)
    await db.flush()


async def delete_credential(db: AsyncSession, credential: Credential) -> None:
    await db.delete(credential)
