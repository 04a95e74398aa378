"""Instance rows: loading, compare-and-swap state changes, and the agent's view of one.

Shared by the API (``objects/servers.py``), the conductor and its sweeps. Every state
change goes through :func:`update_instance`, a compare-and-swap on ``task_state`` (and on
``host`` when given) that also bumps ``generation`` and ``updated_at``, so concurrent
writers never silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from sqlalchemy import (
    String,
    Table,
    bindparam,
    exists,
    false,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause

from ownstack.common.context import RequestContext
from ownstack.common.db.base import utcnow
from ownstack.common.db.cas import rows_matched
from ownstack.common.db.core import Runner, run
from ownstack.common.uuids import is_uuid
from ownstack.compute import netinfo
from ownstack.compute.errors import ServerNotFound
from ownstack.compute.objects import block_devices
from ownstack.compute.objects.models import (
    BlockDeviceMapping,
    Instance,
    InstanceAction,
    InstanceMetadata,
)
from ownstack.compute.rpc import InstanceSpec

if TYPE_CHECKING:
    from ownstack.compute.objects.servers import ListedInstance
    from ownstack.compute.state import ComputeState

ANY: Final = "*"    # update_instance(expected_task_state=ANY): whatever the task is
# Who sees a server at all: a reader of its project, or an admin.
SHOW_RULE: Final = "os_compute_api:servers:show"


# Built once (a statement's construction and cache key cost more CPU than its run): every
# request on one server reads it.
_ANY_INSTANCE: Final = select(Instance).where(Instance.uuid == bindparam("uuid"))
_LIVE_INSTANCE: Final = _ANY_INSTANCE.where(Instance.deleted.is_(False))


async def get_instance(db: AsyncSession, uuid: str, *, include_deleted: bool = False
                       ) -> Instance | None:
    stmt = _ANY_INSTANCE if include_deleted else _LIVE_INSTANCE
    return (await db.execute(stmt, {"uuid": uuid})).scalar_one_or_none()


async def find_server(svc: ComputeState, db: AsyncSession, ctx: RequestContext,
                      server_id: str, rule: str, *, include_deleted: bool = False
                      ) -> Instance:
    """The server ``server_id`` if policy ``rule`` lets ``ctx`` act on it.

    A server of another project is a 404, not a 403, exactly like one that does not exist:
    one project never learns another's server ids. Non-UUID ids are 404s too, as in Nova.
    A server the caller can see but may not act on (a reader's delete) is a 403, as in
    Nova, which loads the server for its readers before it checks the rule.
    """
    instance = await get_instance(db, server_id, include_deleted=include_deleted) \
        if is_uuid(server_id) else None
    return permitted(svc, ctx, server_id, instance, rule)


R = TypeVar("R", Instance, "ListedInstance")


def permitted(svc: ComputeState, ctx: RequestContext, server_id: str, found: R | None,
              rule: str) -> R:
    """``found`` (the server ``server_id`` as read, ``None`` when there is none) if policy
    ``rule`` lets ``ctx`` act on it: :func:`find_server`'s 404 and 403."""
    target = {"project_id": found.project_id, "user_id": found.user_id} \
        if found is not None else {}
    if found is None or not svc.allowed(ctx, SHOW_RULE, target):
        raise ServerNotFound(server_id)
    svc.enforce(ctx, rule, target)
    return found


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


async def latest_request_ids(db: Runner, uuids: Sequence[str]) -> dict[str, str]:
    """The request id of each instance's latest action (the one events belong to)."""
    result: dict[str, str] = {}
    if uuids:
        rows = await run(db, select(InstanceAction.instance_uuid, InstanceAction.request_id)
                                .where(InstanceAction.instance_uuid.in_(uuids))
                                .order_by(InstanceAction.id))
        for uuid, request_id in rows:
            result[uuid] = request_id
    return result


async def update_instance(db: Runner, uuid: str, *,
                          expected_task_state: str | Sequence[str | None] | None = ANY,
                          expected_vm_state: str | Sequence[str] | None = None,
                          expected_host: str | None = None,
                          **values: Any) -> bool:
    """Set ``values`` on a live instance if its task_state (and vm_state, host) are as
    expected. Returns whether it matched; the caller turns ``False`` into a 409 or a no-op.
    """
    params: dict[str, Any] = {"w_uuid": uuid, "v_updated_at": utcnow()}
    task_shape: tuple[int, bool] | None = None
    if expected_task_state != ANY:
        expected = (list(expected_task_state)
                    if isinstance(expected_task_state, (list, tuple, set, frozenset))
                    else [expected_task_state])
        named = [state for state in expected if state is not None]
        task_shape = (min(len(named), 2), None in expected)
        if len(named) == 1:
            params["w_task_state"] = named[0]
        else:
            params["w_task_states"] = named
    vm_shape = 0
    if expected_vm_state is not None:
        vm_states = [expected_vm_state] if isinstance(expected_vm_state, str) \
            else list(expected_vm_state)
        vm_shape = 1 if len(vm_states) == 1 else 2
        if vm_shape == 1:
            params["w_vm_state"] = vm_states[0]
        else:
            params["w_vm_states"] = vm_states
    if expected_host is not None:
        params["w_host"] = expected_host
    for key, value in values.items():
        params[f"v_{key}"] = value
    stmt = _cas_statement(task_shape, vm_shape, expected_host is not None,
                          tuple(sorted(values)))
    return rows_matched(await run(db, stmt, params)) == 1


_INSTANCES: Final = cast(Table, Instance.__table__)
_CAS_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _cas_statement(task_shape: tuple[int, bool] | None, vm_shape: int, with_host: bool,
                   keys: tuple[str, ...]) -> Any:
    """The compare-and-swap UPDATE of :func:`update_instance` for one combination of
    conditions and columns, built once (building one per call costs more CPU than SQLite
    spends running it); values and expected states are bound parameters. One expected
    state (``task_shape``'s count, ``vm_shape``: 0 none, 1 one, 2 several) is compared
    with ``=``: an expanding IN list makes SQLAlchemy rewrite the statement's text at
    each execution."""
    shape = (task_shape, vm_shape, with_host, keys)
    stmt = _CAS_STATEMENTS.get(shape)
    if stmt is not None:
        return stmt
    table = _INSTANCES
    stmt = update(table).where(table.c.uuid == bindparam("w_uuid"), table.c.deleted.is_(False))
    if task_shape is not None:
        named, none = task_shape
        clauses = ([table.c.task_state == bindparam("w_task_state")] if named == 1 else
                   [table.c.task_state.in_(bindparam("w_task_states", expanding=True))]
                   if named else [])
        if none:
            clauses.append(table.c.task_state.is_(None))
        stmt = stmt.where(or_(*clauses)) if clauses else stmt.where(false())
    if vm_shape == 1:
        stmt = stmt.where(table.c.vm_state == bindparam("w_vm_state"))
    elif vm_shape:
        stmt = stmt.where(table.c.vm_state.in_(bindparam("w_vm_states", expanding=True)))
    if with_host:
        stmt = stmt.where(table.c.host == bindparam("w_host"))
    stmt = stmt.values(
        generation=table.c.generation + 1,
        updated_at=bindparam("v_updated_at", type_=table.c.updated_at.type),
        **{key: bindparam(f"v_{key}", type_=table.c[key].type) for key in keys})
    if len(_CAS_STATEMENTS) < 512:     # shapes are few; never grow without bound
        _CAS_STATEMENTS[shape] = stmt
    return stmt


def instance_spec(instance: Any, metadata: Mapping[str, str],
                  request_id: str | None) -> InstanceSpec:
    """The agent's view of an instance: an :class:`Instance`, or a row of
    :data:`SPEC_COLUMNS`."""
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
        metadata=dict(metadata), nics=netinfo.nics(instance.network_info), volumes=[])


