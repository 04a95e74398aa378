"""The two ways Nova writes a time in its response bodies."""

from __future__ import annotations

from datetime import datetime

from ownstack.common.db.base import utc_text


def isotime(value: datetime | str) -> str:
    """Nova's ``utils.isotime`` (server ``created``, ``updated``): whole seconds, ``Z``."""
    return utc_text(value, fraction=False) + "Z"


def nova_time(value: datetime | str | None) -> str | None:
    """A naive datetime as Nova serialises it (``2026-11-24T03:00:00.000000``): no zone,
    microseconds. Every stored time is UTC; ``str`` is the UTC text a listing reads (see
    ``UTCTimeText``)."""
    return None if value is None else utc_text(value, fraction=True)
