"""The in-process services as fixtures: ``identity``, ``image``, ``placement``,
``compute`` (the whole cloud with its workers), ``network`` and ``volume``. See
:mod:`helpers.inprocess`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.inprocess import (
    CloudClient,
    IdentityClient,
    ServiceClient,
    cloud_config,
    make_cloud,
    make_config,
    make_identity_client,
    make_image_client,
    make_service_client,
)


@pytest.fixture
async def identity(tmp_path: Path) -> AsyncIterator[IdentityClient]:
    async for client in make_identity_client(make_config(tmp_path)):
        yield client


@pytest.fixture
async def image(tmp_path: Path) -> AsyncIterator[ServiceClient]:
    async for client in make_image_client(make_config(tmp_path, "image.port=15998")):
        yield client


@pytest.fixture
async def placement(tmp_path: Path) -> AsyncIterator[ServiceClient]:
    async for client in make_service_client(make_config(tmp_path), "placement"):
        yield client


@pytest.fixture
async def compute(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path)):
        yield client


@pytest.fixture
async def network(tmp_path: Path) -> AsyncIterator[ServiceClient]:
    async for client in make_service_client(make_config(tmp_path), "network"):
        yield client


@pytest.fixture
async def volume(tmp_path: Path) -> AsyncIterator[ServiceClient]:
    """The volume API alone (with identity): no agent, no image service."""
    async for client in make_service_client(make_config(tmp_path), "volume"):
        yield client
