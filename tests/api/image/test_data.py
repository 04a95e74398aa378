"""Image data: PUT and GET /v2/images/{id}/file, in process.

Images here are small (a 1 MiB-virtual qcow2 is ~200 KiB): the in-process transport
buffers whole bodies. The functional suite moves the big ones over real sockets.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.image import create
from helpers.inprocess import ImageClient, make_config, make_image_client
from ownstack.image.objects.models import Image

OCTET = {"Content-Type": "application/octet-stream"}
RAW = os.urandom(300 * 1024 + 5)


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("qcow2") / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1M"], check=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def evil_qcow2(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The classic exploit: a qcow2 whose backing file is a host file."""
    path = tmp_path_factory.mktemp("evil") / "evil"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F",
                    "raw", "-u", str(path), "1M"], check=True)
    return path.read_bytes()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def upload(image: ImageClient, image_id: str, data: Any, *, token: str | None = None,
                 expect: int | None = 204, headers: dict[str, str] | None = None) -> Any:
    return await image.call("PUT", f"/v2/images/{image_id}/file", token=token, content=data,
                            headers={**OCTET, **(headers or {})}, expect=expect)


async def show(image: ImageClient, image_id: str, token: str | None = None
               ) -> dict[str, Any]:
    r = await image.call("GET", f"/v2/images/{image_id}", token=token, expect=200)
    return dict(r.json())


def stored_files(image: ImageClient) -> list[str]:
    return sorted(os.listdir(image.app.svc.store_dir))


async def assert_left_queued(image: ImageClient, image_id: str) -> None:
    body = await show(image, image_id)
    assert (body["status"], body["size"], body["checksum"]) == ("queued", None, None)
    assert stored_files(image) == []


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at:at + size]


async def test_upload_and_download_round_trip(image: ImageClient, qcow2: bytes) -> None:
    created = await create(image, name="tiny", disk_format="qcow2")
    assert created["status"] == "queued"
    await upload(image, created["id"], qcow2)

    body = await show(image, created["id"])
    assert body["status"] == "active"
    assert body["size"] == len(qcow2)
    assert body["virtual_size"] == 1024 * 1024
    assert body["checksum"] == md5(qcow2)
    assert body["os_hash_algo"] == "sha512"
    assert body["os_hash_value"] == hashlib.sha512(qcow2).hexdigest()
    assert stored_files(image) == [created["id"]]
    async with image.app.svc.read() as db:
        assert (await db.get(Image, created["id"])).detected_format == "qcow2"

    r = await image.call("GET", f"/v2/images/{created['id']}/file", expect=200)
    assert r.content == qcow2
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == str(len(qcow2))
    assert r.headers["content-md5"] == md5(qcow2)


async def test_chunked_upload(image: ImageClient) -> None:
    created = await create(image)
    await upload(image, created["id"], chunks(RAW, 10000))
    body = await show(image, created["id"])
    assert (body["size"], body["checksum"]) == (len(RAW), md5(RAW))
    assert body["os_hash_value"] == hashlib.sha512(RAW).hexdigest()
    r = await image.call("GET", f"/v2/images/{created['id']}/file", expect=200)
    assert r.content == RAW


async def test_range_requests(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW)
    size = len(RAW)
    for header, first, last in [("bytes=0-9", 0, 9), ("bytes=10-", 10, size - 1),
                                ("bytes=-5", size - 5, size - 1),
                                ("bytes=100-999999999", 100, size - 1),
                                (f"bytes=-{size + 10}", 0, size - 1)]:
        r = await image.call("GET", f"/v2/images/{image_id}/file", headers={"Range": header})
        partial = (first, last) != (0, size - 1)
        assert r.status_code == (206 if partial else 200), header
        assert r.content == RAW[first:last + 1], header
        assert r.headers["content-length"] == str(last + 1 - first)
        if partial:
            assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
            assert "content-md5" not in r.headers   # it is the whole image's checksum


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes=-0", "bytes=5-2", "items=0-1",
                                    "bytes=0-1,5-6", "bytes=-"])
async def test_unsatisfiable_range_is_416(image: ImageClient, header: str) -> None:
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW)
    r = await image.call("GET", f"/v2/images/{image_id}/file",
                         headers={"Range": header.format(size=len(RAW))}, expect=416)
    assert r.headers["content-range"] == f"bytes */{len(RAW)}"
    assert r.json()["code"].startswith("416")


async def test_head_sends_the_headers_but_not_the_file(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW)
    r = await image.call("HEAD", f"/v2/images/{image_id}/file", expect=200)
    assert r.content == b""
    assert r.headers["content-length"] == str(len(RAW))
    assert r.headers["content-md5"] == md5(RAW)


async def test_upload_to_an_active_image_is_409(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW)
    r = await upload(image, image_id, b"other bytes", expect=409)
    assert r.json()["message"] == ("Image status transition from active to saving is not "
                                   "allowed")
    assert (await show(image, image_id))["checksum"] == md5(RAW)
    assert (await image.call("GET", f"/v2/images/{image_id}/file")).content == RAW


