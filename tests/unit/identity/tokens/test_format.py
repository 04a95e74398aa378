from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ownstack.common.errors import Unauthorized
from ownstack.identity.tokens.format import (
    InvalidToken,
    TokenFormatter,
    TokenPayload,
    new_audit_id,
)
from ownstack.identity.tokens.keys import KeyRepository

ISSUED = datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> KeyRepository:
    repository = KeyRepository(tmp_path / "fernet-keys", max_active_keys=3)
    repository.setup()
    return repository


@pytest.fixture
def formatter(keys: KeyRepository) -> TokenFormatter:
    return TokenFormatter(keys)


def payload(**overrides: object) -> TokenPayload:
    fields: dict[str, object] = {
        "user_id": uuid.uuid4().hex,
        "methods": ("password",),
        "expires_at": ISSUED + timedelta(hours=1),
        "issued_at": ISSUED,
        "audit_ids": (new_audit_id(),),
    }
    fields.update(overrides)
    return TokenPayload(**fields)  # type: ignore[arg-type]


def primary_fernet(keys: KeyRepository) -> Fernet:
    primary = max(keys.key_indexes())
    return Fernet((keys.path / str(primary)).read_bytes())


def seal_plaintext(keys: KeyRepository, plaintext: bytes) -> str:
    return primary_fernet(keys).encrypt(plaintext).decode("ascii").rstrip("=")


@pytest.mark.parametrize(
    "scope",
    [
        {},
        {"project_id": uuid.uuid4().hex},
        {"domain_id": "default"},
        {"domain_id": uuid.uuid4().hex},
        {"system": "all"},
    ],
    ids=["unscoped", "project", "named-domain", "domain", "system"],
)
def test_round_trip_of_every_scope(formatter: TokenFormatter, scope: dict[str, str]) -> None:
    original = payload(**scope)
    assert formatter.decrypt(formatter.encrypt(original)) == original


def test_round_trip_keeps_every_field(formatter: TokenFormatter) -> None:
    original = payload(
        user_id="ldap-user~1",
        methods=("password", "totp"),
        audit_ids=(new_audit_id(), new_audit_id()),
        project_id=uuid.uuid4().hex,
        app_cred_id=uuid.uuid4().hex,
    )
    decrypted = formatter.decrypt(formatter.encrypt(original))
    assert decrypted == original
    assert decrypted.issued_at.microsecond == 123456
    assert decrypted.issued_at.tzinfo is UTC


def test_round_trip_of_an_oauth1_token(formatter: TokenFormatter) -> None:
    """An OS-OAUTH1 token names its access token, after an application credential id of
    null; the project-scoped one stays far below Keystone's own OAuth1 token sizes."""
    original = payload(methods=("oauth1",), project_id=uuid.uuid4().hex,
                       access_token_id=uuid.uuid4().hex)
    token = formatter.encrypt(original)
    assert formatter.decrypt(token) == original
    assert formatter.decrypt(token).app_cred_id is None
    assert len(token) < 300


@pytest.mark.parametrize(
    "odd_id",
    ["~", "~~x", "~" + "ab" * 16, "AB" * 16, "ab" * 15, "abc" + "0" * 30, "ünïcødé"],
)
def test_ids_that_look_packed_or_nearly_hex_round_trip(
    formatter: TokenFormatter, odd_id: str
) -> None:
    original = payload(user_id=odd_id, project_id=odd_id)
    assert formatter.decrypt(formatter.encrypt(original)) == original


def test_token_is_unpadded_url_safe_and_short(formatter: TokenFormatter) -> None:
    token = formatter.encrypt(payload(project_id=uuid.uuid4().hex))
    assert "=" not in token
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) <= 255  # Keystone's default max_token_size


def test_padded_token_is_accepted(formatter: TokenFormatter) -> None:
    original = payload()
    token = formatter.encrypt(original)
    assert formatter.decrypt(token + "=" * (-len(token) % 4)) == original


def test_token_is_encrypted_with_the_primary_key(
    keys: KeyRepository, formatter: TokenFormatter
) -> None:
    token = formatter.encrypt(payload())
    plaintext = primary_fernet(keys).decrypt(token + "=" * (-len(token) % 4))
    assert json.loads(plaintext)[0] == 1


