"""Volume types, their extra specs and project access, per-project default types, and
QoS specs.

A public type is everyone's; a private one is its admin's and the projects given access.
Every volume has a type: the one it asked for (by id or name), else its project's own
default (3.62), else ``volume.default_volume_type`` (``__DEFAULT__``, which the first
migration makes, as Cinder's does). A type in use by a volume, or that is someone's
default, cannot be deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.booleans import parse_bool
from ownstack.common.config import VolumeConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.errors import BadRequest
from ownstack.volume.errors import (
    ExtraSpecNotFound,
    InvalidVolumeType,
    QosSpecsExists,
    QosSpecsInUse,
    QosSpecsNotFound,
    VolumeTypeAccessExists,
    VolumeTypeAccessNotFound,
    VolumeTypeExists,
    VolumeTypeNotFound,
)
from ownstack.volume.objects import type_specs
from ownstack.volume.objects.models import (
    DefaultType,
    ExtraSpec,
    QosSpecs,
    TypeProject,
    Volume,
    VolumeType,
)


def visible(ctx: RequestContext) -> ColumnElement[bool] | None:
    """Which types the caller sees: public ones and private ones its project may use
    (every type, for the admin)."""
    if ctx.is_admin:
        return None
    allowed = sa.select(TypeProject.type_id).where(TypeProject.project_id == ctx.project_id)
    return sa.or_(VolumeType.is_public.is_(True), VolumeType.id.in_(allowed))


async def get_type(db: AsyncSession, ctx: RequestContext, type_id: str) -> VolumeType:
    """The type ``type_id`` names (its id), as the caller sees it; 404 otherwise."""
    stmt = sa.select(VolumeType).where(VolumeType.id == type_id)
    clause = visible(ctx)
    if clause is not None:
        stmt = stmt.where(clause)
    found = await db.scalar(stmt)
    if found is None:
        raise VolumeTypeNotFound(type_id)
    return found


async def find_type(db: AsyncSession, ctx: RequestContext, ref: str) -> VolumeType:
    """A type by id, or else by name, as a volume create names it; 404 for none."""
    stmt = sa.select(VolumeType).where(sa.or_(VolumeType.id == ref, VolumeType.name == ref))
    clause = visible(ctx)
    if clause is not None:
        stmt = stmt.where(clause)
    rows = list((await db.execute(stmt)).scalars())
    by_id = [row for row in rows if row.id == ref]
    if by_id or rows:
        return (by_id or rows)[0]
    raise VolumeTypeNotFound(ref, by_name=True)


async def default_type(db: AsyncSession, settings: VolumeConfig, project_id: str
                       ) -> VolumeType:
    """The project's default type: its own (3.62) or the configured one."""
    own = await db.scalar(sa.select(VolumeType).join(
        DefaultType, DefaultType.type_id == VolumeType.id).where(
        DefaultType.project_id == project_id))
    if own is not None:
        return own
    found = await db.scalar(sa.select(VolumeType).where(
        VolumeType.name == settings.default_volume_type))
    if found is None:
        raise InvalidVolumeType(f"the default volume type "
                                f"{settings.default_volume_type!r} does not exist")
    return found


async def list_types(db: AsyncSession, ctx: RequestContext, *, is_public: str | None,
                     extra_specs: Mapping[str, str] | None) -> list[VolumeType]:
    """Cinder's type list: the public types (and the private ones the caller may use);
    an admin's ``is_public=false`` gives the private ones, ``is_public=None`` all."""
    stmt = sa.select(VolumeType).order_by(VolumeType.name, VolumeType.id)
    clause = visible(ctx)
    if clause is not None:
        stmt = stmt.where(clause)
    if ctx.is_admin:
        if is_public is None:
            stmt = stmt.where(VolumeType.is_public.is_(True))
        elif is_public.lower() not in ("none", "all"):
            wanted = parse_bool(is_public)
            if wanted is None:
                raise BadRequest(f"Invalid input received: is_public {is_public!r} is not "
                                 "a boolean.")
            stmt = stmt.where(VolumeType.is_public.is_(wanted))
    for key, value in (extra_specs or {}).items():
        stmt = stmt.where(VolumeType.id.in_(sa.select(ExtraSpec.type_id).where(
            ExtraSpec.key == key, ExtraSpec.value == value)))
    return list((await db.execute(stmt)).scalars())


