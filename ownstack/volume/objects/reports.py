"""What agents read and report: each volume and snapshot as its host's desired state
(:mod:`ownstack.volume.rpc`), the agents' reports that move them out of the statuses an
agent works on, and the sweep that puts work whose agent is gone in error.

The agent works on a row's ``work``, never on its status alone (decision 59: an admin's
reset-status writes statuses that ask for nothing). A report names the work it did and is
applied only while the row still has that work on that host, so a late or repeated
report (an agent killed after its work and before its answer, then doing it again), or
one of work a reset-status ended, changes nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.volume import rpc
from ownstack.volume.objects import groups, messages, services
from ownstack.volume.objects import snapshots as snapshot_objects
from ownstack.volume.objects import volumes as volume_objects
from ownstack.volume.objects.models import Attachment, Snapshot, Volume, VolumeService

# A snapshot's work, and the status a failure of it leaves.
SNAPSHOT_WORK: Final = {"creating": "error", "deleting": "error_deleting"}


def volume_info(volume: Volume, attached: bool) -> rpc.VolumeInfo:
    task = volume.task or {}
    source = task.get("source") or {}
    upload = task.get("upload") or {}
    return {"id": volume.id, "host": volume.host or "", "status": volume.status,
            "work": volume.work, "size": volume.size,
            "source": {"kind": str(source.get("kind") or "blank"), "id": source.get("id"),
                       "disk_format": source.get("disk_format"),
                       "size": source.get("size")},
            "upload_image_id": upload.get("image_id"),
            "upload_disk_format": upload.get("disk_format"),
            "revert_snapshot_id": task.get("revert_snapshot_id"),
            "extend_by_compute": bool(task.get("extend_by_compute")),
            "location": volume.provider_location, "attached": attached}


def snapshot_info(snapshot: Snapshot, host: str) -> rpc.SnapshotInfo:
    return {"id": snapshot.id, "volume_id": snapshot.volume_id, "host": host,
            "status": snapshot.status, "work": snapshot.work, "size": snapshot.size,
            "location": snapshot.provider_location}


async def _attached(db: AsyncSession, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return set((await db.execute(sa.select(Attachment.volume_id).where(
        Attachment.volume_id.in_(ids)).distinct())).scalars())


async def host_state(db: AsyncSession, host: str
                     ) -> tuple[list[rpc.VolumeInfo], list[rpc.SnapshotInfo]]:
    rows = list((await db.execute(sa.select(Volume).where(Volume.host == host))).scalars())
    attached = await _attached(db, [row.id for row in rows])
    found = list((await db.execute(sa.select(Snapshot).join(
        Volume, Volume.id == Snapshot.volume_id).where(Volume.host == host))).scalars())
    return ([volume_info(row, row.id in attached) for row in rows],
            [snapshot_info(snapshot, host) for snapshot in found])


async def get_volume(db: AsyncSession, volume_id: str) -> rpc.VolumeInfo | None:
    row = await db.get(Volume, volume_id)
    if row is None or row.host is None:
        return None
    return volume_info(row, bool(await _attached(db, [row.id])))


async def get_snapshot(db: AsyncSession, snapshot_id: str) -> rpc.SnapshotInfo | None:
    row = await db.get(Snapshot, snapshot_id)
    if row is None:
        return None
    volume = await db.get(Volume, row.volume_id)
    if volume is None or volume.host is None:
        return None
    return snapshot_info(row, volume.host)


@dataclass
class Applied:
    """What a report changed, for the notifications sent after its commit."""

    applied: bool
    status: str | None = None
    image_to_delete: str | None = None                          # a failed upload's
    volume_id: str = ""
    size: int = 0


# The user message a failure of each kind of agent work leaves (Cinder's action, detail).
_VOLUME_FAILURES: Final = {
    "creating": (messages.CREATE_VOLUME_FROM_BACKEND, messages.DRIVER_FAILED_CREATE),
    "extending": (messages.EXTEND_VOLUME, messages.DRIVER_FAILED_EXTEND),
    "uploading": (messages.COPY_VOLUME_TO_IMAGE, messages.FAILED_TO_UPLOAD_VOLUME),
}
_SNAPSHOT_FAILURES: Final = {
    "creating": (messages.SNAPSHOT_CREATE, messages.SNAPSHOT_CREATE_ERROR),
    "deleting": (messages.SNAPSHOT_DELETE, messages.SNAPSHOT_DELETE_ERROR),
}


async def volume_done(db: AsyncSession, payload: dict[str, Any], *,
                      message_ttl: int = messages.DEFAULT_TTL) -> Applied:
    """Apply an agent's report of the work a volume asked for; a failure also leaves the
    project a user message (:mod:`~ownstack.volume.objects.messages`). The volume's group,
    if it waits on its volumes, then moves on."""
    volume = await db.get(Volume, str(payload["volume_id"]))
    group_id = volume.group_id if volume is not None else None
    result = await _volume_done(db, volume, payload, message_ttl)
    if result.applied:
        await groups.converge_group(db, group_id)
    return result


async def _volume_done(db: AsyncSession, volume: Volume | None, payload: dict[str, Any],
                       message_ttl: int) -> Applied:
    worked_on = str(payload["work"])
    if volume is None:
        return Applied(False)
    if volume.host != payload["host"] or volume.work != worked_on:
        return Applied(False, volume.status)
    done = payload["outcome"] == rpc.DONE
    reason = str(payload.get("reason") or "")[:1000]
    task = dict(volume.task or {})
    result = Applied(True, volume_id=volume.id)
    if worked_on == "deleting" and done:
        await db.delete(volume)
        await db.flush()
        result.status = None
        return result
    values: dict[str, Any] = {"work": None}
    if not done:
        task["error"] = reason
        failure = _VOLUME_FAILURES.get(worked_on)
        if failure is not None:
            action, detail = failure
            if worked_on == "creating" and (task.get("source") or {}).get("kind") == "image":
                action, detail = messages.COPY_IMAGE_TO_VOLUME, messages.UNKNOWN_ERROR
            messages.record(db, project_id=volume.project_id,
                            request_id=task.get("request_id"), resource_type=messages.VOLUME,
                            resource_uuid=volume.id, action=action, detail=detail,
                            ttl=message_ttl)
        failed = volume_objects.AGENT_WORK.get(worked_on)
        values["status"] = failed or volume.previous_status or "available"
        if worked_on == "extending":
            values["size"] = int(task.get("old_size") or volume.size)
        if worked_on == "uploading":
            result.image_to_delete = (task.get("upload") or {}).get("image_id")
    else:
        task.pop("error", None)
        if worked_on == "creating":
            values.update(status="available", launched_at=utcnow(),
                          provider_location=str(payload.get("location") or "") or None,
                          format=str(payload.get("format") or "") or None)
        elif worked_on in ("extending", "uploading", "reverting"):
            values["status"] = volume.previous_status or "available"
        if worked_on == "reverting":
            snapshot = await db.get(Snapshot, task.get("revert_snapshot_id") or "")
            if snapshot is not None and snapshot.status == "restoring":
                await snapshot_objects.save(db, snapshot, status="available")
    task.pop("upload", None)
    task.pop("request_id", None)        # the request that asked for this work, now done
    task.pop("revert_snapshot_id", None)
    task.pop("old_size", None)
    if worked_on == "reverting" and not done:
        snapshot = await db.get(Snapshot, (volume.task or {}).get("revert_snapshot_id") or "")
        if snapshot is not None and snapshot.status == "restoring":
            await snapshot_objects.save(db, snapshot, status="available")
    values["task"] = task
    await volume_objects.save(db, volume, **values)
    result.status = volume.status
    result.size = volume.size
    return result


async def snapshot_done(db: AsyncSession, payload: dict[str, Any], *,
                        message_ttl: int = messages.DEFAULT_TTL) -> Applied:
    """Apply an agent's report of a snapshot's work; its group snapshot, if it waits on
    its snapshots, then moves on."""
    snapshot = await db.get(Snapshot, str(payload["snapshot_id"]))
    group_snapshot_id = snapshot.group_snapshot_id if snapshot is not None else None
    result = await _snapshot_done(db, snapshot, payload, message_ttl)
    if result.applied:
        await groups.converge_group_snapshot(db, group_snapshot_id)
    return result


async def _snapshot_done(db: AsyncSession, snapshot: Snapshot | None,
                         payload: dict[str, Any], message_ttl: int) -> Applied:
    worked_on = str(payload["work"])
    if snapshot is None:
        return Applied(False)
    volume = await db.get(Volume, snapshot.volume_id)
    if volume is None or volume.host != payload["host"] or snapshot.work != worked_on:
        return Applied(False, snapshot.status)
    done = payload["outcome"] == rpc.DONE
    if worked_on == "deleting" and done:
        await db.delete(snapshot)
        await db.flush()
        return Applied(True, None)
    if done:
        await snapshot_objects.save(db, snapshot, status="available", work=None,
                                    progress="100%", task={},
                                    provider_location=str(payload.get("location") or "")
                                    or None)
    else:
        failure = _SNAPSHOT_FAILURES.get(worked_on)
        if failure is not None:
            messages.record(db, project_id=snapshot.project_id,
                            request_id=(snapshot.task or {}).get("request_id"),
                            resource_type=messages.SNAPSHOT, resource_uuid=snapshot.id,
                            action=failure[0], detail=failure[1], ttl=message_ttl)
        await snapshot_objects.save(db, snapshot, status=SNAPSHOT_WORK.get(worked_on, "error"),
                                    work=None,
                                    task={"error": str(payload.get("reason") or "")[:1000]})
    return Applied(True, snapshot.status)


async def fail_orphaned_work(db: AsyncSession, *, down_time: float, timeout: float,
                             message_ttl: int = messages.DEFAULT_TTL) -> list[str]:
    """Volumes and snapshots whose agent work waited more than ``timeout`` seconds on a
    host whose service is down (or gone): put in the status a failure leaves, with the
    reason, so nothing stays ``creating`` or ``deleting`` for good. Their ids."""
    now = utcnow()
    cutoff = now - timedelta(seconds=timeout)
    # The agents' rows only: a scheduler's row of the same host says nothing of its agent.
    alive = {row.host for row in (await db.execute(sa.select(VolumeService).where(
        VolumeService.binary == services.BINARY))).scalars()
        if services.is_up(row, now, down_time)}
    changed = []
    stuck = (await db.execute(sa.select(Volume).where(
        Volume.work.is_not(None), Volume.status_at < cutoff))).scalars()
    for volume in list(stuck):
        if volume.host in alive or (volume.task or {}).get("extend_by_compute"):
            continue
        reason = (f"The volume service of host {volume.host} was down for more than "
                  f"{int(timeout)} s while the volume was {volume.work}.")
        await volume_done(db, {"volume_id": volume.id, "host": volume.host,
                               "work": volume.work, "outcome": rpc.FAILED,
                               "reason": reason}, message_ttl=message_ttl)
        changed.append(volume.id)
    stuck_snapshots = (await db.execute(sa.select(Snapshot, Volume.host).join(
        Volume, Volume.id == Snapshot.volume_id).where(
        Snapshot.work.is_not(None), Snapshot.status_at < cutoff))).all()
    for snapshot, host in stuck_snapshots:
        if host in alive:
            continue
        await snapshot_done(db, {"snapshot_id": snapshot.id, "host": host,
                                 "work": snapshot.work, "outcome": rpc.FAILED,
                                 "reason": f"The volume service of host {host} is down."},
                            message_ttl=message_ttl)
        changed.append(snapshot.id)
    return changed
