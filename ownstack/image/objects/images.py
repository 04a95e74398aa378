"""Images: which a caller may see, and their life apart from uploads and patches.

Visibility and lookup, the generation compare-and-swap every write goes through,
creation, deletion, deactivation and loading tags. The upload state machine is in
:mod:`.uploads`, patches in :mod:`.image_changes`, one tag at a time in :mod:`.tags`,
listing in :mod:`.image_list`.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import Config
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import run
from ownstack.common.errors import ConcurrentUpdate, Conflict, Forbidden
from ownstack.image.errors import ImageNotFound, ImageProtected
from ownstack.image.objects.models import Image, ImageMember, ImageTag
from ownstack.image.objects.quota import check_count_quota

# Glance's defaults for [image_format] disk_formats and container_formats.
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
MEMBER_STATUSES = ("pending", "accepted", "rejected")

# Glance's image_tag_quota, image_property_quota and image_member_quota defaults.
MAX_TAGS = 128
MAX_PROPERTIES = 128
MAX_MEMBERS = 128

# What a new image is when its creator leaves an attribute out.
_CREATE_DEFAULTS: dict[str, Any] = {"visibility": "shared", "protected": False,
                                    "os_hidden": False, "min_disk": 0, "min_ram": 0}

# Glance's deactivate and reactivate actions: the status each moves from, and to.
ACTIVATION_CHANGES = {"deactivate": ("active", "deactivated"),
                      "reactivate": ("deactivated", "active")}

# How often a change that lost a race is re-applied to the image as it now is.
SAVE_ATTEMPTS = 20

T = TypeVar("T")


def is_admin(ctx: RequestContext) -> bool:
    return "admin" in ctx.roles


def visible_condition(ctx: RequestContext, *, listing: bool,
                      member_status: str | None = "accepted") -> ColumnElement[bool]:
    """The SQL condition for images ``ctx`` may see.

    Glance's rules: admins see everything; everyone sees public images; community images
    are shown by ``GET`` but listed only when asked for (``listing`` leaves them out; the
    caller adds them for ``?visibility=community``); owners see their own; members see
    shared images, and lists show only those whose membership has ``member_status``.
    """
    if is_admin(ctx):
        return Image.id.is_not(None)
    return _visible_to(ctx.project_id, listing=listing, member_status=member_status)


def _visible_to(project: str | BindParameter[str] | None, *, listing: bool,
                member_status: str | None = "accepted") -> ColumnElement[bool]:
    """:func:`visible_condition` for a caller who is not an admin, of ``project`` (a
    value, or a bind parameter in a statement built once)."""
    conditions: list[ColumnElement[bool]] = [Image.visibility == "public"]
    if not listing:
        conditions.append(Image.visibility == "community")
    if project is not None:
        conditions.append(Image.owner == project)
        member = select(ImageMember.image_id).where(
            ImageMember.image_id == Image.id, ImageMember.member_id == project)
        if listing and member_status is not None:
            member = member.where(ImageMember.status == member_status)
        conditions.append(and_(Image.visibility == "shared", exists(member)))
    return or_(*conditions) if conditions else false()


def list_condition(ctx: RequestContext, *, visibility: str | None,
                   member_status: str | None) -> ColumnElement[bool]:
    """The images ``GET /v2/images`` shows for a ``visibility`` filter (None: no filter).

    Without a filter Glance leaves out community images the caller does not own, for
    admins too; ``community`` and ``all`` bring them in; any other value keeps only
    images of that visibility. ``member_status`` None means any membership status.
    """
    condition = visible_condition(ctx, listing=True, member_status=member_status)
    if visibility is None:
        return and_(condition, or_(Image.visibility != "community",
                                   Image.owner == ctx.project_id))
    if visibility in ("community", "all"):
        condition = or_(condition, Image.visibility == "community")
    if visibility != "all":
        condition = and_(condition, Image.visibility == visibility)
    return condition


async def get_visible(db: AsyncSession, ctx: RequestContext, image_id: str, *,
                      lock: bool = False) -> Image:
    """The image, if ``ctx`` may see it; otherwise 404, never 403 (no existence oracle).

    ``lock`` takes a row lock (``SELECT ... FOR UPDATE``) for a read-modify-write in a
    write transaction, so two concurrent updates apply one after the other.
    """
    stmt = select(Image).where(Image.id == image_id, visible_condition(ctx, listing=False))
    if lock:
        stmt = stmt.with_for_update()
    image = await db.scalar(stmt)
    if image is None:
        raise ImageNotFound(image_id)
    return image


async def get_visible_with_tags(db: AsyncSession, ctx: RequestContext, image_id: str
                                ) -> tuple[Row[Any], list[str]]:
    """:func:`get_visible` and the image's tags, sorted, in one query (an outer join: one
    row per tag, one row when there are none): what ``GET /v2/images/{id}`` shows. The
    image is a plain row of its table's columns (read by name as the entity's), not an
    entity: Core's execution costs about half the ORM's, and every boot shows its image."""
    if is_admin(ctx):
        stmt, params = _SHOW_TO_ADMIN, {"b_image": image_id}
    elif ctx.project_id is None:
        stmt, params = _SHOW_TO_NO_PROJECT, {"b_image": image_id}
    else:
        stmt, params = _SHOW_TO_PROJECT, {"b_image": image_id, "b_project": ctx.project_id}
    rows = (await run(db, stmt, params)).all()
    if not rows:
        raise ImageNotFound(image_id)
    return rows[0], [row.image_tag for row in rows if row.image_tag is not None]


# Built once, one per kind of caller: every server boot shows its image, and building the
# statement (and its cache key) costs more CPU than SQLite spends running it.
def _show_with_tags(visible: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return (select(*cast(Table, Image.__table__).c, ImageTag.value.label("image_tag"))
            .outerjoin(ImageTag, ImageTag.image_id == Image.id)
            .where(Image.id == bindparam("b_image"), visible)
            .order_by(ImageTag.value))


_SHOW_TO_ADMIN: Final = _show_with_tags(Image.id.is_not(None))
_SHOW_TO_NO_PROJECT: Final = _show_with_tags(_visible_to(None, listing=False))
_SHOW_TO_PROJECT: Final = _show_with_tags(
    _visible_to(bindparam("b_project", type_=String()), listing=False))


async def load_tags(db: AsyncSession, image_id: str) -> list[str]:
    return (await load_tags_of(db, [image_id]))[image_id]


async def load_tags_of(db: AsyncSession, image_ids: list[str]) -> dict[str, list[str]]:
    """Each image's tags, sorted, in one query for a whole page of images."""
    tags: dict[str, list[str]] = {image_id: [] for image_id in image_ids}
    if image_ids:
        rows = await db.execute(select(ImageTag.image_id, ImageTag.value)
                                .where(ImageTag.image_id.in_(image_ids))
                                .order_by(ImageTag.value))
        for image_id, value in rows:
            tags[image_id].append(value)
    return tags


