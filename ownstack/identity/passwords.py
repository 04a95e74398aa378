"""bcrypt password hashing that never blocks the event loop.

bcrypt only reads the first 72 bytes of a password (and bcrypt>=5 refuses longer input),
so a password longer than 72 bytes in UTF-8 is first replaced by the base64 of its
SHA-256 digest (44 bytes). Two long passwords that differ only after byte 72 therefore
get different hashes. base64 rather than the raw digest keeps NUL bytes out of bcrypt's
input. Passwords of up to 72 bytes are hashed as they are, so hashes imported from
Keystone verify for them; a Keystone hash of a longer password (which Keystone truncated)
does not verify, and that user has to reset the password.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib

import bcrypt

BCRYPT_MAX_BYTES = 72
MIN_ROUNDS = 4


class PasswordHasher:
    """Hashes and checks passwords with bcrypt at cost ``rounds`` (4 to 31)."""

    def __init__(self, rounds: int = 12) -> None:
        if isinstance(rounds, bool) or not isinstance(rounds, int) or not 4 <= rounds <= 31:
            raise ValueError("bcrypt rounds must be an integer from 4 to 31")
        self.rounds = rounds

    async def hash(self, password: str, *, rounds: int | None = None) -> str:
        """The bcrypt hash of ``password`` (at ``rounds``, else the configured cost),
        computed in a worker thread."""
        return await asyncio.to_thread(self.hash_sync, password, rounds)

    async def verify(self, password: str, hashed: str) -> bool:
        """Whether ``password`` matches ``hashed``, checked in a worker thread."""
        return await asyncio.to_thread(self.verify_sync, password, hashed)

    def hash_sync(self, password: str, rounds: int | None = None) -> str:
        """The bcrypt hash of ``password``; blocks for the whole bcrypt computation."""
        salt = bcrypt.gensalt(rounds=self.rounds if rounds is None else rounds)
        return bcrypt.hashpw(_bcrypt_input(password), salt).decode("ascii")

    def verify_sync(self, password: str, hashed: str) -> bool:
        """Whether ``password`` matches ``hashed``; False, never an error, for a bad hash."""
        try:
            return bcrypt.checkpw(_bcrypt_input(password), hashed.encode("ascii"))
        except (ValueError, TypeError, AttributeError):
            return False


def cost_of(hashed: str) -> int | None:
    """The bcrypt cost a hash was made with (``$2b$12$...`` -> 12), or ``None``."""
    parts = hashed.split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None


def _bcrypt_input(password: str) -> bytes:
    # surrogatepass: a lone surrogate that came in through JSON still hashes consistently.
    encoded = password.encode("utf-8", "surrogatepass")
    if len(encoded) > BCRYPT_MAX_BYTES:
        return base64.b64encode(hashlib.sha256(encoded).digest())
    return encoded
