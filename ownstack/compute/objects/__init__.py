"""Compute's persistence and domain rules: every query, no HTTP.

Each module takes the session of the caller's transaction (``async with svc.read()`` or
``svc.write()``), or for a reader of Core statements alone a plain read
(``svc.db.plain_read()``). :data:`Session` and :data:`Runner` (either) name their types for
the API layer, which passes them on to these functions and never imports SQLAlchemy itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession as Session

from ownstack.common.db.core import Runner

__all__ = ["Runner", "Session"]
