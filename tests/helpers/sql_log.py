"""The SQL statements sent while a block runs, for the tests that say what a request or a
function sends to its database (decisions 79, 82, 83, 85, 88 and 94)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


@contextmanager
def sent_statements(about: str | None = None, *, engine: Any = Engine,
                    keep: Callable[[str], bool] | None = None) -> Iterator[list[str]]:
    """Every statement ``engine`` (by default any engine of this process) sends while the
    block runs, in order; with ``about``, only those with it among their parameters (the
    cloud's agent and conductor keep working meanwhile); with ``keep``, only those it
    keeps (it is called in the sending task)."""
    sent: list[str] = []

    def cursor(conn: Any, cur: Any, statement: str, params: Any, *args: Any) -> None:
        if ((about is None or about in (params or ()))
                and (keep is None or keep(statement))):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", cursor)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", cursor)
