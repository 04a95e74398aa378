"""The lists a listing reads as one text each (``listing.aggregated``) come back whole on
each database of ``OWNSTACK_TEST_DATABASES``, however long: MariaDB would cut a
GROUP_CONCAT at ``group_concat_max_len`` (1 KiB on a server with MySQL's old default),
so every session of ours sets its own (``engine.GROUP_CONCAT_MAX_LEN``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from helpers.databases import backends, fresh_database
from ownstack.common.db.engine import GROUP_CONCAT_MAX_LEN, make_engine
from ownstack.network.objects.listing import aggregated, split_text

_METADATA = sa.MetaData()
_ITEMS = sa.Table("test_items", _METADATA,
                  sa.Column("id", sa.String(64), primary_key=True), mysql_engine="InnoDB")
_TAGS = sa.Table("test_item_tags", _METADATA,
                 sa.Column("item_id", sa.String(64), primary_key=True),
                 sa.Column("tag", sa.String(255), primary_key=True), mysql_engine="InnoDB")


@pytest.fixture(params=sorted({b.partition("+")[0] for b in backends()}))
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[str, str]]:
    backend = str(request.param)
    with fresh_database(backend) as url:
        if url is None:
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('lists') / 'lists.db'}"
        yield backend, url


def test_a_long_list_comes_back_whole(database_url: tuple[str, str]) -> None:
    backend, url = database_url
    # Sixty tags of 255 characters: 15 KB of text, past MySQL's old 1 KiB default.
    tags = sorted(f"{n:03d}" + "x" * 252 for n in range(60))

    async def check() -> None:
        engine = make_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_METADATA.create_all)
                await conn.execute(_ITEMS.insert(), [{"id": "one"}, {"id": "none"}])
                await conn.execute(_TAGS.insert(), [{"item_id": "one", "tag": t} for t in tags])
            column = aggregated(_TAGS.c.tag, _TAGS.c.item_id == _ITEMS.c.id, _ITEMS, "tags")
            async with engine.connect() as conn:
                rows = dict((await conn.execute(sa.select(_ITEMS.c.id, column))).all())
                if backend == "mariadb":
                    session = (await conn.execute(
                        sa.text("SELECT @@SESSION.group_concat_max_len"))).scalar_one()
                    assert int(session) == GROUP_CONCAT_MAX_LEN
        finally:
            await engine.dispose()
        assert sorted(split_text(rows["one"])) == tags
        assert rows["none"] is None and split_text(rows["none"]) == []

    asyncio.run(check())
