from __future__ import annotations

import asyncio
import threading

import bcrypt
import pytest

from ownstack.identity.passwords import PasswordHasher


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(rounds=4)


async def test_hash_then_verify(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery staple")
    assert hashed.startswith("$2b$04$")
    assert await hasher.verify("correct horse battery staple", hashed)


async def test_wrong_password_does_not_verify(hasher: PasswordHasher) -> None:
    hashed = await hasher.hash("s3cret")
    assert not await hasher.verify("s3cret ", hashed)
    assert not await hasher.verify("S3cret", hashed)
    assert not await hasher.verify("", hashed)


async def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    first, second = await asyncio.gather(hasher.hash("same"), hasher.hash("same"))
    assert first != second
    assert await hasher.verify("same", first)
    assert await hasher.verify("same", second)


async def test_hashing_runs_off_the_event_loop_thread(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    hashpw = bcrypt.hashpw

    def recording_hashpw(password: bytes, salt: bytes) -> bytes:
        threads.append(threading.current_thread())
        return hashpw(password, salt)

    monkeypatch.setattr(bcrypt, "hashpw", recording_hashpw)
    await hasher.hash("pw")
    assert threads and threads[0] is not threading.current_thread()


def test_long_passwords_differing_after_byte_72_do_not_collide(hasher: PasswordHasher) -> None:
    prefix = "x" * 72
    hashed = hasher.hash_sync(prefix + "A")
    assert hasher.verify_sync(prefix + "A", hashed)
    assert not hasher.verify_sync(prefix + "B", hashed)
    assert not hasher.verify_sync(prefix, hashed)


def test_very_long_and_multibyte_passwords_work(hasher: PasswordHasher) -> None:
    password = "pässwörd-" * 1000
    hashed = hasher.hash_sync(password)
    assert hasher.verify_sync(password, hashed)
    assert not hasher.verify_sync(password[:-1], hashed)
    # 36 two-byte characters are exactly 72 bytes: hashed as they are.
    boundary = "é" * 36
    assert hasher.verify_sync(boundary, hasher.hash_sync(boundary))
    assert not hasher.verify_sync("é" * 37, hasher.hash_sync(boundary))


def test_short_password_hash_is_plain_bcrypt(hasher: PasswordHasher) -> None:
    # Hashes imported from Keystone (plain bcrypt) keep verifying.
    keystone_hash = bcrypt.hashpw(b"from keystone", bcrypt.gensalt(4)).decode()
    assert hasher.verify_sync("from keystone", keystone_hash)
    assert bcrypt.checkpw(b"ours", hasher.hash_sync("ours").encode())


def test_nul_and_lone_surrogate_passwords_hash_consistently(hasher: PasswordHasher) -> None:
    for password in ("a\x00b", "\ud800pw"):
        hashed = hasher.hash_sync(password)
        assert hasher.verify_sync(password, hashed)
    assert not hasher.verify_sync("a\x00c", hasher.hash_sync("a\x00b"))


@pytest.mark.parametrize(
    "malformed",
    ["", "garbage", "$2b$04$short", "$2b$99$" + "a" * 53, "ünïcødé", "plaintext-password"],
)
async def test_malformed_hash_is_false_not_an_error(hasher: PasswordHasher, malformed: str) -> None:
    assert await hasher.verify("plaintext-password", malformed) is False
    assert hasher.verify_sync("plaintext-password", malformed) is False


def test_truncated_hash_is_false(hasher: PasswordHasher) -> None:
    hashed = hasher.hash_sync("pw")
    assert hasher.verify_sync("pw", hashed[:-1]) is False


@pytest.mark.parametrize("rounds", [3, 32, 0, -1, True])
def test_rounds_out_of_range_are_refused(rounds: int) -> None:
    with pytest.raises(ValueError):
        PasswordHasher(rounds=rounds)


def test_rounds_are_used() -> None:
    assert PasswordHasher(rounds=5).hash_sync("pw").startswith("$2b$05$")
