"""OS-OAUTH1: consumers, their request and access tokens, and the nonces they signed with.

A consumer asks for a request token on a project; a user who holds roles there authorizes
it with some of them and hands the consumer the verifier; the consumer exchanges request
token and verifier, once, for an access token, and signs token requests with it. Every
secret here signs requests (HMAC), so it is kept, not hashed: encrypted with the
credential keys, as credential blobs are (decision 66). Signatures themselves are checked
by :mod:`ownstack.identity.oauth1_signing`; nothing here reads HTTP.
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.identity.errors import EntityNotFound, OAuthFailed, OAuthNotFound
from ownstack.identity.objects import rows
from ownstack.identity.objects.models import (
    OAuthAccessToken,
    OAuthConsumer,
    OAuthNonce,
    OAuthRequestToken,
    Role,
)

if TYPE_CHECKING:       # the keys are passed in; objects sit below the key repositories
    from ownstack.identity.credential_keys import CredentialCipher

# Keystone's verifier: 8 letters and digits, without those a reader confuses (jiIl1oO0).
VERIFIER_CHARS = "".join(c for c in string.ascii_letters + string.digits
                         if c not in "jiIl1oO0")
VERIFIER_LENGTH = 8
# Attributes with a column (or no place at all); any other is kept in ``extra``.
_RESERVED = {"id", "links", "description", "secret"}


def new_key() -> str:
    """A consumer key, token or secret: 32 lowercase hex characters, as Keystone makes
    them (its request validator accepts no other key)."""
    return uuid.uuid4().hex


def expiry(seconds: int) -> datetime | None:
    """When a token made now with a lifetime of ``seconds`` expires (None for 0: never),
    to the second, as Keystone shows it."""
    if seconds <= 0:
        return None
    return (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)


def is_expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and utcnow() > expires_at


# --- consumers -----------------------------------------------------------------------------

async def list_consumers(db: AsyncSession) -> Sequence[OAuthConsumer]:
    return (await db.scalars(select(OAuthConsumer).order_by(OAuthConsumer.id))).all()


async def get_consumer(db: AsyncSession, consumer_id: str) -> OAuthConsumer:
    consumer = await db.get(OAuthConsumer, consumer_id)
    if consumer is None:
        raise OAuthNotFound("Consumer")
    return consumer


async def find_consumer(db: AsyncSession, consumer_id: str) -> OAuthConsumer | None:
    return await db.get(OAuthConsumer, consumer_id)


async def create_consumer(db: AsyncSession, keys: CredentialCipher, data: Mapping[str, Any]
                          ) -> tuple[OAuthConsumer, str]:
    """A new consumer and its secret. Keystone makes both id and secret: an ``id`` or
    ``secret`` in ``data`` is not kept."""
    secret = new_key()
    sealed, key_hash = keys.encrypt(secret)
    consumer = await rows.added(db, OAuthConsumer(
        id=new_key(), description=data.get("description"), secret=sealed, key_hash=key_hash,
        extra=rows.extra_attrs(data, _RESERVED)))
    return consumer, secret


async def update_consumer(db: AsyncSession, consumer_id: str, data: Mapping[str, Any]
                          ) -> OAuthConsumer:
    """Change the description and extra attributes; the secret never changes (a body that
    names it is refused by the schema, Keystone's 400)."""
    consumer = await get_consumer(db, consumer_id)
    if "id" in data and data["id"] != consumer_id:
        raise BadRequest("Cannot change consumer ID")
    rows.assign(consumer, data, ("description",))
    rows.merge_extra(consumer, data, _RESERVED)
    await db.flush()
    return consumer


async def delete_consumer(db: AsyncSession, consumer_id: str) -> None:
    """Delete the consumer with its request and access tokens. A token got with one of
    those access tokens stops validating: the access token it names is gone."""
    consumer = await get_consumer(db, consumer_id)
    await db.execute(delete(OAuthRequestToken).where(OAuthRequestToken.consumer_id == consumer.id))
    await db.execute(delete(OAuthAccessToken).where(OAuthAccessToken.consumer_id == consumer.id))
    await db.execute(delete(OAuthNonce).where(OAuthNonce.consumer_id == consumer.id))
    await db.delete(consumer)


# --- request tokens ------------------------------------------------------------------------

async def create_request_token(db: AsyncSession, keys: CredentialCipher, *, consumer_id: str,
                               project_id: str, duration: int
                               ) -> tuple[OAuthRequestToken, str]:
    secret = new_key()
    sealed, key_hash = keys.encrypt(secret)
    token = await rows.added(db, OAuthRequestToken(
        id=new_key(), consumer_id=consumer_id, secret=sealed, key_hash=key_hash,
        project_id=project_id, expires_at=expiry(duration)))
    return token, secret


async def get_request_token(db: AsyncSession, token_id: str) -> OAuthRequestToken:
    token = await db.get(OAuthRequestToken, token_id)
    if token is None:
        raise OAuthNotFound("Request token")
    return token


def check_not_expired(expires_at: datetime | None, what: str) -> None:
    """Keystone's 401 for a request or access token past its ``expires_at``."""
    if is_expired(expires_at):
        raise OAuthFailed(f"{what} is expired")


async def authorize_request_token(db: AsyncSession, token: OAuthRequestToken, *, user_id: str,
                                  role_ids: Collection[str]) -> str:
    """Record that ``user_id`` delegates ``role_ids`` through the token; the verifier the
    consumer must show to exchange it."""
    token.authorizing_user_id = user_id
    token.role_ids = sorted(role_ids)
    token.verifier = "".join(secrets.choice(VERIFIER_CHARS) for _ in range(VERIFIER_LENGTH))
    await db.flush()
    return token.verifier


async def named_role_ids(db: AsyncSession, refs: Sequence[Mapping[str, str]]) -> set[str]:
    """The ids of the roles an authorization names, by id or by the name of a global role
    (Keystone's: an unknown name is a 404; an unknown id is simply a role the user does not
    hold)."""
    ids: set[str] = set()
    for ref in refs:
        if ref.get("id"):
            ids.add(ref["id"])
            continue
        role_id = await db.scalar(select(Role.id).where(Role.name == ref["name"],
                                                        Role.domain_id == ""))
        if role_id is None:
            raise EntityNotFound("role", ref["name"])
        ids.add(role_id)
    return ids


async def exchange_request_token(db: AsyncSession, keys: CredentialCipher,
                                 token: OAuthRequestToken, *, duration: int
                                 ) -> tuple[OAuthAccessToken, str]:
    """The access token for an authorized request token, which is used up."""
    if token.authorizing_user_id is None:
        raise OAuthFailed("Request Token does not have an authorizing user id.")
    secret = new_key()
    sealed, key_hash = keys.encrypt(secret)
    access = await rows.added(db, OAuthAccessToken(
        id=new_key(), consumer_id=token.consumer_id, secret=sealed, key_hash=key_hash,
        user_id=token.authorizing_user_id, project_id=token.project_id,
        role_ids=list(token.role_ids or []), expires_at=expiry(duration)))
    await db.delete(token)
    return access, secret


# --- access tokens -------------------------------------------------------------------------

async def find_access_token(db: AsyncSession, token_id: str) -> OAuthAccessToken | None:
    return await db.get(OAuthAccessToken, token_id)


async def get_access_token(db: AsyncSession, token_id: str) -> OAuthAccessToken:
    token = await db.get(OAuthAccessToken, token_id)
    if token is None:
        raise OAuthNotFound("Access token")
    return token


async def list_access_tokens(db: AsyncSession, user_id: str) -> Sequence[OAuthAccessToken]:
    return (await db.scalars(select(OAuthAccessToken)
                             .where(OAuthAccessToken.user_id == user_id)
                             .order_by(OAuthAccessToken.created_at, OAuthAccessToken.id))).all()


async def delete_access_token(db: AsyncSession, user_id: str, token_id: str) -> None:
    """Delete the user's access token; the tokens got with it stop validating. Keystone's
    answer for another user's is a 401."""
    token = await get_access_token(db, token_id)
    if token.user_id != user_id:
        raise OAuthFailed("User IDs do not match")
    await db.delete(token)


async def roles_of(db: AsyncSession, token: OAuthAccessToken) -> list[Role]:
    """The roles the access token delegates, by name; roles deleted since are left out."""
    if not token.role_ids:
        return []
    return list((await db.scalars(select(Role).where(Role.id.in_(token.role_ids))
                                  .order_by(Role.name))).all())


# --- nonces and clean-up -------------------------------------------------------------------

async def use_nonce(db: AsyncSession, consumer_id: str, nonce: str, *, keep: timedelta
                    ) -> None:
    """Record the nonce of a request the consumer signed; a nonce seen within ``keep``
    (longer than a timestamp is accepted for) is a replayed request, refused."""
    now = utcnow()
    await db.execute(delete(OAuthNonce).where(OAuthNonce.seen_at < now - keep))
    db.add(OAuthNonce(consumer_id=consumer_id, nonce=nonce, seen_at=now))
    try:
        await db.flush()
    except IntegrityError:
        raise OAuthFailed("The OAuth nonce was used before: the request was replayed.") \
            from None


async def forget_users(db: AsyncSession, user_ids: Collection[str]) -> None:
    """Delete what deleted users authorized: their request and access tokens."""
    await db.execute(delete(OAuthRequestToken)
                     .where(OAuthRequestToken.authorizing_user_id.in_(user_ids)))
    await db.execute(delete(OAuthAccessToken).where(OAuthAccessToken.user_id.in_(user_ids)))


async def forget_projects(db: AsyncSession, project_ids: Collection[str]) -> None:
    """Delete the request and access tokens on deleted projects."""
    await db.execute(delete(OAuthRequestToken)
                     .where(OAuthRequestToken.project_id.in_(project_ids)))
    await db.execute(delete(OAuthAccessToken)
                     .where(OAuthAccessToken.project_id.in_(project_ids)))
