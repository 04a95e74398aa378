"""Migration 0002 (decision 59): rows in a status an agent works on keep that work, as
the agent read it from the status before; every other row asks for nothing."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ownstack.common.db import migrate

NOW = "2026-12-05 12:00:00.000000"
VOLUMES = {"v-creating": "creating", "v-deleting": "deleting", "v-extending": "extending",
           "v-uploading": "uploading", "v-reverting": "reverting", "v-available": "available",
           "v-in-use": "in-use", "v-error": "error", "v-error_deleting": "error_deleting"}
SNAPSHOTS = {"s-creating": "creating", "s-deleting": "deleting", "s-available": "available",
             "s-restoring": "restoring", "s-error": "error"}


async def test_work_is_the_status_of_rows_an_agent_was_working_on(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate.upgrade(engine, "volume", "0001")
        async with engine.begin() as db:
            type_id = (await db.execute(sa.text("SELECT id FROM volume_types"))).scalar()
            for volume_id, status in VOLUMES.items():
                await db.execute(sa.text(
                    "INSERT INTO volume_volumes (id, project_id, user_id, size, status, "
                    "availability_zone, host, type_id, bootable, read_only, multiattach, "
                    "task, image_metadata, generation, created_at, updated_at, status_at) "
                    "VALUES (:id, 'p', 'u', 1, :status, 'nova', 'node1', :type, 0, 0, 0, "
                    "'{}', '{}', 0, :now, :now, :now)"),
                    {"id": volume_id, "status": status, "type": type_id, "now": NOW})
            for snapshot_id, status in SNAPSHOTS.items():
                await db.execute(sa.text(
                    "INSERT INTO volume_snapshots (id, project_id, user_id, volume_id, size, "
                    "status, progress, task, generation, created_at, updated_at, status_at) "
                    "VALUES (:id, 'p', 'u', 'v-available', 1, :status, '0%', '{}', 0, :now, "
                    ":now, :now)"), {"id": snapshot_id, "status": status, "now": NOW})
        await migrate.upgrade(engine, "volume")
        async with engine.connect() as db:
            volumes = {row.id: row.work for row in await db.execute(sa.text(
                "SELECT id, work FROM volume_volumes"))}
            snapshots = {row.id: row.work for row in await db.execute(sa.text(
                "SELECT id, work FROM volume_snapshots"))}
    finally:
        await engine.dispose()
    assert volumes == {"v-creating": "creating", "v-deleting": "deleting",
                       "v-extending": "extending", "v-uploading": "uploading",
                       "v-reverting": "reverting", "v-available": None, "v-in-use": None,
                       "v-error": None, "v-error_deleting": None}
    assert snapshots == {"s-creating": "creating", "s-deleting": "deleting",
                         "s-available": None, "s-restoring": None, "s-error": None}
