"""Metadata definition namespaces: which a caller may see, and their life (decision 69).

Glance's visibility (``glance/db/sqlalchemy/metadef_api/namespace.py``): an admin sees
every namespace, anyone else the public ones and those its project owns. What a caller
may not see does not exist for it (404). A namespace's objects, properties, tags and
resource type associations go with it (:mod:`.metadef_contents`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.pagination import paginate
from ownstack.common.context import RequestContext
from ownstack.image.errors import (
    MetadefDuplicate,
    MetadefNamespaceNotFound,
    MetadefProtected,
)
from ownstack.image.objects.models import (
    MetadefNamespace,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
)

NAMESPACE_SORT_KEYS = ("namespace", "display_name", "description", "visibility", "protected",
                       "owner", "created_at", "updated_at")


def visible(ctx: RequestContext) -> ColumnElement[bool]:
    if "admin" in ctx.roles:
        return true()
    if ctx.project_id is None:
        return MetadefNamespace.visibility == "public"
    return or_(MetadefNamespace.visibility == "public",
               MetadefNamespace.owner == ctx.project_id)


async def get_visible(db: AsyncSession, ctx: RequestContext, name: str, *,
                      lock: bool = False, message: str | None = None) -> MetadefNamespace:
    """The namespace called ``name`` if ``ctx`` may see it; else 404 (``message``, or
    Glance's "Namespace X not found")."""
    stmt = select(MetadefNamespace).where(MetadefNamespace.namespace == name, visible(ctx))
    if lock:
        stmt = stmt.with_for_update()
    namespace = await db.scalar(stmt)
    if namespace is None:
        raise MetadefNamespaceNotFound(message or f"Namespace {name} not found")
    return namespace


@dataclass
class NamespaceFilters:
    visibility: str | None
    resource_types: list[str] | None


async def list_visible(db: AsyncSession, ctx: RequestContext, wanted: NamespaceFilters, *,
                       limit: int, marker: str | None, sort: list[tuple[str, str]]
                       ) -> list[MetadefNamespace]:
    stmt = select(MetadefNamespace).where(visible(ctx))
    if wanted.visibility is not None:
        stmt = stmt.where(MetadefNamespace.visibility == wanted.visibility)
    if wanted.resource_types is not None:
        stmt = stmt.where(MetadefNamespace.id.in_(
            select(MetadefResourceTypeAssociation.namespace_id)
            .join(MetadefResourceType,
                  MetadefResourceType.id == MetadefResourceTypeAssociation.resource_type_id)
            .where(MetadefResourceType.name.in_(wanted.resource_types))))
    marker_row = None
    if marker is not None:
        marker_row = await get_visible(
            db, ctx, marker, message=f"Metadata definition namespace={marker} was not found.")
    keys = list(sort)
    if all(key != "created_at" for key, _ in keys):
        keys.append(("created_at", keys[0][1]))
    return list(await db.scalars(paginate(stmt, MetadefNamespace, limit=limit,
                                          marker_row=marker_row, sort=keys)))


async def create(db: AsyncSession, values: dict[str, Any]) -> MetadefNamespace:
    """A new namespace; 409 when the name is taken (also by a concurrent create)."""
    namespace = MetadefNamespace(**values)
    await _flush_unique(db, namespace, values["namespace"])
    return namespace


async def update(db: AsyncSession, namespace: MetadefNamespace, values: dict[str, Any]
                 ) -> None:
    for key, value in values.items():
        setattr(namespace, key, value)
    await _flush_unique(db, namespace, values["namespace"])


async def delete_namespace(db: AsyncSession, namespace: MetadefNamespace) -> None:
    check_deletable(namespace)
    await db.execute(delete(MetadefNamespace).where(MetadefNamespace.id == namespace.id))


def check_deletable(namespace: MetadefNamespace) -> None:
    """Glance deletes nothing of a protected namespace, itself or all of a kind within."""
    if namespace.protected:
        raise MetadefProtected(f"Metadata definition namespace {namespace.namespace} is "
                               "protected and cannot be deleted.")


async def _flush_unique(db: AsyncSession, namespace: MetadefNamespace, name: str) -> None:
    duplicate = MetadefDuplicate(f"The metadata definition namespace={name} already exists.")
    stmt = select(MetadefNamespace.id).where(MetadefNamespace.namespace == name)
    if namespace.id is not None:
        stmt = stmt.where(MetadefNamespace.id != namespace.id)
    with db.no_autoflush:      # the row may hold the new name already
        taken = await db.scalar(stmt)
    if taken is not None:
        raise duplicate
    try:
        db.add(namespace)
        await db.flush()
    except IntegrityError:
        raise duplicate from None


async def associations_of(db: AsyncSession, namespace_ids: Sequence[int]
                          ) -> dict[int, list[tuple[MetadefResourceTypeAssociation, str]]]:
    """Each namespace's resource type associations with the type's name, oldest first."""
    found: dict[int, list[tuple[MetadefResourceTypeAssociation, str]]] = {
        namespace_id: [] for namespace_id in namespace_ids}
    if not namespace_ids:
        return found
    rows = await db.execute(
        select(MetadefResourceTypeAssociation, MetadefResourceType.name)
        .join(MetadefResourceType,
              MetadefResourceType.id == MetadefResourceTypeAssociation.resource_type_id)
        .where(MetadefResourceTypeAssociation.namespace_id.in_(namespace_ids))
        .order_by(MetadefResourceTypeAssociation.created_at, MetadefResourceType.id))
    for association, name in rows:
        found[association.namespace_id].append((association, name))
    return found