async def test_download_of_a_queued_image_is_204(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    r = await image.call("GET", f"/v2/images/{image_id}/file", expect=204)
    assert r.content == b""


@pytest.mark.parametrize(("missing", "message"), [
    (("disk_format", "container_format"),
     "Properties disk_format, container_format must be set prior to saving data."),
    (("container_format",), "Property container_format must be set prior to saving data."),
])
async def test_upload_without_formats_is_400(image: ImageClient, missing: tuple[str, ...],
                                             message: str) -> None:
    body: dict[str, Any] = {"name": "formless", "disk_format": "raw",
                            "container_format": "bare"}
    for name in missing:
        body[name] = None
    r = await image.call("POST", "/v2/images", json=body, expect=201)
    image_id = r.json()["id"]
    r = await upload(image, image_id, RAW, expect=400)
    assert r.json()["message"] == message
    await assert_left_queued(image, image_id)


async def test_bad_data_is_400_and_leaves_the_image_queued(image: ImageClient) -> None:
    image_id = (await create(image, disk_format="qcow2"))["id"]
    r = await upload(image, image_id, RAW, expect=400)
    assert r.json()["message"] == ("disk_format qcow2 does not match the data "
                                   "(qemu-img found raw).")
    await assert_left_queued(image, image_id)
    await upload(image, image_id, RAW, expect=400)     # and it can be retried


async def test_raw_image_carrying_a_qcow2_with_a_backing_file_is_refused(
        image: ImageClient, evil_qcow2: bytes) -> None:
    image_id = (await create(image, disk_format="raw"))["id"]
    r = await upload(image, image_id, evil_qcow2, expect=400)
    assert "backing file" in r.json()["message"]
    await assert_left_queued(image, image_id)


async def test_a_failed_upload_can_be_retried(image: ImageClient, qcow2: bytes) -> None:
    image_id = (await create(image, disk_format="qcow2"))["id"]
    await upload(image, image_id, RAW, expect=400)
    await upload(image, image_id, qcow2)
    assert (await show(image, image_id))["status"] == "active"


async def test_body_shorter_than_content_length_is_400(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    r = await upload(image, image_id, RAW, headers={"Content-Length": str(len(RAW) + 10)},
                     expect=400)
    assert "Content-Length" in r.json()["message"]
    await assert_left_queued(image, image_id)


async def test_declared_hashes_must_match(image: ImageClient) -> None:
    props: dict[str, Any] = {"owner_specified.openstack.md5": md5(b"something else"),
             "owner_specified.openstack.sha256": "",
             "owner_specified.openstack.object": "images/x"}
    image_id = (await create(image, **props))["id"]
    r = await upload(image, image_id, RAW, expect=400)
    assert "md5" in r.json()["message"]
    await assert_left_queued(image, image_id)

    props = {"owner_specified.openstack.md5": md5(RAW),
             "owner_specified.openstack.sha256": hashlib.sha256(RAW).hexdigest()}
    image_id = (await create(image, **props))["id"]
    await upload(image, image_id, RAW)


async def test_empty_declared_hashes_are_ignored(image: ImageClient) -> None:
    empty: dict[str, Any] = {"owner_specified.openstack.md5": "",
                             "owner_specified.openstack.sha256": ""}
    image_id = (await create(image, **empty))["id"]
    await upload(image, image_id, RAW)


async def test_only_json_free_octet_streams_are_accepted(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW, headers={"Content-Type": "application/json"},
                 expect=415)
    await assert_left_queued(image, image_id)


async def test_other_projects_cannot_upload(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    private = (await create(image, visibility="private"))["id"]
    await upload(image, private, RAW, token=token, expect=404)
    public = (await create(image, visibility="public"))["id"]
    await upload(image, public, RAW, token=token, expect=403)
    await assert_left_queued(image, public)


async def test_owner_member_can_upload_and_download(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    image_id = (await create(image, token=token))["id"]
    await upload(image, image_id, RAW, token=token)
    r = await image.call("GET", f"/v2/images/{image_id}/file", token=token, expect=200)
    assert r.content == RAW


async def test_deactivated_image_downloads_only_for_admins(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    image_id = (await create(image, token=token))["id"]
    await upload(image, image_id, RAW, token=token)
    await image.call("POST", f"/v2/images/{image_id}/actions/deactivate", token=token,
                     expect=204)
    await image.call("GET", f"/v2/images/{image_id}/file", token=token, expect=403)
    r = await image.call("GET", f"/v2/images/{image_id}/file", expect=200)
    assert r.content == RAW


class Gate:
    """An upload body that sends its first chunk, then waits to be released."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent_first = asyncio.Event()
        self.release = asyncio.Event()

    async def body(self) -> AsyncIterator[bytes]:
        yield self.data[:1000]
        self.sent_first.set()
        await self.release.wait()
        yield self.data[1000:]


async def test_concurrent_uploads_exactly_one_wins(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    gate = Gate(RAW)
    first = asyncio.create_task(upload(image, image_id, gate.body(), expect=None))
    await gate.sent_first.wait()
    assert (await show(image, image_id))["status"] == "saving"
    second = await upload(image, image_id, RAW, expect=409)
    assert second.json()["message"] == ("Image status transition from saving to saving is "
                                        "not allowed")
    gate.release.set()
    assert (await first).status_code == 204
    assert (await show(image, image_id))["checksum"] == md5(RAW)


async def test_racing_uploads_without_a_gate(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    other = os.urandom(1000)
    results = await asyncio.gather(upload(image, image_id, chunks(RAW), expect=None),
                                   upload(image, image_id, chunks(other), expect=None))
    assert sorted(r.status_code for r in results) == [204, 409]
    winner = RAW if results[0].status_code == 204 else other
    assert (await image.call("GET", f"/v2/images/{image_id}/file")).content == winner
    assert stored_files(image) == [image_id]


async def test_image_deleted_during_upload_is_410_and_leaves_nothing(
        image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    gate = Gate(RAW)
    task = asyncio.create_task(upload(image, image_id, gate.body(), expect=None))
    await gate.sent_first.wait()
    await image.call("DELETE", f"/v2/images/{image_id}", expect=204)
    gate.release.set()
    assert (await task).status_code == 410
    assert stored_files(image) == []


async def asgi(image: ImageClient, method: str, path: str,
               messages: list[dict[str, Any]], headers: dict[str, str] | None = None
               ) -> list[dict[str, Any]]:
    """Drive the ASGI app by hand, as a server would, and return what it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    all_headers = {"host": "image.test", "x-auth-token": image.identity.admin_token,
                   **(headers or {})}
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("image.test", 80),
             "client": ("127.0.0.1", 1),
             "headers": [(k.encode(), v.encode()) for k, v in all_headers.items()]}
    await image.app(scope, receive, send)
    return sent


async def test_head_does_not_stream_the_file(image: ImageClient) -> None:
    # httpx drops a HEAD response's body itself, so look at what the app sends.
    image_id = (await create(image))["id"]
    await upload(image, image_id, RAW)
    sent = await asgi(image, "HEAD", f"/v2/images/{image_id}/file",
                      [{"type": "http.request", "body": b"", "more_body": False}])
    assert sent[0]["status"] == 200
    assert (b"content-length", str(len(RAW)).encode()) in sent[0]["headers"]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b""


async def test_client_disconnect_leaves_the_image_queued(image: ImageClient) -> None:
    image_id = (await create(image))["id"]
    sent = await asgi(image, "PUT", f"/v2/images/{image_id}/file",
                      [{"type": "http.request", "body": RAW[:5000], "more_body": True},
                       {"type": "http.disconnect"}],
                      {**OCTET, "transfer-encoding": "chunked"})
    assert sent[0]["status"] == 400
    await assert_left_queued(image, image_id)


async def limited_image(tmp_path: Path, *settings: str) -> AsyncIterator[ImageClient]:
    async for client in make_image_client(make_config(tmp_path, "image.port=15998",
                                                      *settings)):
        yield client


async def test_image_larger_than_max_image_size_is_413(tmp_path: Path) -> None:
    async for image in limited_image(tmp_path, "image.max_image_size_mb=1"):
        image_id = (await create(image))["id"]
        big = os.urandom(1024 * 1024 + 1)
        await upload(image, image_id, big, expect=413)               # Content-Length
        await upload(image, image_id, chunks(big), expect=413)       # found while reading
        await assert_left_queued(image, image_id)
        await upload(image, image_id, big[:1024 * 1024])


async def test_size_quota_is_413(tmp_path: Path) -> None:
    async for image in limited_image(tmp_path, "image.image_size_quota_mb=1"):
        first = (await create(image))["id"]
        await upload(image, first, os.urandom(700 * 1024))
        second = (await create(image))["id"]
        r = await upload(image, second, os.urandom(400 * 1024), expect=413)
        assert "quota" in r.json()["message"]
        await upload(image, second, chunks(os.urandom(400 * 1024)), expect=413)
        assert (await show(image, second))["status"] == "queued"
        assert stored_files(image) == [first]


async def test_saving_is_taken_by_compare_and_swap(image: ImageClient) -> None:
    """Two uploads that both read "queued": the database lets only one take "saving"."""
    from ownstack.image.errors import InvalidImageStatus
    from ownstack.image.objects.uploads import start_saving

    image_id = (await create(image))["id"]
    async with image.app.svc.write() as db:
        await start_saving(db, image_id)
    with pytest.raises(InvalidImageStatus, match="no longer queued"):
        async with image.app.svc.write() as db:
            await start_saving(db, image_id)
