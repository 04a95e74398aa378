"""Inserts that may lose to a unique key, at the fewest statements each backend allows.

A row whose unique key settles a race (an address, a MAC on its network) is inserted and
the caller learns whether it went in. On PostgreSQL and MariaDB the insert runs under a
savepoint, so a lost race (a key another transaction holds; it waits for that one) rolls
back only that insert. On SQLite writers take turns (``BEGIN IMMEDIATE``), so a clash can
only be with a committed row: ``INSERT ... ON CONFLICT DO NOTHING`` says so in one
statement, where the savepoint would cost two more.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import Base

Row = TypeVar("Row", bound=Base)


def is_sqlite(db: AsyncSession) -> bool:
    return db.get_bind().dialect.name == "sqlite"


async def insert_row(db: AsyncSession, model: type[Row], values: dict[str, Any]
                     ) -> Row | None:
    """``model(**values)`` inserted and in the session, or None when a unique key of it
    is taken (nothing else of the transaction is undone)."""
    if is_sqlite(db):
        found: Row | None = (await db.scalars(_insert_or_nothing(model), values)
                             ).one_or_none()
        return found
    row = model(**values)
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return None
    return row


@functools.cache
def _insert_or_nothing(model: type[Base], *, returning: bool = True) -> Any:
    """SQLite's ``INSERT ... ON CONFLICT DO NOTHING`` (``RETURNING`` the row) of
    ``model``, built once: the values are bound when it runs, so it is not built and
    cache-keyed for each row."""
    if returning:
        return sqlite.insert(model).on_conflict_do_nothing().returning(model)
    # The table's, not the entity's: a Core insert, whose result has its rowcount.
    table: Any = model.__table__
    return sqlite.insert(table).on_conflict_do_nothing()


async def insert_values(db: AsyncSession, model: type[Base], values: dict[str, Any]
                        ) -> bool:
    """Whether the plain row ``values`` went into ``model``'s table (False: a unique key
    of it is taken); no object joins the session."""
    if is_sqlite(db):
        result: Any = await db.execute(_insert_or_nothing(model, returning=False), values)
        return bool(result.rowcount == 1)
    try:
        async with db.begin_nested():
            await db.execute(sa.insert(model).values(**values))
    except IntegrityError:
        return False
    return True
