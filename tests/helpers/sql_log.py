"""The SQL statements sent while a block runs, for the tests that say what a request or a
function sends to its database (decisions 82, 88 and 94). ``helpers.network_statements``
keeps a narrower count: one service's engine and one task's statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def sent_statements(about: str | None = None) -> Iterator[list[str]]:
    """Every statement any engine of this process sends while the block runs, in order;
    with ``about``, only those with it among their parameters (the cloud's agent and
    conductor keep working meanwhile)."""
    sent: list[str] = []

    def cursor(conn: Any, cur: Any, statement: str, params: Any, *args: Any) -> None:
        if about is None or about in (params or ()):
            sent.append(statement)

    event.listen(Engine, "before_cursor_execute", cursor)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", cursor)
