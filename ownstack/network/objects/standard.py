"""Neutron's standard attributes, the same on every resource: revisions and tags.

Every change to a resource bumps its ``revision_number`` and ``updated_at``
(:func:`touch`). A client that sends ``If-Match: revision_number=N`` changes or deletes
the resource only while it is still at revision N (:func:`check_revision`), otherwise 412.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.core import run
from ownstack.network.errors import BadNetworkRequest, InvalidInput, RevisionMismatch
from ownstack.network.objects.listing import Ids, in_ids
from ownstack.network.objects.models import StandardAttributes, Tag

# How a kind's domain module finds one resource as the caller may see it (or raises 404).
Finder = Callable[[AsyncSession, RequestContext, str], Awaitable[StandardAttributes]]

MAX_TAGS: Final = 50
MAX_TAG_LENGTH: Final = 255


def touch(row: StandardAttributes) -> None:
    """Mark ``row`` changed: its next revision, now."""
    row.revision_number += 1
    row.updated_at = utcnow()


def parse_if_match(header: str | None) -> int | None:
    """The revision an ``If-Match: revision_number=N`` header names, or None without one."""
    if header is None:
        return None
    name, sep, value = header.strip().partition("=")
    if name.strip() != "revision_number" or not sep or not value.strip().isdigit():
        raise BadNetworkRequest("request", "If-Match header must be of the form "
                                "'revision_number=N'")
    return int(value)


def check_revision(row: StandardAttributes, expected: int | None) -> None:
    if expected is not None and row.revision_number != expected:
        raise RevisionMismatch(expected, row.revision_number)


def check_tag(tag: str) -> str:
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
        raise InvalidInput(f"'{tag}' is not a valid tag: a tag is 1 to {MAX_TAG_LENGTH} "
                           "characters without a comma")
    return tag


async def tags_of(db: AsyncSession, ids: Ids) -> dict[str, list[str]]:
    """Each resource's tags, sorted, by id (a resource without tags is absent)."""
    found: dict[str, list[str]] = {}
    for among in in_ids(Tag.resource_id, ids):
        rows = await run(db, sa.select(Tag.resource_id, Tag.tag).where(among))
        for resource_id, tag in rows:
            found.setdefault(resource_id, []).append(tag)
    for tags in found.values():
        tags.sort()
    return found


async def set_tags(db: AsyncSession, row: StandardAttributes, resource_type: str,
                   tags: Iterable[str]) -> list[str]:
    """Replace ``row``'s tags; the new list, sorted."""
    wanted = sorted({check_tag(tag) for tag in tags})
    if len(wanted) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags are allowed on one resource")
    await db.execute(sa.delete(Tag).where(Tag.resource_id == row.id))
    for tag in wanted:
        db.add(Tag(resource_id=row.id, tag=tag, resource_type=resource_type))
    touch(row)
    return wanted


async def add_tag(db: AsyncSession, row: StandardAttributes, resource_type: str,
                  tag: str) -> None:
    check_tag(tag)
    current = await tags_of(db, [row.id])
    have = current.get(row.id, [])
    if tag in have:
        return
    if len(have) >= MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags are allowed on one resource")
    db.add(Tag(resource_id=row.id, tag=tag, resource_type=resource_type))
    touch(row)


async def remove_tag(db: AsyncSession, row: StandardAttributes, tag: str) -> bool:
    """Whether ``row`` had ``tag`` (and now has not)."""
    result: Any = await db.execute(sa.delete(Tag).where(Tag.resource_id == row.id,
                                                        Tag.tag == tag))
    if result.rowcount:
        touch(row)
        return True
    return False


async def drop_tags(db: AsyncSession, ids: Sequence[str]) -> None:
    """Forget the tags of deleted resources."""
    if ids:
        await run(db, sa.delete(Tag).where(Tag.resource_id.in_(ids)))


async def delete_row(db: AsyncSession, row: StandardAttributes) -> None:
    """``db.delete(row)`` and its flush, as one Core ``DELETE`` by its id: the ORM's unit
    of work costs more than the statement, for a row whose dependents go by their foreign
    keys' ``ON DELETE CASCADE`` (no relationship of the models cascades in Python). The
    object leaves the session first, as a deleted one does when its transaction commits,
    so that no change of it still pending is written before it goes."""
    db.expunge(row)
    await run(db, _delete_by_id(type(row)), {"id": row.id})


def _delete_by_id(model: type[StandardAttributes]) -> sa.Delete:
    """The model's ``DELETE ... WHERE id = :id``, built once."""
    found = _DELETES.get(model)
    if found is None:
        table = sa.inspect(model).local_table
        found = _DELETES[model] = sa.delete(table).where(table.c.id == sa.bindparam("id"))
    return found


_DELETES: dict[type[StandardAttributes], sa.Delete] = {}
