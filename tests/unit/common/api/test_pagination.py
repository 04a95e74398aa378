from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ownstack.common.api.pagination import next_link, paginate, parse_limit, parse_sort
from ownstack.common.errors import ValidationFailed


class Base(DeclarativeBase):
    pass


class Image(Base):
    __tablename__ = "images"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    size: Mapped[int | None]
    status: Mapped[str]


def _rows() -> list[Image]:
    # Ids deliberately do not follow insertion order, names and statuses repeat, and some sizes
    # are NULL, so that the id tiebreaker and the NULL handling both matter.
    return [
        Image(
            id=f"{(i * 7) % 25:02d}-img",
            name=f"name-{i % 4}",
            size=None if i % 5 == 0 else (i * 3) % 8,
            status="active" if i % 3 else "queued",
        )
        for i in range(25)
    ]


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(_rows())
        session.commit()
        yield session
    engine.dispose()


def _expected(sort: list[tuple[str, str]]) -> list[str]:
    """Ids in the order paginate promises: NULL smallest, then id in the first key's direction."""
    rows = [(row.id, row.name, row.size, row.status) for row in _rows()]
    keys = list(sort)
    if all(key != "id" for key, _ in keys):
        keys.append(("id", keys[0][1] if keys else "asc"))
    index = {"id": 0, "name": 1, "size": 2, "status": 3}
    for key, direction in reversed(keys):  # stable sorts, least significant key first
        rows.sort(
            key=lambda row, i=index[key]: (row[i] is not None, row[i]),  # type: ignore[misc]
            reverse=direction == "desc",
        )
    return [row[0] for row in rows]


def _page_through(session: Session, sort: list[tuple[str, str]], limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    marker: Image | None = None
    while True:
        stmt = paginate(sa.select(Image), Image, limit=limit, marker_row=marker, sort=sort)
        page = list(session.scalars(stmt))
        if not page:
            return pages
        pages.append([row.id for row in page])
        # As a handler does: load the marker row by the id the client sent back.
        marker = session.get(Image, page[-1].id)


SORTS = [
    [],
    [("id", "asc")],
    [("id", "desc")],
    [("name", "asc")],
    [("name", "desc")],
    [("size", "asc")],
    [("size", "desc")],
    [("name", "asc"), ("size", "desc")],
    [("size", "desc"), ("name", "asc")],
    [("status", "desc"), ("size", "asc"), ("name", "desc")],
    [("size", "asc"), ("id", "desc")],
]


@pytest.mark.parametrize("sort", SORTS, ids=lambda sort: ",".join(f"{k}:{d}" for k, d in sort))
def test_pages_return_every_row_once_in_order(
    session: Session, sort: list[tuple[str, str]]
) -> None:
    pages = _page_through(session, sort, limit=10)
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [row_id for page in pages for row_id in page] == _expected(sort)


def test_limit_none_returns_everything(session: Session) -> None:
    stmt = paginate(sa.select(Image), Image, limit=None, marker_row=None, sort=[("size", "asc")])
    assert [row.id for row in session.scalars(stmt)] == _expected([("size", "asc")])


def test_marker_on_last_row_gives_an_empty_page(session: Session) -> None:
    last = session.get(Image, _expected([])[-1])
    stmt = paginate(sa.select(Image), Image, limit=10, marker_row=last, sort=[])
    assert list(session.scalars(stmt)) == []


def test_paginate_keeps_the_callers_filters(session: Session) -> None:
    stmt = sa.select(Image).where(Image.status == "active")
    ids = [
        row.id
        for row in session.scalars(
            paginate(stmt, Image, limit=100, marker_row=None, sort=[("name", "asc")])
        )
    ]
    active = {row.id for row in _rows() if row.status == "active"}
    assert ids == [row_id for row_id in _expected([("name", "asc")]) if row_id in active]


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        (None, None, None),
        (None, 20, 20),
        (None, 5000, 1000),
        ("0", None, 0),
        ("10", None, 10),
        ("1000", None, 1000),
        ("1001", None, 1000),
        ("9" * 5000, None, 1000),
    ],
)
def test_parse_limit(value: str | None, default: int | None, expected: int | None) -> None:
    assert parse_limit(value, max_limit=1000, default=default) == expected


