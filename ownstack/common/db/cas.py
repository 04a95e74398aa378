"""Compare-and-swap on a ``generation`` column, the concurrency model of every service.

A write is ``UPDATE … SET generation = generation + 1 WHERE id = ? AND generation = ?``
inside the write transaction; :func:`rows_matched` tells whether it won. A lost race
(0 rows) rolls the transaction back and becomes a 409 or a retry, never a double write.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result


def rows_matched(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched (0 for a statement that returns none)."""
    return int(result.rowcount) if isinstance(result, CursorResult) else 0
