"""Core statements on a session's connection, past the ORM's execute.

``AsyncSession.execute`` takes every statement through the ORM's execution (its compile
state, events and result wrapping) even when it selects plain columns or changes rows in
bulk; on SQLite that costs about 40 us more for such a select, and 85 us more for an
insert, update or delete, than the same statement on the session's connection (decisions
79 and 80), and the busiest requests (a port create, a server's status poll, a scheduling
pass) send several. :func:`run` sends such a statement on the session's connection, in its
transaction, after flushing what the session holds pending (the autoflush ``execute``
would have done, which a connection does not).

Keep ``db.execute`` for a statement whose rows are ORM objects, and for an ORM bulk update
or delete that must change the objects the session holds (``synchronize_session``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


async def run(db: AsyncSession, statement: Any, parameters: Any = None) -> Any:
    """``statement``'s result (its rows, or its rowcount), run on ``db``'s connection."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    connection = await db.connection()
    return await connection.execute(statement, parameters)