# What an InstanceSpec is made of, read as plain columns (no ORM entities) with the
# instance's metadata outer-joined (one row per item, or one row of NULLs) and the request
# id of its latest action: one statement per instance, or per node.
SPEC_COLUMNS: Final = (
    Instance.uuid, Instance.display_name, Instance.hostname, Instance.project_id,
    Instance.user_id, Instance.host, Instance.node, Instance.vm_state, Instance.task_state,
    Instance.task_args, Instance.power_state, Instance.flavor, Instance.image_ref,
    Instance.image_meta, Instance.key_name, Instance.key_data, Instance.user_data,
    Instance.admin_pass, Instance.config_drive, Instance.availability_zone,
    Instance.launch_index, Instance.network_info)
_LATEST_REQUEST_ID: Final = (
    select(InstanceAction.request_id).where(InstanceAction.instance_uuid == Instance.uuid)
    .order_by(InstanceAction.id.desc()).limit(1).correlate(Instance).scalar_subquery())


def _has_volumes(uuid: Any) -> Any:
    """Whether the instance whose uuid is ``uuid`` has a mapping
    :func:`block_devices.volume_entries` gives (a live one to a volume, with its volume):
    most have none, and need no second read."""
    return exists().where(
        BlockDeviceMapping.instance_uuid == uuid, BlockDeviceMapping.deleted.is_(False),
        BlockDeviceMapping.destination_type == block_devices.DESTINATION_VOLUME,
        BlockDeviceMapping.volume_id.is_not(None), BlockDeviceMapping.volume_id != "")


