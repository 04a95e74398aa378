"""Small helpers every identity handler shares: links, lookups, query parsing."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import Base
from ownstack.common.errors import BadRequest
from ownstack.identity.bootstrap import DEFAULT_DOMAIN_ID
from ownstack.identity.errors import EntityNotFound
from ownstack.identity.state import Req

M = TypeVar("M", bound=Base)

_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def self_link(req: Req, path: str) -> dict[str, str]:
    return {"self": f"{req.base_url()}{path}"}


def collection_links(req: Req) -> dict[str, str | None]:
    return {"self": req.url(), "previous": None, "next": None}


async def get_or_404(db: AsyncSession, model: type[M], ident: str, kind: str) -> M:
    row = await db.get(model, ident)
    if row is None:
        raise EntityNotFound(kind, ident)
    return row


def query_bool(req: Req, name: str) -> bool | None:
    """Keystone's flag parsing: ``?enabled``, ``?enabled=true``, ``?enabled=0``."""
    if name not in req.query:
        return None
    value = req.query[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise BadRequest(f"Invalid value for query parameter {name!r}: {req.query[name]!r}.")


def query_filters(req: Req, exact: Mapping[str, SQLColumnExpression[Any]],
                  flags: Mapping[str, SQLColumnExpression[bool]] | None = None
                  ) -> list[ColumnElement[bool]]:
    """WHERE conditions for Keystone's list filters: ``?name=x`` matches a column exactly,
    ``?enabled=false`` tests a boolean column (see :func:`query_bool`)."""
    conditions = [column == req.query[key] for key, column in exact.items() if key in req.query]
    for key, column in (flags or {}).items():
        value = query_bool(req, key)
        if value is not None:
            conditions.append(column.is_(value))
    return conditions


def token_domain_id(req: Req) -> str:
    """Keystone's default ``domain_id`` for a new entity: the token's domain (a domain
    scope, else the scoped project's domain), else the default domain."""
    return req.ctx.domain_id or req.ctx.project_domain_id or DEFAULT_DOMAIN_ID


def extra_attrs(data: dict[str, Any], reserved: Collection[str]) -> dict[str, Any]:
    """The attributes Keystone keeps in ``extra``: whatever the schema did not name."""
    return {k: v for k, v in data.items() if k not in reserved}