async def specs_of(db: AsyncSession, type_ids: list[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {type_id: {} for type_id in type_ids}
    if type_ids:
        rows = await db.execute(sa.select(ExtraSpec.type_id, ExtraSpec.key, ExtraSpec.value)
                                .where(ExtraSpec.type_id.in_(type_ids)))
        for type_id, key, value in rows:
            found[type_id][key] = value
    return found


async def create_type(db: AsyncSession, *, name: str, description: str | None,
                      is_public: bool, extra_specs: Mapping[str, str]) -> VolumeType:
    if await db.scalar(sa.select(VolumeType.id).where(VolumeType.name == name)):
        raise VolumeTypeExists(name)
    row = VolumeType(id=str(uuid.uuid4()), name=name, description=description,
                     is_public=is_public)
    db.add(row)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise VolumeTypeExists(name) from None
    for key, value in extra_specs.items():
        db.add(ExtraSpec(type_id=row.id, key=key, value=value))
    await db.flush()
    return row


async def update_type(db: AsyncSession, row: VolumeType, *, name: str | None = None,
                      description: str | None = None, is_public: bool | None = None,
                      description_set: bool = False) -> VolumeType:
    if name is not None and name != row.name:
        if row.name == "__DEFAULT__":
            raise BadRequest("Invalid input received: the default volume type's name "
                             "cannot be changed.")
        if await db.scalar(sa.select(VolumeType.id).where(VolumeType.name == name)):
            raise VolumeTypeExists(name)
        row.name = name
    if description_set:
        row.description = description
    if is_public is not None:
        row.is_public = is_public
    row.updated_at = utcnow()
    await db.flush()
    return row


async def delete_type(db: AsyncSession, settings: VolumeConfig, row: VolumeType) -> None:
    if row.name == settings.default_volume_type:
        raise BadRequest("Invalid volume type: the default volume type can not be deleted.")
    if await db.scalar(sa.select(Volume.id).where(Volume.type_id == row.id).limit(1)):
        raise BadRequest(f"Volume Type {row.id} deletion is not allowed with volumes "
                         "present with the type.")
    if await db.scalar(sa.select(DefaultType.project_id).where(
            DefaultType.type_id == row.id).limit(1)):
        raise BadRequest(f"Volume Type {row.id} deletion is not allowed: it is a project's "
                         "default type.")
    await db.delete(row)
    await db.flush()


# --- extra specs ----------------------------------------------------------------------------

def is_multiattach(specs: Mapping[str, str]) -> bool:
    """A type whose extra spec ``multiattach`` is ``<is> True`` makes multiattach volumes."""
    return specs.get("multiattach", "").replace(" ", "").lower() == "<is>true"


async def extra_specs(db: AsyncSession, type_id: str) -> dict[str, str]:
    return (await specs_of(db, [type_id]))[type_id]


async def set_extra_specs(db: AsyncSession, row: VolumeType, specs: Mapping[str, str]
                          ) -> None:
    await type_specs.merge(db, ExtraSpec, ExtraSpec.type_id, row, specs)


async def delete_extra_spec(db: AsyncSession, row: VolumeType, key: str) -> None:
    spec = await db.get(ExtraSpec, (row.id, key))
    if spec is None:
        raise ExtraSpecNotFound(row.id, key)
    await db.delete(spec)
    await db.flush()


# --- access ----------------------------------------------------------------------------------

async def access_list(db: AsyncSession, row: VolumeType) -> list[str]:
    if row.is_public:
        raise InvalidVolumeType("Access list not available for public volume types.")
    return list((await db.execute(sa.select(TypeProject.project_id).where(
        TypeProject.type_id == row.id).order_by(TypeProject.project_id))).scalars())


async def add_access(db: AsyncSession, row: VolumeType, project_id: str) -> None:
    if row.is_public:
        raise InvalidVolumeType("Type access modification is not applicable to public "
                                "volume type.")
    if await db.get(TypeProject, (row.id, project_id)) is not None:
        raise VolumeTypeAccessExists(row.id, project_id)
    db.add(TypeProject(type_id=row.id, project_id=project_id))
    await db.flush()


async def remove_access(db: AsyncSession, row: VolumeType, project_id: str) -> None:
    if row.is_public:
        raise InvalidVolumeType("Type access modification is not applicable to public "
                                "volume type.")
    found = await db.get(TypeProject, (row.id, project_id))
    if found is None:
        raise VolumeTypeAccessNotFound(row.id, project_id)
    await db.delete(found)
    await db.flush()


# --- default types (3.62) -------------------------------------------------------------------

async def set_default(db: AsyncSession, project_id: str, row: VolumeType) -> DefaultType:
    found = await db.get(DefaultType, project_id)
    if found is None:
        found = DefaultType(project_id=project_id, type_id=row.id)
        db.add(found)
    else:
        found.type_id = row.id
    await db.flush()
    return found


async def get_default(db: AsyncSession, project_id: str) -> DefaultType | None:
    return await db.get(DefaultType, project_id)


async def list_defaults(db: AsyncSession) -> list[DefaultType]:
    return list((await db.execute(sa.select(DefaultType).order_by(
        DefaultType.project_id))).scalars())


async def unset_default(db: AsyncSession, project_id: str) -> bool:
    found = await db.get(DefaultType, project_id)
    if found is None:
        return False
    await db.delete(found)
    await db.flush()
    return True


# --- QoS specs -------------------------------------------------------------------------------

QOS_CONSUMERS = ("front-end", "back-end", "both")


async def get_qos(db: AsyncSession, specs_id: str) -> QosSpecs:
    found = await db.get(QosSpecs, specs_id)
    if found is None:
        raise QosSpecsNotFound(specs_id)
    return found


async def list_qos(db: AsyncSession) -> list[QosSpecs]:
    return list((await db.execute(sa.select(QosSpecs).order_by(
        QosSpecs.created_at.desc(), QosSpecs.id))).scalars())


async def create_qos(db: AsyncSession, name: str, consumer: str, specs: Mapping[str, str]
                     ) -> QosSpecs:
    if await db.scalar(sa.select(QosSpecs.id).where(QosSpecs.name == name)):
        raise QosSpecsExists(name)
    row = QosSpecs(id=str(uuid.uuid4()), name=name, consumer=consumer, specs=dict(specs))
    db.add(row)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise QosSpecsExists(name) from None
    return row


async def update_qos(db: AsyncSession, row: QosSpecs, specs: Mapping[str, str]) -> None:
    merged = dict(row.specs)
    consumer = specs.get("consumer")
    for key, value in specs.items():
        if key != "consumer":
            merged[key] = value
    if consumer is not None:
        if consumer not in QOS_CONSUMERS:
            raise BadRequest(f"Invalid input received: consumer {consumer!r} must be one of "
                             f"{', '.join(QOS_CONSUMERS)}.")
        row.consumer = consumer
    row.specs = merged
    await db.flush()


async def delete_qos_keys(db: AsyncSession, row: QosSpecs, keys: list[str]) -> None:
    merged = dict(row.specs)
    for key in keys:
        if key not in merged:
            raise QosSpecsNotFound(f"{row.id} key {key}")
        del merged[key]
    row.specs = merged
    await db.flush()


async def front_end_qos(db: AsyncSession, type_id: str) -> dict[str, str] | None:
    """The QoS specs compute applies to volumes of the type: those whose consumer is
    ``front-end`` or ``both`` (Cinder's rule); None without."""
    volume_type = await db.get(VolumeType, type_id)
    if volume_type is None or volume_type.qos_specs_id is None:
        return None
    specs = await db.get(QosSpecs, volume_type.qos_specs_id)
    if specs is None or specs.consumer not in ("front-end", "both"):
        return None
    return dict(specs.specs)


async def qos_associations(db: AsyncSession, row: QosSpecs) -> list[VolumeType]:
    return list((await db.execute(sa.select(VolumeType).where(
        VolumeType.qos_specs_id == row.id).order_by(VolumeType.name))).scalars())


async def delete_qos(db: AsyncSession, row: QosSpecs, *, force: bool) -> None:
    associated = await qos_associations(db, row)
    if associated and not force:
        raise QosSpecsInUse(row.id)
    for volume_type in associated:
        volume_type.qos_specs_id = None
    await db.delete(row)
    await db.flush()


async def associate_qos(db: AsyncSession, row: QosSpecs, volume_type: VolumeType) -> None:
    if volume_type.qos_specs_id not in (None, row.id):
        raise BadRequest(f"Invalid input received: volume type {volume_type.id} is already "
                         f"associated with QoS specs {volume_type.qos_specs_id}.")
    volume_type.qos_specs_id = row.id
    await db.flush()


async def disassociate_qos(db: AsyncSession, row: QosSpecs,
                           volume_type: VolumeType | None) -> None:
    for associated in ([volume_type] if volume_type else await qos_associations(db, row)):
        if associated.qos_specs_id == row.id:
            associated.qos_specs_id = None
    await db.flush()


def as_public_flag(value: Any) -> bool:
    parsed = parse_bool(value)
    if parsed is None:
        raise BadRequest(f"Invalid input received: is_public {value!r} is not a boolean.")
    return parsed
