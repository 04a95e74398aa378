"""Every service's prebuilt reads run at start with NULL parameters (decision 101) on each
backend: none is refused by the database, so each one's compile reaches the engine's
statement cache the way a request's would (a refused one would still have compiled, but
would show a statement that no longer matches the schema)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.databases import backends, fresh_database
from helpers.inprocess import make_config
from ownstack.common.db import migrate
from ownstack.common.db.engine import make_engine
from ownstack.common.service import ServiceState, prebuilt_reads
from ownstack.roles import API_SERVICES

_SERVICES = [spec.type for spec in API_SERVICES if spec.schema == ""]


@pytest.fixture(scope="module", params=sorted({b.partition("+")[0] for b in backends()}))
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[str]:
    with fresh_database(str(request.param)) as url:
        yield url or f"sqlite:///{tmp_path_factory.mktemp('prebuilt') / 'ownstack.db'}"


class _Service(ServiceState):
    package = ""

    @property
    def prebuilt_package(self) -> str:
        return self.package


async def test_every_services_prebuilt_reads_run_on_the_database(
        database_url: str, tmp_path: Path) -> None:
    for service in _SERVICES:
        importlib.import_module(f"ownstack.{service}.app")     # as the server does
    engine = make_engine(database_url)
    try:
        for service in _SERVICES:
            await migrate.upgrade(engine, service)
        for service in _SERVICES:
            svc = _Service(make_config(tmp_path, f"database.url={database_url}"), {}, engine)
            svc.package = f"ownstack.{service}"
            reads = list(prebuilt_reads(svc.package))
            assert await svc.compile_prebuilt_reads() == len(reads), service
        assert len(list(prebuilt_reads("ownstack.network"))) > 10
    finally:
        await engine.dispose()
