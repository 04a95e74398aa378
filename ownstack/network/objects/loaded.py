"""Rows read as plain columns with Core, made into objects of their model that no
session holds, for a write that only reads them (decision 93).

A port create's first read gives it its network and the network's subnets, which it
reads and never changes. Through ``AsyncSession.execute`` the ORM's execution and loading
(its compile state, a row processor per entity, the identity map's bookkeeping, then
attaching each object to the session) cost about as much again as the statement. Read on
the session's connection instead (``core.run``), each model's columns are
:func:`columns_of` it, in the order :func:`unattached` takes them from the row, and the
object it makes holds every column's value in its ``__dict__``, as a load leaves it:
reading any column gives what a load would give. It belongs to no session, so a change
to it is never flushed and nothing of it is loaded later: a caller that changes the row
reads it through the session instead. The network models have SQLAlchemy's own
constructor, no relationships and no load or init events of their own
(``test_attached_rows`` keeps them so), so a load sets up nothing else.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from ownstack.common.db.base import Base

Row = TypeVar("Row", bound=Base)


@functools.cache
def columns_of(model: type[Base]) -> tuple[Any, ...]:
    """Every column of ``model``'s table, in the order :func:`unattached` reads them."""
    return tuple(column for _, column in _keyed(model))


@functools.cache
def _keyed(model: type[Base]) -> tuple[tuple[str, Any], ...]:
    """Each mapped column of ``model`` with the attribute that holds it."""
    mapper: Any = sa.inspect(model)
    found = []
    for attribute in mapper.column_attrs:
        (column,) = attribute.columns
        found.append((attribute.key, column))
    return tuple(found)


@functools.cache
def _keys(model: type[Base]) -> tuple[str, ...]:
    return tuple(key for key, _ in _keyed(model))


def unattached(model: type[Row], row: Any, start: int = 0) -> Row:
    """The object of ``model`` whose :func:`columns_of` are ``row[start:]``, in no
    session (see the module's docstring)."""
    keys = _keys(model)
    made = cast(Row, model.__mapper__.class_manager.new_instance())
    made.__dict__.update(zip(keys, row[start:start + len(keys)], strict=True))
    return made


def from_values(model: type[Row], values: dict[str, Any]) -> Row:
    """The object of ``model`` holding ``values`` (every column's, by attribute name: a
    row just inserted, ``inserts.insert_new``), in no session, as :func:`unattached`
    makes one from a read."""
    made = cast(Row, model.__mapper__.class_manager.new_instance())
    made.__dict__.update(values)
    return made
