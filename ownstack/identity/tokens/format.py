"""Fernet token payloads: what a token says, and how it is sealed into a string.

Tokens are opaque to clients, so the payload is ours to choose. It is deliberately *not*
byte-compatible with Keystone's msgpack payloads: no client reads them, and a token from
one cloud is never valid in another anyway, since the keys differ.

A payload is a compact JSON array whose first element is the format version::

    [1, user_id, methods, issued_at_us, lifetime_us, audit_ids, scope_kind, scope
     (, app_cred_id(, access_token_id))]

* ``issued_at_us`` is integer microseconds since the Unix epoch (UTC) and ``lifetime_us``
  the microseconds from issue to expiry, so both times round-trip exactly;
* ``scope_kind`` is 0 (unscoped), 1 (project), 2 (domain) or 3 (system), and ``scope`` is
  the project id, the domain id, the system name or ``null``;
* ids are stored as given, except that a lowercase hex id of 32 characters or more (our
  uuid hex ids) is packed as ``~`` followed by its bytes in unpadded url-safe base64, which
  saves 9 characters per uuid. An id that itself starts with ``~`` is stored with a second
  ``~`` in front; url-safe base64 never contains ``~``, so decoding is unambiguous;
* ``app_cred_id`` is only present for application credential tokens, and
  ``access_token_id`` only for OAuth1 tokens (OS-OAUTH1), after an ``app_cred_id`` of
  ``null``.

These choices keep the usual payload under 128 bytes, one AES block fewer, so that a
project-scoped password token stays under Keystone's default ``max_token_size`` of 255.

The array is encrypted with the primary key of the :class:`KeyRepository`. Fernet tokens
are url-safe base64; like Keystone we strip the ``=`` padding and restore it on decrypt.
A one-hour project-scoped password token is 247 characters long, an unscoped one 226.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken as FernetInvalidToken

from ownstack.common.errors import Unauthorized
from ownstack.identity.tokens.keys import KeyRepository

FORMAT_VERSION = 1

# Far above any token we issue; refuses absurd input before spending time decrypting it.
MAX_TOKEN_LENGTH = 4096

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_SCOPE_NONE = 0
_SCOPE_PROJECT = 1
_SCOPE_DOMAIN = 2
_SCOPE_SYSTEM = 3

_PACK_MARK = "~"
_PACKABLE_ID = re.compile(r"(?:[0-9a-f]{2}){16,}")


class InvalidToken(Unauthorized):
    """The token is malformed, was tampered with, or was sealed with an unknown key."""

    code = "identity.invalid_token"
    message = "The token is invalid."


@dataclass(frozen=True)
class TokenPayload:
    """Everything a token asserts. At most one of project, domain and system scope is set.

    ``audit_ids`` holds the token's own audit id and, for a token issued from another
    token, the audit id of that parent. Datetimes must be timezone-aware and are stored
    in UTC.
    """

    user_id: str
    methods: tuple[str, ...]
    expires_at: datetime
    issued_at: datetime
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    app_cred_id: str | None = None
    access_token_id: str | None = None          # OS-OAUTH1: the access token it came from

    def __post_init__(self) -> None:
        _require_text("user_id", self.user_id)
        methods = tuple(self.methods)
        if not methods:
            raise ValueError("a token needs at least one authentication method")
        for method in methods:
            _require_text("methods", method)
        audit_ids = tuple(self.audit_ids)
        if len(audit_ids) not in (1, 2):
            raise ValueError("audit_ids holds the token's audit id and at most its parent's")
        for audit_id in audit_ids:
            _require_text("audit_ids", audit_id)
        scopes = [s for s in (self.project_id, self.domain_id, self.system) if s is not None]
        if len(scopes) > 1:
            raise ValueError("a token is scoped to at most one of project, domain and system")
        for name in ("project_id", "domain_id", "system", "app_cred_id", "access_token_id"):
            value = getattr(self, name)
            if value is not None:
                _require_text(name, value)
        object.__setattr__(self, "methods", methods)
        object.__setattr__(self, "audit_ids", audit_ids)
        object.__setattr__(self, "expires_at", _as_utc("expires_at", self.expires_at))
        object.__setattr__(self, "issued_at", _as_utc("issued_at", self.issued_at))

    def is_expired(self, now: datetime) -> bool:
        """Whether the token has expired at ``now`` (a timezone-aware datetime)."""
        return now >= self.expires_at


class TokenFormatter:
    """Seals payloads into token strings and opens them again, with the keys in ``keys``."""

    def __init__(self, keys: KeyRepository) -> None:
        self._keys = keys

    def encrypt(self, payload: TokenPayload) -> str:
        """The token string for ``payload``, sealed with the primary key."""
        sealed = self._keys.load().encrypt(_encode(payload))
        return sealed.decode("ascii").rstrip("=")

    def decrypt(self, token: str) -> TokenPayload:
        """The payload of ``token``; raises :class:`InvalidToken` if it cannot be trusted.

        Expiry is not checked here; see :meth:`TokenPayload.is_expired`.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        try:
            sealed = token.encode("ascii")
        except UnicodeEncodeError as exc:
            raise InvalidToken() from exc
        sealed += b"=" * (-len(sealed) % 4)
        try:
            plaintext = self._keys.load().decrypt(sealed)
        except FernetInvalidToken as exc:
            raise InvalidToken() from exc
        return _decode(plaintext)


