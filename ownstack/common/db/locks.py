"""Lock rows: one row per key (a project, say), taken first in a write transaction so
that concurrent transactions on the same key take turns.

Taking the lock is one upsert that bumps the row's ``generation``: it makes the row on
first use, and the update is what makes a concurrent taker wait until this transaction
ends (a row lock on PostgreSQL and MariaDB; SQLite has one writer at a time anyway).

It is one statement on purpose. Making the row with an insert that ignores a twin and
then updating it deadlocks on MariaDB when several transactions make the same new row at
once: InnoDB gives each waiting twin a *shared* lock on the row when the first commits,
and each then needs an exclusive one to update it, which the others' shared locks block.
An ``INSERT ... ON DUPLICATE KEY UPDATE`` asks for the exclusive lock from the start, so
the twins queue (as PostgreSQL's ``ON CONFLICT DO UPDATE`` does).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.core import run


class LockRows:
    """The lock rows of one table: ``key`` is its primary key column, ``generation`` an
    integer column that every take bumps."""

    def __init__(self, table: sa.Table, key: str) -> None:
        self.table = table
        self.key = table.c[key]
        self._statements: dict[str, Any] = {}

    async def take(self, db: AsyncSession, key: str) -> None:
        """Hold the lock on ``key`` for the rest of ``db``'s write transaction."""
        # On the session's connection, past the ORM's execute (a plain upsert: nothing
        # for the ORM to do but cost about 80 us more, once in every boot).
        await run(db, self._upsert(db.get_bind().dialect.name), {"k": key})

    def _upsert(self, dialect: str) -> Any:
        stmt = self._statements.get(dialect)
        if stmt is None:
            stmt = self._statements[dialect] = self._build(dialect)
        return stmt

    def _build(self, dialect: str) -> Any:
        row = {self.key.name: sa.bindparam("k"), "generation": 0}
        bumped = {"generation": self.table.c.generation + 1}
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(self.table).values(row).on_conflict_do_update(
                index_elements=[self.key], set_=bumped)
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(self.table).values(row).on_conflict_do_update(
                index_elements=[self.key], set_=bumped)
        if dialect in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            return mysql_insert(self.table).values(row).on_duplicate_key_update(bumped)
        raise ValueError(f"no lock-row upsert for the {dialect!r} dialect")
