"""A service's prebuilt reads (the SELECTs its modules build at import) are compiled into
its engine's statement cache before any request runs them (decision 101): a request's
first use of one finds it there, as SQLAlchemy's log says ("cached since", where a
statement compiled on the spot says "generated in")."""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    union_all,
)

from helpers.inprocess import make_config
from ownstack.common.db.engine import make_engine
from ownstack.common.service import ServiceState, prebuilt_reads
from ownstack.server import compile_prebuilt_reads

_TABLE = Table("prebuilt_things", MetaData(), Column("id", Integer, primary_key=True),
               Column("name", String(20)))
_BY_NAME = select(_TABLE.c.id).where(_TABLE.c.name == bindparam("name"))
_BY_IDS = select(_TABLE.c.name).where(_TABLE.c.id.in_(bindparam("ids", expanding=True)))
_BOTH = union_all(select(_TABLE.c.id).where(_TABLE.c.id == 1), _BY_NAME)
_PACKAGE = "prebuilt_test_service"


class _State(ServiceState):
    @property
    def prebuilt_package(self) -> str:
        return _PACKAGE


@pytest.fixture
def service_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A package with a module of statements, and a module of a package whose name only
    starts the same."""
    objects = types.ModuleType(f"{_PACKAGE}.objects")
    objects.BY_NAME = _BY_NAME              # type: ignore[attr-defined]
    objects.BY_IDS = _BY_IDS                # type: ignore[attr-defined]
    objects.BOTH = _BOTH                    # type: ignore[attr-defined]
    objects.SAME_AGAIN = _BY_NAME           # type: ignore[attr-defined]
    objects.WRITE = insert(_TABLE)          # type: ignore[attr-defined]
    objects.LIMIT = 5                       # type: ignore[attr-defined]
    other = types.ModuleType(f"{_PACKAGE}_other")
    other.READ = select(_TABLE)             # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, _PACKAGE, types.ModuleType(_PACKAGE))
    monkeypatch.setitem(sys.modules, objects.__name__, objects)
    monkeypatch.setitem(sys.modules, other.__name__, other)
    yield


@pytest.fixture
async def state(tmp_path: Path, service_modules: None) -> AsyncIterator[_State]:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_TABLE.metadata.create_all)
        await conn.execute(insert(_TABLE), [{"name": "a"}, {"name": "b"}])
    svc = _State(make_config(tmp_path), {}, engine)
    yield svc
    await svc.stop()


def test_the_prebuilt_reads_are_the_packages_module_level_selects(
        service_modules: None) -> None:
    assert list(prebuilt_reads(_PACKAGE)) == [_BY_NAME, _BY_IDS, _BOTH]


async def _first_use_log(svc: _State, caplog: pytest.LogCaptureFixture) -> list[str]:
    caplog.clear()
    async with svc.read() as db:
        assert (await db.execute(_BY_NAME, {"name": "b"})).scalar_one() == 2
        assert (await db.execute(_BY_IDS, {"ids": [1, 2]})).scalars().all() == ["a", "b"]
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("[")]


async def test_a_prebuilt_read_is_compiled_before_its_first_use(
        state: _State, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine.Engine")
    assert await state.compile_prebuilt_reads() == 3
    stats = await _first_use_log(state, caplog)
    assert len(stats) == 2 and all(s.startswith("[cached since") for s in stats), stats


async def test_without_it_the_first_use_compiles(
        state: _State, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine.Engine")
    stats = await _first_use_log(state, caplog)
    assert len(stats) == 2 and all(s.startswith("[generated in") for s in stats), stats


async def test_the_server_compiles_each_services_reads_and_serves_on_past_a_failure(
        state: _State, caplog: pytest.LogCaptureFixture) -> None:
    class Broken(_State):
        async def compile_prebuilt_reads(self) -> int:
            raise RuntimeError("broken")

    broken = Broken(state.config, {}, state.engine)
    apps = [types.SimpleNamespace(svc=broken), types.SimpleNamespace(svc=state), object()]
    assert await compile_prebuilt_reads(apps) == 3
    assert f"compiling the prebuilt reads of {_PACKAGE} failed" in caplog.text
