"""What the identity objects modules share: a row or its 404, Keystone's ``extra``
attributes, a row written at once, a flush that names a duplicate, and the conditions of
list filters."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import Base
from ownstack.identity.errors import DuplicateEntity, EntityNotFound

M = TypeVar("M", bound=Base)


class HasExtra(Protocol):
    extra: dict[str, Any]


async def get_or_404(db: AsyncSession, model: type[M], ident: str, kind: str) -> M:
    row = await db.get(model, ident)
    if row is None:
        raise EntityNotFound(kind, ident)
    return row


def assign(row: object, data: Mapping[str, Any], keys: Collection[str]) -> None:
    """Set the row's attributes that ``data`` gives, of those named in ``keys``."""
    for key in keys:
        if key in data:
            setattr(row, key, data[key])


def extra_attrs(data: Mapping[str, Any], reserved: Collection[str]) -> dict[str, Any]:
    """The attributes Keystone keeps in ``extra``: whatever has no column of its own."""
    return {k: v for k, v in data.items() if k not in reserved}


def merge_extra(row: HasExtra, data: Mapping[str, Any], reserved: Collection[str]) -> None:
    """An update's extra attributes, added to (or replacing) those the row has."""
    extra = extra_attrs(data, reserved)
    if extra:
        row.extra = {**row.extra, **extra}


async def added(db: AsyncSession, row: M) -> M:
    """``row``, added and written now, so that its generated id is known."""
    db.add(row)
    await db.flush()
    return row


async def flush_unique(db: AsyncSession, duplicate: DuplicateEntity) -> None:
    """Write what is pending now, so that a clash with an existing row is ``duplicate``
    rather than a failed commit."""
    try:
        await db.flush()
    except IntegrityError:
        raise duplicate from None


def matching(*pairs: tuple[SQLColumnExpression[Any], str | bool | None]
             ) -> list[ColumnElement[bool]]:
    """WHERE conditions for the list filters given (not None): a string matches its column
    exactly, a flag tests a boolean column."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in pairs:
        if isinstance(value, bool):
            conditions.append(column.is_(value))
        elif value is not None:
            conditions.append(column == value)
    return conditions
