"""``/snapshots``: create, list and detail with Cinder's filters, show, update, delete,
metadata, and the admin's actions (reset-status, force-delete).

A snapshot is made and removed by its volume's host's agent; a create answers 202 with
the snapshot in ``creating``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.volume.api import common
from ownstack.volume.api.common import body, flag, version_of
from ownstack.volume.api.handlers.metadata import MetadataRoutes, Rules
from ownstack.volume.api.schemas import snapshots as schemas
from ownstack.volume.api.schemas.actions import SNAPSHOT_ACTIONS
from ownstack.volume.api.views import snapshots as views
from ownstack.volume.errors import InvalidInput, VolumeNotFound
from ownstack.volume.objects import listing
from ownstack.volume.objects import snapshots as objects
from ownstack.volume.objects import volumes as volume_objects
from ownstack.volume.objects.models import Snapshot
from ownstack.volume.state import Req


def _target(req: Req, snapshot: Snapshot | None = None) -> dict[str, Any]:
    return {"project_id": snapshot.project_id if snapshot else req.ctx.project_id}


async def load(req: Req, rule: str) -> Snapshot:
    async with req.svc.read() as db:
        snapshot = await objects.get(db, req.ctx, req.params["snapshot_id"])
    req.svc.enforce(req.ctx, rule, _target(req, snapshot))
    return snapshot


async def _view(req: Req, snapshot_id: str, status: int = 200, *, detail: bool = True
                ) -> Response:
    """The snapshot; ``detail`` False as update answers it, without the extended
    attributes (Cinder's extension adds them to show and the detailed list only)."""
    async with req.svc.read() as db:
        snapshot = await objects.get(db, req.ctx, snapshot_id)
        metadata = (await objects.metadata_of(db, [snapshot.id]))[snapshot.id]
    return json_response({"snapshot": views.snapshot(req, version_of(req), snapshot,
                                                     metadata, detail=detail)}, status=status)


async def _host_of(req: Req, snapshot: Snapshot) -> str | None:
    async with req.svc.read() as db:
        volume = await volume_objects.get(db, req.ctx, snapshot.volume_id)
    return volume.host


async def create_snapshot(req: Req) -> Response:
    req.svc.enforce(req.ctx, "volume:create_snapshot", _target(req))
    data: dict[str, Any] = (await body(req, schemas.CREATE))["snapshot"]
    force = flag("force", data.get("force") or False)
    if data["volume_id"] is None:
        raise VolumeNotFound("None")
    async with req.svc.write() as db:
        volume = await volume_objects.get(db, req.ctx, str(data["volume_id"]))
        req.svc.enforce(req.ctx, "volume:create_snapshot", {"project_id": volume.project_id})
        snapshot = await objects.create(
            db, req.svc.settings, req.ctx, volume,
            name=data.get("name", data.get("display_name")),
            description=data.get("description", data.get("display_description")),
            metadata=data.get("metadata") or {}, force=force, version=version_of(req))
        metadata = (await objects.metadata_of(db, [snapshot.id]))[snapshot.id]
        answer = views.snapshot(req, version_of(req), snapshot, metadata, detail=False)
    await req.svc.rpc.snapshot_changed(volume.host, snapshot.id)
    return json_response({"snapshot": answer}, status=202)


async def _list(req: Req, *, detail: bool) -> Response:
    req.svc.enforce(req.ctx, "volume:get_all_snapshots", _target(req))
    version = version_of(req)
    kind = objects.kind(version)
    query = listing.parse_query(req.query.multi_items(), kind, version,
                                is_admin=req.ctx.is_admin)
    async with req.svc.read() as db:
        rows, count = await objects.list_page(db, req.ctx, kind, query)
        metadata = await objects.metadata_of(db, [row.id for row in rows])
    items = [views.snapshot(req, version, row, metadata[row.id], detail=detail)
             for row in rows]
    return common.list_body("snapshots", items, req, rows, query, count)


async def list_snapshots(req: Req) -> Response:
    return await _list(req, detail=False)


async def list_snapshots_detail(req: Req) -> Response:
    return await _list(req, detail=True)


async def show_snapshot(req: Req) -> Response:
    snapshot = await load(req, "volume:get_snapshot")
    return await _view(req, snapshot.id)


async def update_snapshot(req: Req) -> Response:
    snapshot = await load(req, "volume:update_snapshot")
    data: dict[str, Any] = (await body(req, schemas.UPDATE))["snapshot"]
    values = {}
    for name in ("name", "description"):
        if name in data or f"display_{name}" in data:
            values[name] = data.get(name, data.get(f"display_{name}"))
    async with req.svc.write() as db:
        await objects.save(db, await objects.get(db, req.ctx, snapshot.id), **values)
    return await _view(req, snapshot.id, detail=False)


async def delete_snapshot(req: Req) -> Response:
    snapshot = await load(req, "volume:delete_snapshot")
    return await _delete(req, snapshot, force=False)


async def _delete(req: Req, snapshot: Snapshot, *, force: bool) -> Response:
    async with req.svc.write() as db:
        current = await objects.get(db, req.ctx, snapshot.id)
        volume = await volume_objects.get(db, req.ctx, current.volume_id)
        up = await volume_objects.host_up(db, req.svc.settings, volume.host)
        gone = await objects.delete(db, current, volume, force=force, host_up=up)
    if not gone:
        await req.svc.rpc.snapshot_changed(volume.host, snapshot.id)
    return empty_response(202)


async def snapshot_action(req: Req) -> Response:
    data = await req.json()
    if not isinstance(data, dict) or len(data) != 1:
        raise BadRequest("Invalid request body: exactly one action is expected.")
    name = next(iter(data))
    validator = SNAPSHOT_ACTIONS.get(name)
    if validator is None:
        raise BadRequest(f"There is no such action: {name}")
    validator.validate(data)
    if name == "os-update_snapshot_status":
        return await _update_status(req, data[name])
    if name == "os-force_delete":
        snapshot = await load(req, "volume_extension:snapshot_admin_actions:force_delete")
        return await _delete(req, snapshot, force=True)
    snapshot = await load(req, "volume_extension:snapshot_admin_actions:reset_status")
    async with req.svc.write() as db:
        await objects.reset_status(db, await objects.get(db, req.ctx, snapshot.id),
                                   str(data[name]["status"]))
    await req.svc.rpc.snapshot_changed(await _host_of(req, snapshot), snapshot.id)
    return empty_response(202)


async def _update_status(req: Req, args: dict[str, Any]) -> Response:
    progress = args.get("progress")
    if progress and not _PROGRESS.fullmatch(str(progress)):
        raise InvalidInput("progress must be an integer percentage between 0 and 100")
    snapshot = await load(req, "snapshot_extension:snapshot_actions:update_snapshot_status")
    async with req.svc.write() as db:
        await objects.update_status(db, await objects.get(db, req.ctx, snapshot.id),
                                    str(args["status"]), str(progress) if progress else None)
    return empty_response(202)


_PROGRESS: Final = re.compile(r"(100|[1-9]?[0-9])%")


# --- metadata --------------------------------------------------------------------------------

METADATA: Final[MetadataRoutes[Snapshot]] = MetadataRoutes(
    kind="Snapshot", param="snapshot_id",
    rules=Rules(get="volume:get_snapshot_metadata", create="volume:update_snapshot_metadata",
                 update="volume:update_snapshot_metadata",
                 delete="volume:delete_snapshot_metadata"),
    load=load, get=objects.get, read=objects.metadata_of_one, replace=objects.replace_metadata,
    merge=objects.merge_metadata, remove=objects.delete_metadata, save=objects.save)
list_metadata = METADATA.list
show_metadata_item = METADATA.show_item
create_metadata = METADATA.create
replace_metadata = METADATA.replace_all
set_metadata_item = METADATA.set_item
delete_metadata_item = METADATA.delete_item
