"""Fresh uuids as text (``ownstack.common.uuids.random_uuid``): what ``str(uuid.uuid4())``
writes."""

from __future__ import annotations

import re
import uuid

from ownstack.common.uuids import is_uuid, random_uuid


def test_a_random_uuid_is_a_version_4_uuid_written_as_python_writes_it() -> None:
    seen = set()
    for _ in range(2000):
        text = random_uuid()
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                            text)
        seen.add(text)
    assert len(seen) == 2000


def test_every_random_bit_is_used() -> None:
    # Every bit but the six fixed ones is seen both set and clear.
    ones, zeros = 0, 0
    for _ in range(500):
        value = uuid.UUID(random_uuid()).int
        ones |= value
        zeros |= ~value
    fixed = (0xF000 << 64) | (0xC000 << 48)
    assert ones | fixed == (1 << 128) - 1
    assert (zeros & ((1 << 128) - 1)) | fixed == (1 << 128) - 1


def test_is_uuid() -> None:
    assert is_uuid(random_uuid())
    assert not is_uuid("nope")