@pytest.mark.parametrize("value", ["-1", "abc", "", " 5", "1.5", "1_000", "+5", "٣"])
def test_parse_limit_rejects(value: str) -> None:
    with pytest.raises(ValidationFailed, match="limit") as caught:
        parse_limit(value, max_limit=1000)
    assert caught.value.status == 400
    assert repr(value) in caught.value.message


ALLOWED = {"name", "size", "created_at", "status"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, []),
        ({"sort": "name:asc"}, [("name", "asc")]),
        ({"sort": "name:asc,size:desc"}, [("name", "asc"), ("size", "desc")]),
        ({"sort": "name, size:ASC"}, [("name", "desc"), ("size", "asc")]),
        ([("sort", "name"), ("sort", "size:asc")], [("name", "desc"), ("size", "asc")]),
        ({"sort_key": "name"}, [("name", "desc")]),
        ({"sort_key": "name", "sort_dir": "asc"}, [("name", "asc")]),
        (
            [("sort_key", "name"), ("sort_dir", "asc"), ("sort_key", "size"), ("sort_dir", "desc")],
            [("name", "asc"), ("size", "desc")],
        ),
        # Nova: keys beyond the last sort_dir take the first sort_dir.
        (
            [("sort_key", "name"), ("sort_key", "size"), ("sort_dir", "asc")],
            [("name", "asc"), ("size", "asc")],
        ),
        ({"limit": "5", "marker": "x"}, []),
    ],
)
def test_parse_sort(query: Any, expected: list[tuple[str, str]]) -> None:
    assert parse_sort(query, allowed=ALLOWED) == expected


def test_parse_sort_default_and_default_dir() -> None:
    default = [("created_at", "desc"), ("id", "desc")]
    assert parse_sort({}, allowed=ALLOWED, default=default) == default
    assert parse_sort({"sort": "name"}, allowed=ALLOWED, default_dir="asc") == [("name", "asc")]


def test_parse_sort_reads_repeated_keys_from_a_multi_dict() -> None:
    class MultiDict(dict[str, str]):
        """Like Starlette's QueryParams: items() keeps only the last value of each name."""

        def multi_items(self) -> list[tuple[str, str]]:
            return [("sort_key", "name"), ("sort_key", "size")]

    query = MultiDict(sort_key="size")
    assert parse_sort(query, allowed=ALLOWED) == [("name", "desc"), ("size", "desc")]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sort": "owner"}, "Invalid sort key 'owner'; allowed keys are: created_at, name"),
        ({"sort_key": "owner"}, "Invalid sort key 'owner'"),
        ({"sort": "name:up"}, "Invalid sort direction 'up'"),
        ({"sort": "name:asc:desc"}, "Invalid sort direction 'asc:desc'"),
        ({"sort_key": "name", "sort_dir": "sideways"}, "Invalid sort direction 'sideways'"),
        ({"sort": "name,,size"}, "Invalid sort key ''"),
        ({"sort": ""}, "Invalid sort key ''"),
        ({"sort": "name,name:asc"}, "more than once"),
        ({"sort": "name", "sort_key": "size"}, "not both"),
        ({"sort_dir": "asc"}, "needs a 'sort_key'"),
        ([("sort_key", "name"), ("sort_dir", "asc"), ("sort_dir", "desc")], "more 'sort_dir'"),
    ],
)
def test_parse_sort_rejects(query: Any, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_sort(query, allowed=ALLOWED)
    assert caught.value.status == 400
    assert message in caught.value.message


def test_next_link_replaces_marker_and_limit_and_keeps_the_rest() -> None:
    query = [
        ("status", "active"),
        ("marker", "old"),
        ("sort_key", "name"),
        ("sort_key", "size"),
        ("limit", "50"),
    ]
    href = next_link("http://cloud.example:9292/v2/images?status=ignored", query, "img 7", 10)
    parts = urlsplit(href)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "cloud.example:9292", "/v2/images")
    assert parse_qsl(parts.query) == [
        ("status", "active"),
        ("sort_key", "name"),
        ("sort_key", "size"),
        ("limit", "10"),
        ("marker", "img 7"),
    ]


def test_next_link_from_a_mapping() -> None:
    href = next_link("/v2.1/servers/detail", {"name": "web"}, "abc", 2)
    assert href == "/v2.1/servers/detail?name=web&limit=2&marker=abc"
