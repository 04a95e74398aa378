"""Block device mappings (Nova's BDMs): the volumes a server has, and compute's progress
with each.

A volume attach or detach is desired state, as everything compute does: the API writes
the row (``attaching``, or ``detaching`` on an ``attached`` one) and nudges the server's
agent; the agent plugs or unplugs and reports back through the conductor, with a
compare-and-swap on the row's ``attach_state``, so a report that comes twice, or after the
row moved on, changes nothing. An ``attached`` row is part of the guest's recipe: the
agent's :class:`~ownstack.compute.rpc.InstanceSpec` lists it under ``volumes`` and the
driver plugs it at every start. An ``attached`` row with no connection info is a volume
attached to a SHELVED_OFFLOADED server (2.20): no host has connected it yet, no guest
plugs it, and the conductor connects it on the host that unshelves the server.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Row, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.core import run
from ownstack.compute import rpc
from ownstack.compute.objects.models import BlockDeviceMapping

# BlockDeviceMapping.attach_state (the bus contract's, the agent reads them too)
ATTACHING: Final = rpc.VOLUME_ATTACHING
ATTACHED: Final = rpc.VOLUME_ATTACHED
DETACHING: Final = rpc.VOLUME_DETACHING
ATTACH_STATES: Final = (ATTACHING, ATTACHED, DETACHING)

SOURCE_VOLUME: Final = "volume"
DESTINATION_VOLUME: Final = "volume"


# Built once: a statement built per call costs more CPU than SQLite spends running it,
# and every boot, delete and InstanceSpec reads this one.
_OF_INSTANCES: Final = (
    select(BlockDeviceMapping)
    .where(BlockDeviceMapping.instance_uuid.in_(bindparam("uuids", expanding=True)),
           BlockDeviceMapping.deleted.is_(False))
    .order_by(BlockDeviceMapping.id))


async def of_instances(db: AsyncSession, uuids: Sequence[str]
                       ) -> dict[str, list[BlockDeviceMapping]]:
    """``{instance uuid: [live mappings, oldest first]}`` for each uuid (missing: ``[]``)."""
    result: dict[str, list[BlockDeviceMapping]] = {uuid: [] for uuid in uuids}
    if uuids:
        rows = await db.execute(_OF_INSTANCES, {"uuids": list(uuids)})
        for bdm in rows.scalars():
            result[bdm.instance_uuid].append(bdm)
    return result


async def of_instance(db: AsyncSession, uuid: str) -> list[BlockDeviceMapping]:
    return (await of_instances(db, [uuid]))[uuid]


async def find_volume(db: AsyncSession, instance_uuid: str, volume_id: str
                      ) -> BlockDeviceMapping | None:
    """The live mapping of ``volume_id`` on ``instance_uuid``, if any."""
    return (await db.execute(
        select(BlockDeviceMapping)
        .where(BlockDeviceMapping.instance_uuid == instance_uuid,
               BlockDeviceMapping.volume_id == volume_id,
               BlockDeviceMapping.deleted.is_(False))
        .order_by(BlockDeviceMapping.id).limit(1))).scalar_one_or_none()


async def of_volume(db: AsyncSession, volume_id: str) -> list[BlockDeviceMapping]:
    """Every live mapping of ``volume_id``, on any instance (one, unless multiattach)."""
    return list((await db.execute(
        select(BlockDeviceMapping)
        .where(BlockDeviceMapping.volume_id == volume_id,
               BlockDeviceMapping.deleted.is_(False))
        .order_by(BlockDeviceMapping.id))).scalars())


def add(db: AsyncSession, instance_uuid: str, **fields: Any) -> BlockDeviceMapping:
    """A new mapping, added to the session (flushed with the transaction)."""
    fields.setdefault("source_type", SOURCE_VOLUME)
    fields.setdefault("destination_type", DESTINATION_VOLUME)
    fields.setdefault("delete_on_termination", False)
    bdm = BlockDeviceMapping(uuid=str(uuidlib.uuid4()), instance_uuid=instance_uuid,
                             deleted=False, **fields)
    db.add(bdm)
    return bdm


async def update_mapping(db: AsyncSession, bdm_uuid: str, *,
                         expected_state: str | tuple[str, ...] | object | None = ...,
                         **values: Any) -> bool:
    """Set ``values`` on the live mapping ``bdm_uuid`` if its ``attach_state`` is
    ``expected_state`` (one of them, for a tuple; any when not given); ``False`` when it
    is gone or moved on."""
    stmt = update(BlockDeviceMapping).where(BlockDeviceMapping.uuid == bdm_uuid,
                                            BlockDeviceMapping.deleted.is_(False))
    if isinstance(expected_state, tuple):
        stmt = stmt.where(BlockDeviceMapping.attach_state.in_(expected_state))
    elif expected_state is not ...:
        stmt = stmt.where(BlockDeviceMapping.attach_state.is_(None) if expected_state is None
                          else BlockDeviceMapping.attach_state == expected_state)
    result = await db.execute(stmt.values(updated_at=utcnow(), **values)
                              .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0))


async def remove_mapping(db: AsyncSession, bdm_uuid: str, *,
                         expected_state: str | object | None = ...) -> bool:
    """Soft-delete the mapping (as Nova keeps deleted BDMs); the same check as
    :func:`update_mapping`."""
    now = utcnow()
    return await update_mapping(db, bdm_uuid, expected_state=expected_state, deleted=True,
                                deleted_at=now)


def volume_entry(bdm: BlockDeviceMapping | Row[Any]) -> dict[str, Any]:
    """One of an :class:`~ownstack.compute.rpc.InstanceSpec`'s ``volumes``: what the agent
    needs to plug, unplug and report on the mapping (a :class:`BlockDeviceMapping`, or a
    row of :data:`_VOLUME_ENTRIES`)."""
    return {"bdm_uuid": bdm.uuid, "volume_id": bdm.volume_id,
            "attachment_id": bdm.attachment_id, "attach_state": bdm.attach_state,
            "connection_info": bdm.connection_info, "device_name": bdm.device_name,
            "boot_index": bdm.boot_index, "source_type": bdm.source_type,
            "destination_type": bdm.destination_type,
            "delete_on_termination": bdm.delete_on_termination}


async def volume_entries(db: AsyncSession, uuids: Sequence[str]
                         ) -> dict[str, list[dict[str, Any]]]:
    """The ``volumes`` of each instance's InstanceSpec: its volume mappings, oldest first.
    Read as plain columns (every agent's spec read sends it; a row of these columns reads
    as a mapping does in :func:`volume_entry`)."""
    result: dict[str, list[dict[str, Any]]] = {uuid: [] for uuid in uuids}
    if uuids:
        # One instance (the agent's spec read) by ``= :uuid``: an expanding IN list makes
        # SQLAlchemy rewrite the statement's text at each execution.
        statement, params = ((_VOLUME_ENTRIES_OF_ONE, {"uuid": uuids[0]}) if len(uuids) == 1
                             else (_VOLUME_ENTRIES, {"uuids": list(uuids)}))
        for row in await run(db, statement, params):
            if row.destination_type == DESTINATION_VOLUME and row.volume_id:
                result[row.instance_uuid].append(volume_entry(row))
    return result


_VOLUME_ENTRY_COLUMNS: Final = (
    select(BlockDeviceMapping.instance_uuid, BlockDeviceMapping.uuid,
           BlockDeviceMapping.volume_id, BlockDeviceMapping.attachment_id,
           BlockDeviceMapping.attach_state, BlockDeviceMapping.connection_info,
           BlockDeviceMapping.device_name, BlockDeviceMapping.boot_index,
           BlockDeviceMapping.source_type, BlockDeviceMapping.destination_type,
           BlockDeviceMapping.delete_on_termination)
    .where(BlockDeviceMapping.deleted.is_(False))
    .order_by(BlockDeviceMapping.id))
_VOLUME_ENTRIES: Final = _VOLUME_ENTRY_COLUMNS.where(
    BlockDeviceMapping.instance_uuid.in_(bindparam("uuids", expanding=True)))
_VOLUME_ENTRIES_OF_ONE: Final = _VOLUME_ENTRY_COLUMNS.where(
    BlockDeviceMapping.instance_uuid == bindparam("uuid"))
