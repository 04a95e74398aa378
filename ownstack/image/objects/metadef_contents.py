"""What a metadata definition namespace holds: objects, properties, tags, and its
resource type associations (decision 69).

Each kind is named uniquely within its namespace (409 otherwise, also when a concurrent
request takes the name first). Nothing is deleted from a protected namespace (403).
Callers pass a namespace they have already looked up through
:func:`.metadef_namespaces.get_visible`, locked when they write.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.api.pagination import paginate
from ownstack.image.errors import MetadefDuplicate, MetadefNotFound, MetadefProtected
from ownstack.image.objects.models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
    MetadefTag,
)

Item = TypeVar("Item", MetadefObject, MetadefProperty, MetadefTag)

# What each kind is called in Glance's messages, and the word before its name.
_KINDS: dict[type[Any], str] = {MetadefObject: "object", MetadefProperty: "property",
                                MetadefTag: "tag"}


def _duplicate(kind: type[Any], name: str, namespace: MetadefNamespace) -> MetadefDuplicate:
    if kind is MetadefTag:
        return MetadefDuplicate(f"A metadata tag with name={name} already exists in "
                                f"namespace={namespace.namespace}.")
    return MetadefDuplicate(f"A metadata definition {_KINDS[kind]} with name={name} already "
                            f"exists in namespace={namespace.namespace}.")


def _not_found(kind: type[Any], name: str, namespace: MetadefNamespace) -> MetadefNotFound:
    if kind is MetadefTag:
        return MetadefNotFound(f"The metadata definition tag with name={name} was not found "
                               f"in namespace={namespace.namespace}.")
    return MetadefNotFound(f"The metadata definition {_KINDS[kind]} with name={name} was "
                           f"not found in namespace={namespace.namespace}.")


async def get_item(db: AsyncSession, kind: type[Item], namespace: MetadefNamespace,
                   name: str) -> Item:
    item = await db.scalar(select(kind).where(kind.namespace_id == namespace.id,
                                              kind.name == name))
    if item is None:
        raise _not_found(kind, name, namespace)
    return item


async def list_items(db: AsyncSession, kind: type[Item], namespace: MetadefNamespace, *,
                     limit: int | None = None, marker: str | None = None,
                     sort: list[tuple[str, str]] | None = None) -> list[Item]:
    """The items of ``namespace``, newest first unless ``sort`` says otherwise; ``marker``
    names the item after which a page starts (404 when there is none)."""
    marker_row = await get_item(db, kind, namespace, marker) if marker is not None else None
    keys = list(sort or [("created_at", "desc")])
    if all(key != "created_at" for key, _ in keys):
        keys.append(("created_at", keys[0][1]))
    stmt = select(kind).where(kind.namespace_id == namespace.id)
    return list(await db.scalars(paginate(stmt, kind, limit=limit, marker_row=marker_row,
                                          sort=keys)))


async def unprefixed_name(db: AsyncSession, namespace: MetadefNamespace, name: str,
                          resource_type: str) -> str:
    """A property's name as ``resource_type``'s association with ``namespace`` prefixes
    it, without the prefix; 404 without the association, or when the name lacks it."""
    association = await db.scalar(
        select(MetadefResourceTypeAssociation)
        .join(MetadefResourceType,
              MetadefResourceType.id == MetadefResourceTypeAssociation.resource_type_id)
        .where(MetadefResourceTypeAssociation.namespace_id == namespace.id,
               MetadefResourceType.name == resource_type))
    if association is None:
        raise MetadefNotFound(
            f"The metadata definition resource-type association of resource-type="
            f"{resource_type} to namespace={namespace.namespace}, was not found.")
    prefix = association.prefix
    if not prefix or not name.startswith(prefix):
        raise MetadefNotFound(f"Property {name} does not start with the expected resource "
                              f"type association prefix of '{prefix}'.")
    return name[len(prefix):]


async def add_item(db: AsyncSession, namespace: MetadefNamespace, item: Item) -> Item:
    item.namespace_id = namespace.id
    await _flush_unique(db, namespace, item)
    return item


async def rename_item(db: AsyncSession, namespace: MetadefNamespace, item: Item,
                      values: dict[str, Any]) -> None:
    """Replace ``item``'s fields by ``values`` (its name too: 409 when taken)."""
    for key, value in values.items():
        setattr(item, key, value)
    await _flush_unique(db, namespace, item)