_HAS_VOLUMES: Final = _has_volumes(Instance.uuid)
_SPECS: Final = (
    select(*SPEC_COLUMNS, _LATEST_REQUEST_ID.label("request_id"),
           _HAS_VOLUMES.label("has_volumes"),
           InstanceMetadata.key.label("metadata_key"),
           InstanceMetadata.value.label("metadata_value"))
    .outerjoin(InstanceMetadata, InstanceMetadata.instance_uuid == Instance.uuid)
    .where(Instance.deleted.is_(False)))
_ONE_SPEC: Final = _SPECS.where(Instance.uuid == bindparam("uuid"))
_NODE_SPECS: Final = (_SPECS.where(Instance.host == bindparam("host"),
                                   Instance.node == bindparam("node"))
                      .order_by(Instance.created_at, Instance.uuid, InstanceMetadata.id))


# What a compare-and-swap of one instance returns (``UPDATE ... RETURNING`` on SQLite and
# PostgreSQL) for the spec the agent would read after it (decision 94): the updated row's
# spec columns, the request id of its latest action, and whether it has metadata or volumes,
# which the statement cannot return (:func:`returned_spec` then gives none). SQLAlchemy's
# SQLite compiler renders every column of a RETURNING clause, a subquery's included,
# without its table: the subqueries' own columns still name their own table's (the
# innermost first), but the instance's uuid must be named with its table, or
# ``instance_uuid = uuid`` in a table with its own ``uuid`` would read that table's.
_UPDATED_UUID: Final[ColumnClause[str]] = literal_column(
    f"{cast(Table, Instance.__table__).name}.uuid", String())
RETURNED_SPEC: Final = (
    *SPEC_COLUMNS,
    select(InstanceAction.request_id).where(InstanceAction.instance_uuid == _UPDATED_UUID)
    .order_by(InstanceAction.id.desc()).limit(1).scalar_subquery().label("request_id"),
    _has_volumes(_UPDATED_UUID).label("has_volumes"),
    exists().where(InstanceMetadata.instance_uuid == _UPDATED_UUID).label("has_metadata"))


def returned_spec(row: Any) -> InstanceSpec | None:
    """The InstanceSpec :func:`spec_of` would read from a row of :data:`RETURNED_SPEC`,
    in the same transaction; ``None`` when the instance has metadata or volumes."""
    if row.has_volumes or row.has_metadata:
        return None
    return instance_spec(row, {}, row.request_id)


