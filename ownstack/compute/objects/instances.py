"""Instance rows: loading, compare-and-swap state changes, and the agent's view of one.

Shared by the API (``objects/servers.py``), the conductor and its sweeps. Every state
change goes through :func:`update_instance`, a compare-and-swap on ``task_state`` (and on
``host`` when given) that also bumps ``generation`` and ``updated_at``, so concurrent
writers never silently overwrite each other.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.compute.errors import ServerNotFound
from ownstack.compute.objects.models import Instance, InstanceAction, InstanceMetadata
from ownstack.compute.rpc import InstanceSpec

if TYPE_CHECKING:
    from ownstack.compute.service import ComputeService

ANY: Final = "*"    # update_instance(expected_task_state=ANY): whatever the task is


async def get_instance(db: AsyncSession, uuid: str, *, include_deleted: bool = False
                       ) -> Instance | None:
    stmt = select(Instance).where(Instance.uuid == uuid)
    if not include_deleted:
        stmt = stmt.where(Instance.deleted.is_(False))
    return (await db.execute(stmt)).scalar_one_or_none()


async def find_server(svc: ComputeService, db: AsyncSession, ctx: RequestContext,
                      server_id: str, rule: str, *, include_deleted: bool = False
                      ) -> Instance:
    """The server ``server_id`` if policy ``rule`` lets ``ctx`` act on it.

    A server of another project is a 404, not a 403, exactly like one that does not exist:
    one project never learns another's server ids. Non-UUID ids are 404s too, as in Nova.
    """
    instance = await get_instance(db, server_id, include_deleted=include_deleted) \
        if _is_uuid(server_id) else None
    if instance is None or not svc.allowed(ctx, rule, {"project_id": instance.project_id,
                                                       "user_id": instance.user_id}):
        raise ServerNotFound(server_id)
    return instance


def _is_uuid(value: str) -> bool:
    try:
        uuid_module.UUID(value)
    except ValueError:
        return False
    return True


async def metadata_of(db: AsyncSession, uuids: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{uuid: {key: value}}`` for each uuid (missing uuids get ``{}``)."""
    result: dict[str, dict[str, str]] = {uuid: {} for uuid in uuids}
    if uuids:
        rows = await db.execute(select(InstanceMetadata.instance_uuid, InstanceMetadata.key,
                                       InstanceMetadata.value)
                                .where(InstanceMetadata.instance_uuid.in_(uuids)))
        for uuid, key, value in rows:
            result[uuid][key] = value
    return result


async def latest_request_ids(db: AsyncSession, uuids: Sequence[str]) -> dict[str, str]:
    """The request id of each instance's latest action (the one events belong to)."""
    result: dict[str, str] = {}
    if uuids:
        rows = await db.execute(select(InstanceAction.instance_uuid, InstanceAction.request_id)
                                .where(InstanceAction.instance_uuid.in_(uuids))
                                .order_by(InstanceAction.id))
        for uuid, request_id in rows:
            result[uuid] = request_id
    return result


async def update_instance(db: AsyncSession, uuid: str, *,
                          expected_task_state: str | Sequence[str | None] | None = ANY,
                          expected_vm_state: str | Sequence[str] | None = None,
                          expected_host: str | None = None,
                          **values: Any) -> bool:
    """Set ``values`` on a live instance if its task_state (and vm_state, host) are as
    expected. Returns whether it matched; the caller turns ``False`` into a 409 or a no-op.
    """
    stmt = update(Instance).where(Instance.uuid == uuid, Instance.deleted.is_(False))
    if expected_task_state != ANY:
        expected = (list(expected_task_state)
                    if isinstance(expected_task_state, (list, tuple, set, frozenset))
                    else [expected_task_state])
        named = [state for state in expected if state is not None]
        clauses = [Instance.task_state.in_(named)] if named else []
        if None in expected:
            clauses.append(Instance.task_state.is_(None))
        stmt = stmt.where(or_(*clauses)) if clauses else stmt.where(false())
    if expected_vm_state is not None:
        states = [expected_vm_state] if isinstance(expected_vm_state, str) \
            else list(expected_vm_state)
        stmt = stmt.where(Instance.vm_state.in_(states))
    if expected_host is not None:
        stmt = stmt.where(Instance.host == expected_host)
    stmt = stmt.values(generation=Instance.generation + 1, updated_at=utcnow(), **values)
    return rows_matched(await db.execute(stmt.execution_options(
        synchronize_session=False))) == 1


def instance_spec(instance: Instance, metadata: Mapping[str, str],
                  request_id: str | None) -> InstanceSpec:
    return InstanceSpec(
        uuid=instance.uuid, name=instance.display_name, hostname=instance.hostname,
        project_id=instance.project_id, user_id=instance.user_id, host=instance.host,
        node=instance.node, vm_state=instance.vm_state, task_state=instance.task_state,
        task_args=dict(instance.task_args or {}), power_state=instance.power_state,
        request_id=request_id, flavor=dict(instance.flavor), image_ref=instance.image_ref,
        image_meta=dict(instance.image_meta or {}), key_name=instance.key_name,
        key_data=instance.key_data, user_data=instance.user_data,
        admin_pass=instance.admin_pass, config_drive=instance.config_drive,
        availability_zone=instance.availability_zone, launch_index=instance.launch_index,
        metadata=dict(metadata))


async def instance_specs(db: AsyncSession, instances: Sequence[Instance]
                         ) -> list[InstanceSpec]:
    uuids = [instance.uuid for instance in instances]
    metadata = await metadata_of(db, uuids)
    request_ids = await latest_request_ids(db, uuids)
    return [instance_spec(i, metadata[i.uuid], request_ids.get(i.uuid)) for i in instances]
