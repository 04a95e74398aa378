"""The admin password and reservation id of a new server: random as ``secrets`` makes them,
from the OS's randomness read once per server instead of once per character."""

from __future__ import annotations

import collections
import string

import pytest

from ownstack.compute.objects import random_names


def test_indexes_are_below_their_sizes_and_cover_them_evenly() -> None:
    picks = random_names.random_indexes([3] * 30000)
    counts = collections.Counter(picks)
    assert set(counts) == {0, 1, 2}
    # 10000 expected each: a biased draw (256 % 3 == 1 byte value extra for 0) or a
    # broken one would be far outside this.
    assert all(9500 < n < 10500 for n in counts.values()), counts
    for size in (2, 57, 200, 256):
        assert set(random_names.random_indexes([size] * 20 * size)) == set(range(size))


def test_more_rejected_bytes_than_the_first_read_holds(monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    reads = iter([bytes([255, 200]), bytes([201, 7])])
    monkeypatch.setattr(random_names.secrets, "token_bytes", lambda n: next(reads))
    # For 200, bytes from 200 up would favour the indexes below 56: skipped.
    assert random_names.random_indexes([200]) == [7]


def test_passwords_have_every_group_and_differ() -> None:
    alphabet = set("".join(random_names._PASSWORD_GROUPS))
    seen = set()
    for _ in range(2000):
        password = random_names.generate_password()
        assert len(password) == random_names.PASSWORD_LENGTH and set(password) <= alphabet
        assert all(set(password) & set(group) for group in random_names._PASSWORD_GROUPS)
        seen.add(password)
    assert len(seen) == 2000
    # Shuffled: the first group's character is not always first.
    firsts = {random_names.generate_password()[0] for _ in range(500)}
    assert firsts - set(random_names._PASSWORD_GROUPS[0])


def test_reservation_ids() -> None:
    ids = {random_names.reservation_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("r-") and len(i) == 10
               and set(i[2:]) <= set(string.ascii_lowercase + string.digits) for i in ids)
