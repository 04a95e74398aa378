"""The random names of a new server, as Nova makes them: its admin password and its
reservation id, drawn from the OS's randomness a few dozen bytes at a time."""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Final

PASSWORD_LENGTH: Final = 12     # Nova's [DEFAULT]password_length
# Nova's utils.generate_password symbol groups, without look-alike characters.
_PASSWORD_GROUPS: Final = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ",
                           "abcdefghijkmnopqrstuvwxyz")


def random_indexes(sizes: Sequence[int]) -> list[int]:
    """For each of ``sizes`` (2 to 256), a uniformly random index below it, drawn from
    the OS's randomness as ``secrets`` draws it, but read a few dozen bytes at a time
    rather than once per index (a system call each: 40 for a boot's password and
    reservation id). Bytes that would bias the result (beyond the largest multiple of
    the size) are skipped."""
    result: list[int] = []
    pool = secrets.token_bytes(2 * len(sizes))
    used = 0
    for size in sizes:
        limit = 256 - 256 % size
        while True:
            if used == len(pool):
                pool, used = secrets.token_bytes(len(sizes)), 0
            byte = pool[used]
            used += 1
            if byte < limit:
                result.append(byte % size)
                break
    return result


_PASSWORD_ALPHABET: Final = "".join(_PASSWORD_GROUPS)


def generate_password(length: int = PASSWORD_LENGTH) -> str:
    """A random password with a character of every group, as Nova generates them: one of
    each group, the rest from all of them, shuffled (Fisher-Yates)."""
    rest = length - len(_PASSWORD_GROUPS)
    picks = random_indexes([len(group) for group in _PASSWORD_GROUPS]
                           + [len(_PASSWORD_ALPHABET)] * rest
                           + list(range(length, 1, -1)))
    chars = [group[i] for group, i in zip(_PASSWORD_GROUPS, picks, strict=False)]
    chars += [_PASSWORD_ALPHABET[i] for i in picks[len(chars):len(chars) + rest]]
    swaps = picks[length:]
    for top, j in zip(range(length - 1, 0, -1), swaps, strict=True):
        chars[top], chars[j] = chars[j], chars[top]
    return "".join(chars)


_RESERVATION_ALPHABET: Final = string.ascii_lowercase + string.digits


def reservation_id() -> str:
    return "r-" + "".join(_RESERVATION_ALPHABET[i]
                          for i in random_indexes([len(_RESERVATION_ALPHABET)] * 8))
