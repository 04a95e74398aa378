"""The conductor tests' cloud: the APIs and the conductor, no agents (``roles=api,conductor``);
the tests report nodes themselves (:mod:`helpers.conductor`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.inprocess import CloudClient, cloud_config, make_cloud


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path, "roles=api,conductor",
                                                "compute.reserved_host_memory_mb=0")):
        yield client
