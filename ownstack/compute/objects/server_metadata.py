"""Server metadata and server tags: their rows, limits and the states that allow changes.

Both follow Nova. Metadata changes need the server unlocked (for non-admins), in
``active`` or ``stopped`` with no task running (``check_instance_state`` on
``update_instance_metadata``), and count against the ``metadata_items`` quota. Tags ignore
the lock and the task but need ``active`` or ``stopped`` too, and a server has at most 50.

Every change first bumps the instance's ``generation`` with a compare-and-swap on the
allowed states. That write is also the serialisation point: two requests changing one
server's metadata or tags take turns on the instance row, so the count checks (quota,
50 tags) see each other's rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import QuotaConfig
from ownstack.common.db.cas import rows_matched
from ownstack.compute import states
from ownstack.compute.errors import (
    MetadataItemNotFound,
    ServerTagNotFound,
    TooManyTags,
)
from ownstack.compute.objects import quotas
from ownstack.compute.objects.instances import ANY, metadata_of, update_instance
from ownstack.compute.objects.models import Instance, InstanceMetadata, InstanceTag
from ownstack.compute.objects.server_actions import check_state, check_unlocked, lost_race

# Nova's: metadata and tags change on active, paused, suspended and stopped servers only.
CHANGEABLE_STATES: Final = frozenset({states.ACTIVE, states.PAUSED, states.SUSPENDED,
                                     states.STOPPED})
MAX_TAG_COUNT: Final = 50     # nova.objects.instance.MAX_TAG_COUNT
_NO_TASK: Final[frozenset[str | None]] = frozenset({None})


# --- metadata -----------------------------------------------------------------------------
async def get_metadata(db: AsyncSession, instance: Instance) -> dict[str, str]:
    return (await metadata_of(db, [instance.uuid]))[instance.uuid]


async def set_metadata(db: AsyncSession, config: QuotaConfig, instance: Instance,
                       items: Mapping[str, str], *, replace: bool, is_admin: bool
                       ) -> dict[str, str]:
    """Merge ``items`` into the server's metadata, or make them all of it (``replace``).
    Returns the metadata as it now is."""
    await _begin_metadata_change(db, instance, "update metadata", is_admin=is_admin)
    current = await get_metadata(db, instance)
    wanted = dict(items) if replace else {**current, **items}
    await quotas.check_metadata_items(db, config, instance.project_id, len(wanted))
    await write_metadata(db, instance.uuid, current, wanted)
    return wanted


async def delete_metadata_item(db: AsyncSession, instance: Instance, key: str, *,
                               is_admin: bool) -> None:
    if key not in await get_metadata(db, instance):
        raise MetadataItemNotFound()
    await _begin_metadata_change(db, instance, "delete metadata", is_admin=is_admin)
    await db.execute(delete(InstanceMetadata).where(
        InstanceMetadata.instance_uuid == instance.uuid, InstanceMetadata.key == key))


async def write_metadata(db: AsyncSession, uuid: str, current: Mapping[str, str],
                         wanted: Mapping[str, str]) -> None:
    """Make the rows of ``uuid`` say ``wanted``, touching only the keys that change."""
    gone = [key for key in current if key not in wanted]
    if gone:
        await db.execute(delete(InstanceMetadata).where(
            InstanceMetadata.instance_uuid == uuid, InstanceMetadata.key.in_(gone)))
    for key, value in wanted.items():
        if key not in current:
            db.add(InstanceMetadata(instance_uuid=uuid, key=key, value=value))
        elif current[key] != value:
            await db.execute(update(InstanceMetadata).where(
                InstanceMetadata.instance_uuid == uuid, InstanceMetadata.key == key)
                .values(value=value))
    await db.flush()


async def _begin_metadata_change(db: AsyncSession, instance: Instance, name: str, *,
                                 is_admin: bool) -> None:
    check_unlocked(instance, is_admin=is_admin)
    check_state(instance, name, CHANGEABLE_STATES, _NO_TASK)
    if not await update_instance(db, instance.uuid, expected_task_state=None,
                                 expected_vm_state=list(CHANGEABLE_STATES)):
        await lost_race(db, instance, name, CHANGEABLE_STATES, _NO_TASK)


# --- tags ---------------------------------------------------------------------------------
async def tags_of(db: AsyncSession, uuid: str) -> list[str]:
    rows = await db.execute(select(InstanceTag.tag).where(InstanceTag.instance_uuid == uuid)
                            .order_by(InstanceTag.tag))
    return list(rows.scalars())


async def has_tag(db: AsyncSession, uuid: str, tag: str) -> bool:
    return bool((await db.execute(select(exists().where(
        InstanceTag.instance_uuid == uuid, InstanceTag.tag == tag)))).scalar_one())


async def replace_tags(db: AsyncSession, instance: Instance, tags: list[str]) -> list[str]:
    await _begin_tag_change(db, instance, "update tags")
    await db.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == instance.uuid))
    unique = sorted(set(tags))
    db.add_all(InstanceTag(instance_uuid=instance.uuid, tag=tag) for tag in unique)
    await db.flush()
    return unique


async def add_tag(db: AsyncSession, instance: Instance, tag: str) -> bool:
    """Add ``tag``; False when the server already had it (not an error, as in Nova)."""
    await _begin_tag_change(db, instance, "update tag")
    if await has_tag(db, instance.uuid, tag):
        return False
    if len(await tags_of(db, instance.uuid)) >= MAX_TAG_COUNT:
        raise TooManyTags(MAX_TAG_COUNT)
    db.add(InstanceTag(instance_uuid=instance.uuid, tag=tag))
    await db.flush()
    return True


async def delete_tag(db: AsyncSession, instance: Instance, tag: str) -> None:
    await _begin_tag_change(db, instance, "delete tag")
    result = await db.execute(delete(InstanceTag).where(
        InstanceTag.instance_uuid == instance.uuid, InstanceTag.tag == tag))
    if not rows_matched(result):
        raise ServerTagNotFound(instance.uuid, tag)


async def delete_all_tags(db: AsyncSession, instance: Instance) -> None:
    await _begin_tag_change(db, instance, "delete tags")
    await db.execute(delete(InstanceTag).where(InstanceTag.instance_uuid == instance.uuid))


async def _begin_tag_change(db: AsyncSession, instance: Instance, name: str) -> None:
    check_state(instance, name, CHANGEABLE_STATES, None)
    if not await update_instance(db, instance.uuid, expected_task_state=ANY,
                                 expected_vm_state=list(CHANGEABLE_STATES)):
        await lost_race(db, instance, name, CHANGEABLE_STATES, None)
