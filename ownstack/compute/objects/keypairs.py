"""Keypairs: public keys, one namespace of names per user.

Keys are imported, except below microversion 2.92, where a create without a public key
gets one made as Nova makes it (``nova/crypto.py``): an RSA SSH key pair
(:func:`generate_ssh`), or for the x509 type the certificate Nova makes for WinRM
(:func:`generate_x509`). The private key is in the answer once and never stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.compute.errors import InvalidKeypair, KeypairExists, KeypairNotFound
from ownstack.compute.objects.models import KeyPair

KEYPAIR_TYPES = ("ssh", "x509")
_SAFE_NAME_CHARS = frozenset("_- 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SAFE_NAME_CHARS_292 = _SAFE_NAME_CHARS | frozenset("@.")
# What Nova's x509 certificates are: RSA 2048, ten years, for client authentication, with
# the user's principal name (Microsoft's UPN other name) in the subject's alternative names.
X509_KEY_BITS = 2048
SSH_KEY_BITS = 2048
X509_VALIDITY = timedelta(days=3650)
_UPN = ObjectIdentifier("1.3.6.1.4.1.311.20.2.3")


def validate_name(name: str, *, special: bool = False) -> None:
    """Nova's rule: 1 to 255 letters, digits, spaces, '_' and '-', and from 2.92
    (``special``) '@' and '.' too."""
    if not 1 <= len(name) <= 255:
        raise InvalidKeypair("Keypair name must be string and between 1 and 255 characters long")
    if not set(name) <= (_SAFE_NAME_CHARS_292 if special else _SAFE_NAME_CHARS):
        raise InvalidKeypair("Keypair name contains unsafe characters")


@dataclass(frozen=True)
class GeneratedKey:
    private_key: str        # what the user gets once, and ownstack never stores
    public_key: str


def generate_ssh() -> GeneratedKey:
    """Nova's generated SSH key pair: RSA 2048, the private key in the traditional PEM form
    (``BEGIN RSA PRIVATE KEY``, as paramiko writes it), the public key in OpenSSH's form
    with Nova's comment. CPU-bound (an RSA key): run it in a thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=SSH_KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode("ascii")
    return GeneratedKey(private_key=private, public_key=f"{public} Generated-by-Nova")


def generate_x509(user_id: str) -> GeneratedKey:
    """Nova's WinRM certificate for ``user_id``: a self-signed certificate (the public key,
    PEM) with subject ``CN=<user_id>``, valid for ten years, for client authentication,
    naming ``<user_id>@localhost`` as its user principal name; the private key is the
    PKCS#12 bundle of key and certificate, base64-encoded, with no password (Nova's
    ``openssl pkcs12 -export -password pass:``). CPU-bound (an RSA key): run it in a
    thread."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=X509_KEY_BITS)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user_id)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + X509_VALIDITY)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.OtherName(
                _UPN, _der_utf8_string(f"{user_id}@localhost"))]), critical=False)
            .sign(key, hashes.SHA256()))
    bundle = pkcs12.serialize_key_and_certificates(
        None, key, cert, None, serialization.NoEncryption())
    return GeneratedKey(private_key=base64.b64encode(bundle).decode("ascii"),
                        public_key=cert.public_bytes(serialization.Encoding.PEM).decode())


def _der_utf8_string(text: str) -> bytes:
    """``text`` as a DER UTF8String (the value an other name carries)."""
    data = text.encode()
    size = len(data)
    if size < 0x80:
        length = bytes([size])
    else:
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return b"\x0c" + length + data


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
                         key_type: str, special_names: bool = False) -> KeyPair:
    validate_name(name, special=special_names)
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