async def create_image(db: AsyncSession, config: Config, *, image_id: str | None,
                       owner: str | None, core: Mapping[str, Any],
                       properties: dict[str, str], tags: list[str]) -> Image:
    """A new ``queued`` image with ``core`` attributes (Glance's defaults for the rest).

    A taken id is a 409, also when a concurrent request takes it first; a project that
    owns as many images as its quota allows gets a 413.
    """
    now = utcnow()
    image = Image(**{**_CREATE_DEFAULTS, **core}, id=image_id or str(uuid.uuid4()),
                  owner=owner, status="queued", properties=properties, created_at=now,
                  updated_at=now)
    duplicate = Conflict(f"Image with identifier {image.id} already exists!")
    if await db.get(Image, image.id) is not None:
        raise duplicate
    await check_count_quota(db, owner, config)
    try:
        db.add(image)
        await db.flush()
        db.add_all(ImageTag(image_id=image.id, value=tag) for tag in tags)
        await db.flush()
    except IntegrityError:
        raise duplicate from None
    return image


async def replace_tags(db: AsyncSession, image_id: str, tags: Iterable[str]) -> None:
    await db.execute(delete(ImageTag).where(ImageTag.image_id == image_id))
    db.add_all(ImageTag(image_id=image_id, value=tag) for tag in dict.fromkeys(tags))


async def delete_image(db: AsyncSession, image: Image) -> None:
    """The image and everything hanging off it, unless it is protected (403); its file is
    the store's. The foreign keys cascade on every backend but SQLite without
    ``foreign_keys``, so this does not rely on them."""
    if image.protected:
        raise ImageProtected(image.id)
    await db.execute(delete(ImageTag).where(ImageTag.image_id == image.id))
    await db.execute(delete(ImageMember).where(ImageMember.image_id == image.id))
    await db.delete(image)


async def change_activation(db: AsyncSession, image: Image, action: str) -> None:
    """Glance's ``deactivate`` or ``reactivate`` (:data:`ACTIVATION_CHANGES`): a no-op when
    the image is already there, and 403 from any status but the one it moves from."""
    source, result = ACTIVATION_CHANGES[action]
    if image.status == source:
        await save_image(db, image, {"status": result})
    elif image.status != result:
        raise Forbidden(f"Not allowed to {action} image in status '{image.status}'")


class LostRace(Exception):
    """Another request changed the image between our read and our write."""


async def save_image(db: AsyncSession, image: Image, values: Mapping[str, Any] | None = None
                     ) -> None:
    """Write ``values`` to ``image`` and bump its ``generation``, if nobody changed it since
    it was read: a compare-and-swap on ``generation``.

    SQLite ignores ``FOR UPDATE``, so without this two concurrent patches would both read
    the same properties and the second would silently drop what the first added. Raises
    :class:`LostRace`; the caller's transaction must then roll back (see :func:`retrying`).
    """
    seen = image.generation
    result = await db.execute(update(Image).where(Image.id == image.id,
                                                  Image.generation == seen)
                              .values(**(values or {}), generation=seen + 1,
                                      updated_at=utcnow()))
    if rows_matched(result) != 1:
        raise LostRace(image.id)


async def retrying(operation: Callable[[], Awaitable[T]]) -> T:
    """Run ``operation`` (a whole read-modify-write transaction) again while it loses
    races, as if the concurrent requests had arrived one after the other; 409 when it
    keeps losing."""
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return await operation()
        except LostRace:
            # A little jitter, so that many writers racing on one image spread out
            # instead of colliding again in lockstep.
            await asyncio.sleep(random.uniform(0, 0.002) * (attempt + 1))
    raise ConcurrentUpdate()
