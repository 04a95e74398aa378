"""Image migration 0002 (decision 69): the metadata definitions tables come on top of an
existing image database, which keeps its images, with Glance's six resource types."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ownstack.common.db import migrate


async def test_metadef_tables_are_added_with_the_resource_types(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}")
    try:
        await migrate.upgrade(engine, "image", "0001")
        images = sa.table("image_image", sa.column("id"), sa.column("status"),
                          sa.column("visibility"), sa.column("protected"),
                          sa.column("os_hidden"), sa.column("min_disk"),
                          sa.column("min_ram"), sa.column("properties"),
                          sa.column("created_at"), sa.column("updated_at"),
                          sa.column("generation"))
        async with engine.begin() as db:
            await db.execute(images.insert().values(
                id="00000000-0000-4000-8000-000000000001", status="active",
                visibility="public", protected=False, os_hidden=False, min_disk=0, min_ram=0,
                properties="{}", created_at="2026-12-01 00:00:00.000000",
                updated_at="2026-12-01 00:00:00.000000", generation=0))
        await migrate.upgrade(engine, "image")
        async with engine.connect() as db:
            kept = (await db.execute(sa.text("SELECT id FROM image_image"))).scalars().all()
            types = (await db.execute(sa.text(
                "SELECT name, protected FROM image_metadef_resource_type ORDER BY id"))).all()
        assert kept == ["00000000-0000-4000-8000-000000000001"]
        assert [tuple(row) for row in types] == [
            ("OS::Glance::Image", 1), ("OS::Cinder::Volume", 1), ("OS::Nova::Flavor", 1),
            ("OS::Nova::Aggregate", 1), ("OS::Nova::Server", 1), ("OS::Trove::Instance", 1)]
    finally:
        await engine.dispose()
