"""The functional suite's cloud: one real ownstack (``ownstack up --foreground``) for the
session per backend that ``OWNSTACK_TEST_DATABASES`` lists (see :mod:`helpers.databases`),
each on a fresh database, driven over real HTTP with the real clients
(:mod:`helpers.process`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from helpers.databases import backends, fresh_database, rabbitmq_bus
from helpers.process import Cloud, start_cloud, stop_cloud


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``one_database`` runs on the first backend only: what it checks does
    not depend on the database (a client-side tool, answers no table decides), so two
    more runs would only cost CI minutes.

    With ``OWNSTACK_TEST_BACKEND_ONLY=1`` only the tests that run on each backend are
    kept (no ``one_database`` test, none without a backend): ``make functional`` runs one
    pytest per backend at once, and the first runs the rest."""
    first = backends()[0]
    backend_only = os.environ.get("OWNSTACK_TEST_BACKEND_ONLY") == "1"
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("cloud") if callspec is not None else None
        one_database = item.get_closest_marker("one_database") is not None
        elsewhere = one_database and backend not in (None, first)
        not_a_backends = backend_only and (one_database or not _on_a_backend(item))
        (dropped if elsewhere or not_a_backends else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _on_a_backend(item: pytest.Item) -> bool:
    """Whether the test is one of a backend's: a parameter of it names one."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    names = {backend.partition("+")[0] for backend in backends()}
    return any(isinstance(value, str) and value.partition("+")[0] in names
               for value in callspec.params.values())


@pytest.fixture(scope="session", params=backends())
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Cloud]:
    backend, _, bus = str(request.param).partition("+")
    tmp = tmp_path_factory.mktemp(f"cloud-{backend}-{bus or 'inprocess'}")
    extra: tuple[str, ...] = ()
    if bus == "rabbitmq":
        extra = rabbitmq_bus("ownstack-test")
    elif bus:
        raise ValueError(f"unknown test bus {bus!r}")
    with fresh_database(backend) as url:
        cloud = start_cloud(tmp, backend, url, extra)
        try:
            yield cloud
        finally:
            stop_cloud(cloud)
    # Any unhandled error in the server is a 500 somewhere: fail the run and show it.
    log_text = cloud.log.read_text()
    assert "Traceback" not in log_text, log_text[-20000:]
