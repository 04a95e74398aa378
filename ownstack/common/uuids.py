"""Whether a value a client sent is a uuid."""

from __future__ import annotations

import uuid


def is_uuid(value: str) -> bool:
    """Whether Python's :class:`uuid.UUID` reads ``value``: dashed or not, braced, or with a
    ``urn:uuid:`` prefix, in any case."""
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
