"""``GET /v2/images`` in SQL: the filters Glance offers, the visible images, one page.

The API reads the query string into :class:`ImageFilters` (``api/filters.py``); this
module turns them into conditions on the visible images and pages by keyset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.pagination import paginate
from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.image.objects.images import list_condition, load_tags_of, visible_condition
from ownstack.image.objects.models import Image, ImageTag

# The core attributes a filter matches exactly; those in LIST_FILTERS also match any of
# a list (``?status=in:active,queued``).
STRING_FILTERS = ("id", "name", "status", "owner", "container_format", "disk_format",
                  "checksum", "os_hash_algo", "os_hash_value")
LIST_FILTERS = frozenset({"id", "name", "status", "container_format", "disk_format"})
NUMBER_FILTERS = ("min_disk", "min_ram", "size", "virtual_size")
TIME_FILTERS = ("created_at", "updated_at")
TIME_OPERATORS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__",
                  "eq": "__eq__", "neq": "__ne__"}


@dataclass
class ImageFilters:
    """What a list asks for, beyond visibility: every image matches every field given.

    ``visibility`` None is Glance's default list; ``member_status`` None means a shared
    image is listed whatever its member said.
    """

    visibility: str | None = None
    member_status: str | None = "accepted"
    os_hidden: bool = False
    protected: bool | None = None
    size_min: int | None = None
    size_max: int | None = None
    tags: list[str] = field(default_factory=list)
    matches: dict[str, list[str]] = field(default_factory=dict)   # STRING_FILTERS
    numbers: dict[str, int] = field(default_factory=dict)         # NUMBER_FILTERS
    times: list[tuple[str, str, datetime]] = field(default_factory=list)  # name, op, when
    properties: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImagePage:
    images: list[Image]
    tags: dict[str, list[str]]      # of each image on the page, by id
    more: bool                      # whether images follow the page


async def list_images(db: AsyncSession, ctx: RequestContext, filters: ImageFilters, *,
                      limit: int, marker_id: str | None, sort: Sequence[tuple[str, str]]
                      ) -> ImagePage:
    """The page of at most ``limit`` images after ``marker_id`` in ``sort`` order; an
    unknown or invisible marker is a 400, as in Glance."""
    marker = await _marker(db, ctx, marker_id) if marker_id is not None else None
    rows = list(await db.scalars(paginate(select(Image).where(*_conditions(ctx, filters)),
                                          Image, limit=limit + 1, marker_row=marker,
                                          sort=sort)))
    page = rows[:limit]
    tags = await load_tags_of(db, [image.id for image in page])
    return ImagePage(page, tags, more=len(rows) > limit)


def _conditions(ctx: RequestContext, filters: ImageFilters) -> list[ColumnElement[bool]]:
    conditions = [list_condition(ctx, visibility=filters.visibility,
                                 member_status=filters.member_status),
                  Image.os_hidden.is_(filters.os_hidden)]
    if filters.protected is not None:
        conditions.append(Image.protected.is_(filters.protected))
    if filters.size_min is not None:
        conditions.append(Image.size >= filters.size_min)
    if filters.size_max is not None:
        conditions.append(Image.size <= filters.size_max)
    conditions += [exists(select(ImageTag.image_id).where(
        ImageTag.image_id == Image.id, ImageTag.value == tag)) for tag in filters.tags]
    conditions += [_match(_column(name), values) for name, values in filters.matches.items()]
    conditions += [_column(name) == value for name, value in filters.numbers.items()]
    conditions += [getattr(_column(name), TIME_OPERATORS[operator])(when)
                   for name, operator, when in filters.times]
    conditions += [Image.properties[name].as_string() == value
                   for name, value in filters.properties]
    return conditions


def _column(name: str) -> Any:
    return getattr(Image, name)


def _match(column: Any, values: list[str]) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = (column == values[0] if len(values) == 1
                                      else column.in_(values))
    return condition


async def _marker(db: AsyncSession, ctx: RequestContext, marker_id: str) -> Image:
    marker: Image | None = await db.scalar(select(Image).where(
        Image.id == marker_id, visible_condition(ctx, listing=False)))
    if marker is None:
        raise BadRequest(f"Invalid marker: image {marker_id} could not be found.")
    return marker
