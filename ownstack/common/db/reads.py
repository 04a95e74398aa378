"""Runner that must see the latest commit inside a write transaction.

A quota check counts rows after taking its project's lock, and must see everything the
lock's previous holder committed. PostgreSQL (READ COMMITTED) reads each statement afresh
and SQLite has one writer at a time, so a plain read does. InnoDB's REPEATABLE READ, the
MariaDB default, reads from the snapshot of the transaction's *first* read, which is often
older than the lock (a server create reads its flavor first), so there a plain count misses
rows a racing create has just committed. A locking read (``LOCK IN SHARE MODE``) sees the
latest commit; only the lock's holder makes one, so it cannot deadlock.
"""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select

from ownstack.common.db.core import Runner

Ts = TypeVarTuple("Ts")

_SNAPSHOT_DIALECTS = frozenset({"mysql", "mariadb"})


def latest(db: Runner, stmt: Select[*Ts]) -> Select[*Ts]:
    """``stmt`` made to read the latest commit on the database of ``db`` (a session or a
    plain read)."""
    if db.get_bind().dialect.name in _SNAPSHOT_DIALECTS:
        return stmt.with_for_update(read=True)
    return stmt
