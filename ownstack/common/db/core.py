"""Core statements on a session's connection, past the ORM's execute.

``AsyncSession.execute`` takes every statement through the ORM's execution (its compile
state, events and result wrapping) even when it selects plain columns or changes rows in
bulk; on SQLite that costs about 40 us more for such a select, and 85 us more for an
insert, update or delete, than the same statement on the session's connection (decisions
79 and 80), and the busiest requests (a port create, a server's status poll, a scheduling
pass) send several. :func:`run` sends such a statement on the session's connection, in its
transaction, after flushing what the session holds pending (the autoflush ``execute``
would have done, which a connection does not).

It finds the connection and executes the statement in one greenlet (decision 92), where
``await db.connection()`` then ``await connection.execute()`` took two, each a greenlet
made and switched to and back, and an ``AsyncConnection`` call between them: the same
connection, transaction and result (a buffered ``CursorResult``, as
``AsyncConnection.execute`` answers), about 20 us less CPU per statement. (A statement
with ``stream_results``, which ``AsyncConnection.execute`` refuses, is not for
:func:`run`: none is sent through it.)

Keep ``db.execute`` for a statement whose rows are ORM objects, and for an ORM bulk update
or delete that must change the objects the session holds (``synchronize_session``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn


async def run(db: AsyncSession, statement: Any, parameters: Any = None) -> Any:
    """``statement``'s result (its rows, or its rowcount), run on ``db``'s connection."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    return await greenlet_spawn(_execute, db.sync_session, statement, parameters)


def _execute(session: Session, statement: Any, parameters: Any) -> CursorResult[Any]:
    result: CursorResult[Any] = session.connection().execute(statement, parameters)
    return result