def new_audit_id() -> str:
    """A new audit id: 16 random bytes in unpadded url-safe base64 (22 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")


def _encode(payload: TokenPayload) -> bytes:
    if payload.project_id is not None:
        kind, scope = _SCOPE_PROJECT, _pack_id(payload.project_id)
    elif payload.domain_id is not None:
        kind, scope = _SCOPE_DOMAIN, _pack_id(payload.domain_id)
    elif payload.system is not None:
        kind, scope = _SCOPE_SYSTEM, payload.system
    else:
        kind, scope = _SCOPE_NONE, None
    wire: list[object] = [
        FORMAT_VERSION,
        _pack_id(payload.user_id),
        list(payload.methods),
        _to_micros(payload.issued_at),
        (payload.expires_at - payload.issued_at) // _MICROSECOND,
        list(payload.audit_ids),
        kind,
        scope,
    ]
    if payload.app_cred_id is not None or payload.access_token_id is not None:
        wire.append(None if payload.app_cred_id is None else _pack_id(payload.app_cred_id))
    if payload.access_token_id is not None:
        wire.append(_pack_id(payload.access_token_id))
    return json.dumps(wire, separators=(",", ":")).encode("ascii")


def _decode(plaintext: bytes) -> TokenPayload:
    try:
        wire = json.loads(plaintext)
    except ValueError as exc:
        raise InvalidToken() from exc
    if not isinstance(wire, list) or not wire:
        raise InvalidToken()
    decoder = _DECODERS.get(_int(wire[0]))
    if decoder is None:
        raise InvalidToken()
    try:
        return decoder(wire[1:])
    except (ValueError, OverflowError) as exc:
        raise InvalidToken() from exc


def _decode_v1(fields: list[object]) -> TokenPayload:
    app_cred_id: str | None = None
    access_token_id: str | None = None
    if len(fields) == 7:
        user_id, methods, issued_at, lifetime, audit_ids, kind, scope = fields
    elif len(fields) == 8:
        user_id, methods, issued_at, lifetime, audit_ids, kind, scope, app_cred = fields
        app_cred_id = _unpack_id(_str(app_cred))
    elif len(fields) == 9:
        user_id, methods, issued_at, lifetime, audit_ids, kind, scope, app_cred, access = fields
        app_cred_id = None if app_cred is None else _unpack_id(_str(app_cred))
        access_token_id = _unpack_id(_str(access))
    else:
        raise InvalidToken()
    scope_kind = _int(kind)
    if scope_kind == _SCOPE_NONE:
        if scope is not None:
            raise InvalidToken()
        scope_fields: dict[str, str] = {}
    elif scope_kind == _SCOPE_PROJECT:
        scope_fields = {"project_id": _unpack_id(_str(scope))}
    elif scope_kind == _SCOPE_DOMAIN:
        scope_fields = {"domain_id": _unpack_id(_str(scope))}
    elif scope_kind == _SCOPE_SYSTEM:
        scope_fields = {"system": _str(scope)}
    else:
        raise InvalidToken()
    issued = _from_micros(_int(issued_at))
    return TokenPayload(
        user_id=_unpack_id(_str(user_id)),
        methods=_str_tuple(methods),
        issued_at=issued,
        expires_at=issued + timedelta(microseconds=_int(lifetime)),
        audit_ids=_str_tuple(audit_ids),
        app_cred_id=app_cred_id,
        access_token_id=access_token_id,
        **scope_fields,
    )


# Payload format version -> decoder of the fields that follow the version.
_DECODERS: dict[int, Callable[[list[object]], TokenPayload]] = {
    1: _decode_v1,  # the first format
}


def _pack_id(value: str) -> str:
    if _PACKABLE_ID.fullmatch(value):
        packed = base64.urlsafe_b64encode(bytes.fromhex(value)).rstrip(b"=")
        return _PACK_MARK + packed.decode("ascii")
    if value.startswith(_PACK_MARK):
        return _PACK_MARK + value
    return value


def _unpack_id(value: str) -> str:
    if not value.startswith(_PACK_MARK):
        return value
    body = value[len(_PACK_MARK) :]
    if body.startswith(_PACK_MARK):
        return body
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise InvalidToken() from exc
    unpacked = raw.hex()
    if _pack_id(unpacked) != value:  # only the canonical packing of a packable id
        raise InvalidToken()
    return unpacked


def _to_micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidToken()
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidToken()
    return value


def _str_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidToken()
    return tuple(_str(item) for item in value)


def _require_text(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")


def _as_utc(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)
