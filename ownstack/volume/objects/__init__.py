"""The volume service's persistence and domain rules: every query, no HTTP.

Each module takes the session of the caller's transaction (``async with svc.read()`` or
``svc.write()``). :data:`Session` names its type for the API layer, which passes it on
to these functions and never imports SQLAlchemy itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession as Session

__all__ = ["Session"]