def test_tampered_token_is_invalid(formatter: TokenFormatter) -> None:
    token = formatter.encrypt(payload())
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[40] ^= 0x01  # a ciphertext byte
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode("ascii").rstrip("=")
    with pytest.raises(InvalidToken):
        formatter.decrypt(tampered)


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "not a token!", "ünïcødé", "A" * 5000, "gAAAAA"],
)
def test_malformed_token_is_invalid(formatter: TokenFormatter, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        formatter.decrypt(garbage)


def test_token_from_an_unknown_key_is_invalid(formatter: TokenFormatter) -> None:
    other_cloud = Fernet(Fernet.generate_key())
    token = other_cloud.encrypt(b'[1,"u",["password"],0,1,["a"],0,null]')
    with pytest.raises(InvalidToken):
        formatter.decrypt(token.decode("ascii").rstrip("="))


def test_token_of_a_pruned_key_becomes_invalid(
    keys: KeyRepository, formatter: TokenFormatter
) -> None:
    original = payload()
    token = formatter.encrypt(original)
    keys.rotate()
    assert formatter.decrypt(token) == original  # still in the overlap
    keys.rotate()
    with pytest.raises(InvalidToken):
        formatter.decrypt(token)


def test_minimal_well_formed_payload_decrypts(
    keys: KeyRepository, formatter: TokenFormatter
) -> None:
    # The baseline the malformed payloads below deviate from, one defect each.
    sealed = seal_plaintext(keys, b'[1,"u",["password"],0,1,["a"],0,null]')
    assert formatter.decrypt(sealed) == TokenPayload(
        user_id="u",
        methods=("password",),
        issued_at=datetime(1970, 1, 1, tzinfo=UTC),
        expires_at=datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
        audit_ids=("a",),
    )


@pytest.mark.parametrize(
    "plaintext",
    [
        b"not json",
        b"\xff\xfe",
        b"{}",
        b"[]",
        b'["1"]',
        b"[true]",
        b'[2,"u",["password"],0,1,["a"],0,null]',  # unknown version
        b'[1,"u",["password"],0,1,["a"],0]',  # a field short
        b'[1,"u",["password"],0,1,["a"],0,null,null]',  # app_cred_id present but null
        b'[1,"u",["password"],0,1,["a"],0,null,"c","d","e"]',  # a field too many
        b'[1,"u",["password"],0,1,["a"],0,null,null,null]',  # access_token_id null
        b'[1,"u",["password"],0,1,["a"],0,null,null,7]',
        b'[1,"u",[],0,1,["a"],0,null]',  # no method
        b'[1,"u",["password"],0,1,[],0,null]',  # no audit id
        b'[1,"u",["password"],0,1,["a","b","c"],0,null]',
        b'[1,"u",["password"],0,1,["a"],9,"x"]',  # unknown scope kind
        b'[1,"u",["password"],0,1,["a"],0,"x"]',  # unscoped with a scope
        b'[1,"u",["password"],0,1,["a"],1,null]',  # project scope without id
        b'[1,"u",["password"],"0",1,["a"],0,null]',
        b'[1,"u",["password"],0,1e99,["a"],0,null]',
        b'[1,"u",["password"],0,99999999999999999999999,["a"],0,null]',
        b'[1,"~!!",["password"],0,1,["a"],0,null]',  # bad packed id
        b'[1,"~AAAA",["password"],0,1,["a"],0,null]',  # packed id too short
        b'[1,7,["password"],0,1,["a"],0,null]',
        b'[1,"",["password"],0,1,["a"],0,null]',
    ],
)
def test_well_sealed_but_malformed_payload_is_invalid(
    keys: KeyRepository, formatter: TokenFormatter, plaintext: bytes
) -> None:
    with pytest.raises(InvalidToken):
        formatter.decrypt(seal_plaintext(keys, plaintext))


def test_invalid_token_is_a_401_with_a_stable_code() -> None:
    error = InvalidToken()
    assert isinstance(error, Unauthorized)
    assert error.status == 401
    assert error.code == "identity.invalid_token"


def test_expiry_is_not_checked_when_decrypting(formatter: TokenFormatter) -> None:
    expired = payload(issued_at=ISSUED - timedelta(days=2), expires_at=ISSUED - timedelta(days=1))
    assert formatter.decrypt(formatter.encrypt(expired)) == expired


def test_is_expired() -> None:
    token = payload()
    assert not token.is_expired(ISSUED)
    assert not token.is_expired(token.expires_at - timedelta(microseconds=1))
    assert token.is_expired(token.expires_at)
    assert token.is_expired(token.expires_at + timedelta(seconds=1))


def test_payload_allows_at_most_one_scope() -> None:
    with pytest.raises(ValueError, match="at most one"):
        payload(project_id="p", domain_id="d")
    with pytest.raises(ValueError, match="at most one"):
        payload(domain_id="d", system="all")
    with pytest.raises(ValueError, match="at most one"):
        payload(project_id="p", system="all")


def test_payload_requires_aware_datetimes_and_stores_utc() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        payload(issued_at=datetime(2025, 1, 1))
    plus_two = timezone(timedelta(hours=2))
    token = payload(expires_at=datetime(2025, 1, 1, 14, tzinfo=plus_two))
    assert token.expires_at == datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert token.expires_at.tzinfo is UTC


@pytest.mark.parametrize(
    "overrides",
    [
        {"audit_ids": ()},
        {"audit_ids": ("a", "b", "c")},
        {"methods": ()},
        {"user_id": ""},
        {"project_id": ""},
    ],
)
def test_payload_rejects_incomplete_fields(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        payload(**overrides)


def test_new_audit_id_is_22_url_safe_characters() -> None:
    audit_ids = {new_audit_id() for _ in range(100)}
    assert len(audit_ids) == 100
    for audit_id in audit_ids:
        assert len(audit_id) == 22
        assert len(base64.urlsafe_b64decode(audit_id + "==")) == 16
