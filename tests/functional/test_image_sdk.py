"""Images through openstacksdk and raw streaming HTTP: data, filters, concurrency, size."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import openstack.exceptions
import pytest

from helpers.image_store import file_hashes, store_files
from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_image_service
from helpers.rss import RssSampler

GiB = 1024 ** 3


@pytest.fixture(autouse=True)
def _image_service_up(cloud: Cloud) -> None:
    wait_for_image_service(cloud)


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_create_with_file_and_download(cloud: Cloud, tmp_path: Path) -> None:
    conn = cloud.sdk()
    src = random_file(tmp_path / "disk.raw", 5 * 1024 * 1024 + 3)
    md5, sha512 = file_hashes(src)
    # validate_checksum: openstacksdk hashes the file, sends the hashes as properties, and
    # after the upload compares them with the checksum the service computed.
    image = conn.create_image(unique("sdk"), filename=str(src), disk_format="raw",
                              container_format="bare", wait=True, validate_checksum=True)
    try:
        fetched = conn.image.get_image(image.id)
        assert fetched.status == "active" and fetched.size == src.stat().st_size
        assert (fetched.checksum, fetched.hash_algo, fetched.hash_value) == (
            md5, "sha512", sha512)
        assert fetched.properties["owner_specified.openstack.md5"] == md5
        assert fetched.properties["owner_specified.openstack.object"] == f"images/{image.name}"

        # download_image checks the md5 (Content-MD5, then the image's checksum) itself.
        copy = tmp_path / "copy.raw"
        conn.image.download_image(fetched, output=str(copy))
        assert copy.read_bytes() == src.read_bytes()
        streamed = conn.image.download_image(fetched, stream=True)
        assert b"".join(streamed.iter_content(1 << 20)) == src.read_bytes()

        # A range, as a resuming client asks for it.
        r = httpx.get(f"{cloud.image_url}/v2/images/{image.id}/file",
                      headers={"X-Auth-Token": cloud.admin_token(), "Range": "bytes=10-19"})
        assert r.status_code == 206 and r.content == src.read_bytes()[10:20]
    finally:
        conn.image.delete_image(image)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.image.get_image(image.id)


def test_list_filters(cloud: Cloud, tmp_path: Path) -> None:
    conn = cloud.sdk()
    src = random_file(tmp_path / "small.raw", 64 * 1024)
    prefix = unique("filter")
    active = conn.create_image(f"{prefix}-active", filename=str(src), disk_format="raw",
                               container_format="bare", tags=["alpha"], wait=True,
                               visibility="private")
    # Without validate_checksum openstacksdk sends its hash properties as empty strings.
    assert conn.image.get_image(active.id).properties["owner_specified.openstack.md5"] == ""
    queued = conn.image.create_image(name=f"{prefix}-queued", disk_format="qcow2",
                                     container_format="bare", tags=["beta"])
    public = conn.image.create_image(name=f"{prefix}-public", disk_format="raw",
                                     container_format="bare", visibility="public")
    ours = {active.id, queued.id, public.id}
    try:
        def ids(**query: Any) -> set[str]:
            return {i.id for i in conn.image.images(**query)} & ours

        assert ids(name=f"{prefix}-active") == {active.id}
        assert ids(status="queued") == {queued.id, public.id}
        assert ids(status="active") == {active.id}
        assert ids(visibility="public") == {public.id}
        assert ids(visibility="private") == {active.id}
        assert ids(visibility="shared") == {queued.id}   # Glance's default visibility
        assert ids(tag="alpha") == {active.id}
        assert ids(tag="beta", status="queued") == {queued.id}
        assert ids(name=f"{prefix}-queued", status="active") == set()
        assert ids(size_min=1, size_max=64 * 1024) == {active.id}
        # openstacksdk has no disk_format query; through its session, as OSC sends it.
        body = conn.image.get("/images", params={"disk_format": "qcow2", "limit": 1000}).json()
        assert {i["id"] for i in body["images"]} & ours == {queued.id}

        # Paging with the sdk's marker-following: every image, once.
        paged = [i.id for i in conn.image.images(limit=1)]
        assert len(paged) == len(set(paged)) and ours <= set(paged)
    finally:
        for image_id in ours:
            conn.image.delete_image(image_id)


def test_concurrent_uploads(cloud: Cloud, tmp_path: Path) -> None:
    files = [random_file(tmp_path / f"disk{i}.raw", 8 * 1024 * 1024 + i) for i in range(4)]
    prefix = unique("parallel")

    def upload(src: Path) -> str:
        conn = cloud.sdk()   # one connection per thread: sessions are not shared
        image = conn.create_image(f"{prefix}-{src.stem}", filename=str(src),
                                  disk_format="raw", container_format="bare")
        return str(image.id)

    with ThreadPoolExecutor(4) as pool:
        image_ids = list(pool.map(upload, files))
    conn = cloud.sdk()
    try:
        for image_id, src in zip(image_ids, files, strict=True):
            image = conn.image.get_image(image_id)
            md5, sha512 = file_hashes(src)
            assert image.status == "active", image
            assert (image.size, image.checksum, image.hash_value) == (
                src.stat().st_size, md5, sha512)
    finally:
        for image_id in image_ids:
            conn.image.delete_image(image_id)


def test_user_cannot_upload_to_someone_elses_image(cloud: Cloud, tmp_path: Path) -> None:
    conn = cloud.sdk()
    image = conn.image.create_image(name=unique("mine"), disk_format="raw",
                                    container_format="bare", visibility="public")
    _, other = member_cloud(cloud, "uploader")
    try:
        r = httpx.put(f"{cloud.image_url}/v2/images/{image.id}/file", content=b"\x00" * 4096,
                      headers={"X-Auth-Token": cloud.sdk(other).auth_token,
                               "Content-Type": "application/octet-stream"})
        assert r.status_code == 403, r.text
        assert conn.image.get_image(image.id).status == "queued"
    finally:
        conn.image.delete_image(image)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            yield chunk


def test_large_upload_and_download_with_bounded_memory(cloud: Cloud, tmp_path: Path) -> None:
    big = tmp_path / "big.raw"
    with open(big, "wb") as handle:
        handle.truncate(GiB)   # sparse: costs no disk on the client side
    md5, sha512 = file_hashes(big)
    token = cloud.admin_token()
    headers = {"X-Auth-Token": token}
    stored_before = store_files(cloud)
    with httpx.Client(base_url=cloud.image_url, headers=headers, timeout=300) as http:
        r = http.post("/v2/images", json={"name": unique("big"), "disk_format": "raw",
                                          "container_format": "bare"})
        assert r.status_code == 201, r.text
        image_id = r.json()["id"]
        try:
            # Chunked: no length declared, so the server cannot size anything up front.
            with RssSampler(cloud.process.pid) as upload_rss:
                r = http.put(f"/v2/images/{image_id}/file", content=_chunks(big),
                             headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 204, r.text
            assert upload_rss.samples > 0
            assert upload_rss.growth_mb < 150, f"upload grew RSS {upload_rss.growth_mb:.0f} MB"

            image = http.get(f"/v2/images/{image_id}").json()
            assert (image["status"], image["size"]) == ("active", GiB)
            assert (image["checksum"], image["os_hash_value"]) == (md5, sha512)
            assert len(store_files(cloud) - stored_before) == 1

            import hashlib

            received = hashlib.md5()  # noqa: S324 - Glance's checksum is md5
            size = 0
            with RssSampler(cloud.process.pid) as download_rss, \
                    http.stream("GET", f"/v2/images/{image_id}/file") as r:
                assert r.status_code == 200
                assert int(r.headers["Content-Length"]) == GiB
                for chunk in r.iter_bytes(1 << 20):
                    received.update(chunk)
                    size += len(chunk)
            assert (size, received.hexdigest()) == (GiB, md5)
            assert download_rss.growth_mb < 150, \
                f"download grew RSS {download_rss.growth_mb:.0f} MB"
            print(f"1 GiB: server RSS growth {upload_rss.growth_mb:.1f} MB on upload, "
                  f"{download_rss.growth_mb:.1f} MB on download")
        finally:
            http.delete(f"/v2/images/{image_id}")
    assert store_files(cloud) == stored_before