async def remove_item(db: AsyncSession, namespace: MetadefNamespace, item: Item) -> None:
    if namespace.protected:
        raise MetadefProtected(f"Metadata definition {_KINDS[type(item)]} {item.name} is "
                               "protected and cannot be deleted.")
    await db.delete(item)


async def remove_all(db: AsyncSession, kind: type[Item], namespace: MetadefNamespace) -> None:
    await db.execute(delete(kind).where(kind.namespace_id == namespace.id))


async def replace_tags(db: AsyncSession, namespace: MetadefNamespace, names: list[str], *,
                       append: bool) -> list[MetadefTag]:
    """Glance's bulk create: the namespace's tags become ``names`` (or gain them, where
    ``append``); a name given twice, or already there when appending, is a 409."""
    if not append:
        await remove_all(db, MetadefTag, namespace)
    made = []
    for name in names:
        made.append(await add_item(db, namespace, MetadefTag(name=name)))
    return made


async def _flush_unique(db: AsyncSession, namespace: MetadefNamespace, item: Any) -> None:
    kind = type(item)
    stmt = select(kind.id).where(kind.namespace_id == namespace.id, kind.name == item.name)
    if item.id is not None:
        stmt = stmt.where(kind.id != item.id)
    with db.no_autoflush:      # the row may hold the new name already
        taken = await db.scalar(stmt)
    if taken is not None:
        raise _duplicate(kind, item.name, namespace)
    try:
        db.add(item)
        await db.flush()
    except IntegrityError:
        raise _duplicate(kind, item.name, namespace) from None


# --- resource types ------------------------------------------------------------------------

async def list_resource_types(db: AsyncSession) -> list[MetadefResourceType]:
    return list(await db.scalars(select(MetadefResourceType).order_by(MetadefResourceType.id)))


async def associate(db: AsyncSession, namespace: MetadefNamespace, name: str,
                    prefix: str | None, properties_target: str | None
                    ) -> MetadefResourceTypeAssociation:
    """Associate the resource type ``name`` with ``namespace``, making the type if it is
    new (as Glance does); 409 when they are associated already."""
    duplicate = MetadefDuplicate(
        f"The metadata definition resource-type association of resource-type={name} to "
        f"namespace={namespace.namespace} already exists.")
    resource_type = await db.scalar(select(MetadefResourceType).where(
        MetadefResourceType.name == name))
    try:
        if resource_type is None:
            resource_type = MetadefResourceType(name=name, protected=False)
            db.add(resource_type)
            await db.flush()
        elif await db.get(MetadefResourceTypeAssociation,
                          (namespace.id, resource_type.id)) is not None:
            raise duplicate
        association = MetadefResourceTypeAssociation(
            namespace_id=namespace.id, resource_type_id=resource_type.id, prefix=prefix,
            properties_target=properties_target)
        db.add(association)
        await db.flush()
    except IntegrityError:
        raise duplicate from None
    return association


async def dissociate(db: AsyncSession, namespace: MetadefNamespace, name: str) -> None:
    association = await db.scalar(
        select(MetadefResourceTypeAssociation)
        .join(MetadefResourceType,
              MetadefResourceType.id == MetadefResourceTypeAssociation.resource_type_id)
        .where(MetadefResourceTypeAssociation.namespace_id == namespace.id,
               MetadefResourceType.name == name))
    if association is None:
        raise MetadefNotFound(f"Failed to find resource type {name} to delete")
    if namespace.protected:
        raise MetadefProtected(f"Metadata definition resource-type-association {name} is "
                               "protected and cannot be deleted.")
    await db.delete(association)
