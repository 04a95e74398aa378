"""Keypairs: imported public keys, one namespace of names per user."""

from __future__ import annotations

import base64
import binascii
import hashlib

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.compute.errors import InvalidKeypair, KeypairExists, KeypairNotFound
from ownstack.compute.objects.models import KeyPair

KEYPAIR_TYPES = ("ssh", "x509")
_SAFE_NAME_CHARS = frozenset("_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def validate_name(name: str) -> None:
    """Nova's rule before 2.92: 1 to 255 letters, digits, spaces, '_' and '-'."""
    if not 1 <= len(name) <= 255:
        raise InvalidKeypair("Keypair name must be string and between 1 and 255 characters long")
    if not set(name) <= _SAFE_NAME_CHARS:
        raise InvalidKeypair("Keypair name contains unsafe characters")


def fingerprint(public_key: str, key_type: str) -> str:
    """Nova's fingerprint: MD5 of the key blob for ssh, SHA-1 of the DER certificate for
    x509, as colon-separated hex. A key that does not parse is a 400."""
    if key_type == "x509":
        try:
            cert = x509.load_pem_x509_certificate(public_key.encode())
        except ValueError as exc:
            raise InvalidKeypair(
                f"failed to generate X509 fingerprint. Error message: {exc}") from None
        return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's format
    try:
        key = serialization.load_ssh_public_key(public_key.strip().encode())
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise InvalidKeypair("failed to generate fingerprint") from None
    blob = key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).split(b" ")[1]
    return _colon_hex(hashlib.md5(base64.b64decode(blob), usedforsecurity=False).digest())


def _colon_hex(digest: bytes) -> str:
    text = binascii.hexlify(digest).decode()
    return ":".join(text[i:i + 2] for i in range(0, len(text), 2))


async def import_keypair(db: AsyncSession, *, user_id: str, name: str, public_key: str,
                         key_type: str) -> KeyPair:
    validate_name(name)
    if key_type not in KEYPAIR_TYPES:
        raise BadRequest(f"Invalid keypair type {key_type!r}.")
    print_ = fingerprint(public_key, key_type)
    if (await db.execute(sa.select(sa.exists().where(
            KeyPair.user_id == user_id, KeyPair.name == name)))).scalar_one():
        raise KeypairExists(name)
    keypair = KeyPair(user_id=user_id, name=name, public_key=public_key,
                      fingerprint=print_, type=key_type)
    db.add(keypair)
    try:
        await db.flush()
    except IntegrityError:
        raise KeypairExists(name) from None
    return keypair


async def get_keypair(db: AsyncSession, user_id: str, name: str) -> KeyPair:
    found = (await db.execute(sa.select(KeyPair).where(
        KeyPair.user_id == user_id, KeyPair.name == name))).scalar_one_or_none()
    if found is None:
        raise KeypairNotFound(name, user_id)
    return found


async def list_keypairs(db: AsyncSession, user_id: str, *, limit: int | None,
                        marker: str | None) -> list[KeyPair]:
    stmt = sa.select(KeyPair).where(KeyPair.user_id == user_id)
    if marker is not None:
        found = await db.execute(sa.select(sa.exists().where(
            KeyPair.user_id == user_id, KeyPair.name == marker)))
        if not found.scalar_one():
            raise BadRequest(f"Marker {marker} could not be found.")
        stmt = stmt.where(KeyPair.name > marker)
    stmt = stmt.order_by(KeyPair.name)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await db.execute(stmt)).scalars())


async def delete_keypair(db: AsyncSession, user_id: str, name: str) -> None:
    await db.delete(await get_keypair(db, user_id, name))
