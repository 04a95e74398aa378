"""The image client other services use, against the real image app, in process.

Images here are small: the in-process transport buffers whole bodies (the functional
suite moves the big ones over real sockets).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from helpers.inprocess import ImageClient as Fixture
from helpers.names import unique
from ownstack.common.clients.image import (
    ImageClient,
    ImageClientError,
    ImageDataMismatch,
    ImageInfo,
    ImageNotFound,
)

DATA = os.urandom(3 * 1024 * 1024 + 17)   # not a multiple of the client's chunk size


def client_for(image: Fixture, token: str | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> ImageClient:
    async def provider() -> str:
        return token or image.identity.admin_token

    return ImageClient("http://image.test", provider,
                       transport or httpx.ASGITransport(app=image.app))


class Tamper(httpx.AsyncBaseTransport):
    """Passes requests through, but corrupts image data on the way (``how``: flip or
    truncate a download, or flip a byte of an upload)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, how: str) -> None:
        self.inner = inner
        self.how = how

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and self.how == "upload":
            body = bytearray(await request.aread())
            body[len(body) // 2] ^= 0x01
            request = httpx.Request("PUT", request.url, headers=request.headers,
                                    content=bytes(body))
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.endswith("/file"):
            return response
        body = await response.aread()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        if self.how == "flip":
            middle = len(body) // 2
            body = body[:middle] + bytes([body[middle] ^ 0x01]) + body[middle + 1:]
        else:
            body = body[:-1]
        return httpx.Response(response.status_code, headers=headers, content=body)


@pytest.fixture
async def client(image: Fixture) -> AsyncIterator[ImageClient]:
    async with client_for(image) as c:
        yield c


@pytest.fixture
async def active(client: ImageClient, tmp_path: Path) -> ImageInfo:
    src = tmp_path / "disk.raw"
    src.write_bytes(DATA)
    created = await client.create(unique("img"), "raw", "bare")
    return await client.upload(created.id, src)


async def test_create_upload_get_download_delete(client: ImageClient, tmp_path: Path) -> None:
    name = unique("snapshot")
    created = await client.create(name, "raw", "bare", properties={
        "image_type": "snapshot", "os_distro": "debian"}, min_disk=1, min_ram=64)
    assert created.status == "queued" and created.name == name
    assert created.visibility == "private" and created.size is None
    assert (created.disk_format, created.container_format) == ("raw", "bare")
    assert (created.min_disk, created.min_ram) == (1, 64)
    assert dict(created.properties) == {"image_type": "snapshot", "os_distro": "debian"}
    assert created.owner   # the admin's project

    src = tmp_path / "disk.raw"
    src.write_bytes(DATA)
    uploaded = await client.upload(created.id, src)
    assert uploaded.status == "active" and uploaded.size == len(DATA)
    assert uploaded.checksum == hashlib.md5(DATA).hexdigest()  # noqa: S324 - Glance's checksum
    assert uploaded.os_hash_algo == "sha512"
    assert uploaded.os_hash_value == hashlib.sha512(DATA).hexdigest()
    assert await client.get(created.id) == uploaded

    dest = tmp_path / "cache" / "disk"
    dest.parent.mkdir()
    assert await client.download(created.id, dest) == uploaded
    assert dest.read_bytes() == DATA
    assert sorted(p.name for p in dest.parent.iterdir()) == ["disk"]

    await client.delete(created.id)
    with pytest.raises(ImageNotFound):
        await client.get(created.id)
    with pytest.raises(ImageNotFound):
        await client.delete(created.id)
    with pytest.raises(ImageNotFound):
        await client.download(created.id, tmp_path / "gone")
    assert not (tmp_path / "gone").exists() and not (tmp_path / "gone.part").exists()


@pytest.mark.parametrize("how", ["flip", "truncate"])
async def test_tampered_download_raises_and_leaves_nothing(
        image: Fixture, active: ImageInfo, tmp_path: Path, how: str) -> None:
    tampered = Tamper(httpx.ASGITransport(app=image.app), how)
    dest = tmp_path / "cache" / "disk"
    dest.parent.mkdir()
    async with client_for(image, transport=tampered) as client:
        with pytest.raises(ImageDataMismatch) as raised:
            await client.download(active.id, dest)
    assert active.id in str(raised.value)
    assert list(dest.parent.iterdir()) == []


async def test_upload_changed_on_the_way_raises(image: Fixture, tmp_path: Path) -> None:
    src = tmp_path / "disk.raw"
    src.write_bytes(DATA)
    tampered = Tamper(httpx.ASGITransport(app=image.app), "upload")
    async with client_for(image, transport=tampered) as client:
        created = await client.create(unique("img"), "raw", "bare")
        with pytest.raises(ImageDataMismatch) as raised:
            await client.upload(created.id, src)
        assert hashlib.sha512(DATA).hexdigest() in str(raised.value)


async def test_download_of_an_image_without_data(client: ImageClient, tmp_path: Path) -> None:
    queued = await client.create(unique("empty"), "raw", "bare")
    cache = tmp_path / "cache"
    cache.mkdir()
    with pytest.raises(ImageClientError) as raised:
        await client.download(queued.id, cache / "disk")
    assert raised.value.status is not None
    assert list(cache.iterdir()) == []


async def test_upload_to_an_active_image_is_refused(
        client: ImageClient, active: ImageInfo, tmp_path: Path) -> None:
    src = tmp_path / "other.raw"
    src.write_bytes(b"x" * 4096)
    with pytest.raises(ImageClientError) as raised:
        await client.upload(active.id, src)
    assert raised.value.status == 409 and raised.value.message
    assert (await client.get(active.id)).size == len(DATA)


async def test_bad_request_carries_glance_message(client: ImageClient) -> None:
    with pytest.raises(ImageClientError) as raised:
        await client.create(unique("bad"), "bogus", "bare")
    assert raised.value.status == 400
    assert "bogus" in raised.value.message or "disk_format" in raised.value.message
    assert not isinstance(raised.value, ImageNotFound)


async def test_another_projects_private_image_is_not_found(
        image: Fixture, active: ImageInfo, tmp_path: Path) -> None:
    _, token = await image.project_user_token("member")
    async with client_for(image, token) as stranger:
        with pytest.raises(ImageNotFound):
            await stranger.get(active.id)
        with pytest.raises(ImageNotFound):
            await stranger.download(active.id, tmp_path / "stolen")
        with pytest.raises(ImageNotFound):
            await stranger.delete(active.id)
    assert not (tmp_path / "stolen").exists()


async def test_unreachable_service_is_a_client_error(tmp_path: Path) -> None:
    async def provider() -> str:
        return "token"

    async with ImageClient("http://127.0.0.1:9", provider) as client:
        with pytest.raises(ImageClientError) as raised:
            await client.get("00000000-0000-0000-0000-000000000000")
    assert raised.value.status is None


async def test_callers_share_one_http_client_each_with_its_own_token(
        image: Fixture, active: ImageInfo) -> None:
    """``as_caller``: one shared HTTP client, the caller's token on each request, and
    closing a caller's client leaves the shared one open for the next caller."""
    _, stranger_token = await image.project_user_token("member")
    async with httpx.AsyncClient(base_url="http://image.test",
                                 transport=httpx.ASGITransport(app=image.app)) as shared:
        async with ImageClient.shared(shared, image.identity.admin_token) as admin:
            assert (await admin.get(active.id)).id == active.id
        assert not shared.is_closed
        async with ImageClient.shared(shared, stranger_token) as stranger:
            with pytest.raises(ImageNotFound):
                await stranger.get(active.id)
        assert not shared.is_closed