async def spec_of(db: AsyncSession, uuid: str) -> InstanceSpec | None:
    """The InstanceSpec of a live instance; ``None`` when it is deleted or unknown."""
    specs = await _with_volumes(db, await run(db, _ONE_SPEC, {"uuid": uuid}))
    return specs[0] if specs else None


async def specs_on_node(db: AsyncSession, host: str, node: str) -> list[InstanceSpec]:
    """The InstanceSpecs of every live instance placed on ``node`` of ``host``, oldest
    first."""
    return await _with_volumes(db, await run(db, _NODE_SPECS, {"host": host, "node": node}))


async def _with_volumes(db: AsyncSession, rows: Any) -> list[InstanceSpec]:
    """The specs of ``rows`` (:data:`_SPECS`) with their ``volumes``: one more statement
    for all of those that have some, none when none has (``has_volumes``)."""
    specs: dict[str, InstanceSpec] = {}
    having: list[str] = []
    for row in rows:
        spec = specs.get(row.uuid)
        if spec is None:
            spec = specs[row.uuid] = instance_spec(row, {}, row.request_id)
            if row.has_volumes:
                having.append(row.uuid)
        if row.metadata_key is not None:
            spec["metadata"][row.metadata_key] = row.metadata_value
    volumes = await block_devices.volume_entries(db, having) if having else {}
    for uuid, spec in specs.items():
        spec["volumes"] = volumes.get(uuid, [])
    return list(specs.values())


# --- the network side of an instance ------------------------------------------------------

ALLOCATING: Final = "allocating"
ALLOCATED: Final = "allocated"
RELEASED: Final = "released"
# Network states in which ports may exist for the instance.
HOLDS_PORTS: Final = (ALLOCATING, ALLOCATED)


async def network_rows(db: AsyncSession, uuids: Sequence[str]) -> dict[str, Any]:
    """``{uuid: row}`` with ``host``, ``network_requests``, ``security_groups``,
    ``network_info`` and ``network_status`` of the instances among ``uuids`` (deleted
    ones too: see ``deleted``)."""
    if not uuids:
        return {}
    rows = await run(db, _NETWORK_ROWS, {"uuids": list(uuids)})
    return {row.uuid: row for row in rows}


# Built once (a statement built per call costs more CPU than running it): every boot and
# delete reads it.
_NETWORK_ROWS: Final = select(
    Instance.uuid, Instance.host, Instance.network_requests, Instance.security_groups,
    Instance.network_info, Instance.network_status, Instance.deleted
).where(Instance.uuid.in_(bindparam("uuids", expanding=True)))


async def set_network_status(db: AsyncSession, uuid: str, status: str | None, *,
                             expected: Sequence[str | None] | None = None) -> bool:
    """Set ``network_status`` of an instance, deleted or not (a cleanup after delete),
    when it is one of ``expected`` (any, when None)."""
    stmt = update(Instance).where(Instance.uuid == uuid)
    if expected is not None:
        named = [state for state in expected if state is not None]
        clauses = [Instance.network_status.in_(named)] if named else []
        if None in expected:
            clauses.append(Instance.network_status.is_(None))
        stmt = stmt.where(or_(*clauses))
    result = await db.execute(stmt.values(network_status=status)
                              .execution_options(synchronize_session=False))
    return rows_matched(result) == 1


async def set_network_info(db: AsyncSession, uuid: str, network_info: list[dict[str, Any]]
                           ) -> bool:
    """Replace a live instance's network info cache (a ``network-changed`` refresh)."""
    return await update_instance(db, uuid, network_info=network_info)


async def deleted_holding_ports(db: AsyncSession, limit: int) -> list[Any]:
    """Deleted instances whose ports may still exist: their cleanup failed or never ran."""
    return list((await db.execute(
        select(Instance.uuid, Instance.network_requests).where(
            Instance.deleted.is_(True), Instance.network_status.in_(HOLDS_PORTS))
        .limit(limit))).all())
