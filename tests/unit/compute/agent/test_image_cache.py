"""The host's image cache: verified downloads, reuse, one download at a time, pruning."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.agent import IMAGE_DATA, FakeGlance
from ownstack.compute.agent.image_cache import ImageCache, ImageFetchFailed


@pytest.fixture
def glance() -> FakeGlance:
    glance = FakeGlance()
    glance.add("img-1", properties={"hw_disk_bus": "virtio", "os_distro": "cirros",
                                    "hw_qemu_guest_agent": True})
    return glance


@pytest.fixture
async def cache(tmp_path: Path, glance: FakeGlance) -> AsyncIterator[ImageCache]:
    client = glance.client()
    yield ImageCache(tmp_path / "images", client)
    await client.aclose()


async def test_fetch_downloads_once_then_reuses_the_verified_file(
        cache: ImageCache, glance: FakeGlance) -> None:
    first = await cache.fetch("img-1")
    assert first.path == cache.directory / "img-1"
    assert first.path.read_bytes() == IMAGE_DATA
    assert first.disk_format == "qcow2"
    assert first.properties["hw_disk_bus"] == "virtio"
    assert first.properties["hw_qemu_guest_agent"] == "true"
    second = await cache.fetch("img-1")
    assert second == first
    assert glance.downloads == ["img-1"]


async def test_concurrent_fetches_of_one_image_download_it_once(
        cache: ImageCache, glance: FakeGlance) -> None:
    glance.delay = 0.05
    refs = await asyncio.gather(*(cache.fetch("img-1") for _ in range(5)))
    assert {ref.path for ref in refs} == {cache.directory / "img-1"}
    assert glance.downloads == ["img-1"]


async def test_a_touched_file_is_rehashed_and_kept_when_it_still_matches(
        cache: ImageCache, glance: FakeGlance) -> None:
    ref = await cache.fetch("img-1")
    os.utime(ref.path, ns=(1, 1))
    await cache.fetch("img-1")
    assert glance.downloads == ["img-1"]


async def test_a_corrupted_file_is_downloaded_again(cache: ImageCache,
                                                   glance: FakeGlance) -> None:
    ref = await cache.fetch("img-1")
    ref.path.write_bytes(b"X" * len(IMAGE_DATA))     # same size, other bytes, new mtime
    again = await cache.fetch("img-1")
    assert again.path.read_bytes() == IMAGE_DATA
    assert glance.downloads == ["img-1", "img-1"]


async def test_a_file_without_its_record_is_not_trusted(cache: ImageCache,
                                                        glance: FakeGlance) -> None:
    """A crash between the download's rename and the record: the restarted process
    downloads again."""
    ref = await cache.fetch("img-1")
    (cache.directory / "img-1.json").unlink()
    restarted = ImageCache(cache.directory, cache.client)
    await restarted.fetch("img-1")
    assert ref.path.read_bytes() == IMAGE_DATA
    assert len(glance.downloads) == 2
    assert (cache.directory / "img-1.json").exists()


async def test_reuse_reads_no_record_and_writes_last_used_at_most_once_a_minute(
        cache: ImageCache, glance: FakeGlance, monkeypatch: pytest.MonkeyPatch) -> None:
    await cache.fetch("img-1")
    record = cache.directory / "img-1.json"
    written = json.loads(record.read_text())["last_used"]
    record.write_text("not json")       # proves the next fetch does not read it
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 30)
    assert (await cache.fetch("img-1")).path.read_bytes() == IMAGE_DATA
    assert record.read_text() == "not json"
    monkeypatch.setattr(time, "time", lambda: now + 61)
    await cache.fetch("img-1")
    assert json.loads(record.read_text())["last_used"] == now + 61 > written
    assert glance.downloads == ["img-1"]


async def test_an_unknown_image_is_a_final_failure(cache: ImageCache) -> None:
    with pytest.raises(ImageFetchFailed) as caught:
        await cache.fetch("nope")
    assert not caught.value.retryable
    assert "No image found with ID nope" in caught.value.reason


async def test_an_image_without_data_is_a_final_failure(cache: ImageCache,
                                                        glance: FakeGlance) -> None:
    glance.add("queued", data=None, status="queued")
    with pytest.raises(ImageFetchFailed) as caught:
        await cache.fetch("queued")
    assert not caught.value.retryable
    assert not list(cache.directory.iterdir())


async def test_data_that_does_not_match_its_hash_is_refused_and_leaves_nothing(
        cache: ImageCache, glance: FakeGlance) -> None:
    glance.images["img-1"].served = b"Y" * len(IMAGE_DATA)
    with pytest.raises(ImageFetchFailed) as caught:
        await cache.fetch("img-1")
    assert not caught.value.retryable
    assert "expected" in caught.value.reason
    assert not list(cache.directory.iterdir())


async def test_an_image_service_failure_may_be_retried(cache: ImageCache,
                                                       glance: FakeGlance) -> None:
    glance.broken = True
    with pytest.raises(ImageFetchFailed) as caught:
        await cache.fetch("img-1")
    assert caught.value.retryable


@pytest.mark.parametrize("image_id", ["../etc", ".hidden", "a/b", ""])
async def test_an_image_id_that_is_not_a_file_name_is_refused(cache: ImageCache,
                                                              image_id: str) -> None:
    with pytest.raises(ImageFetchFailed):
        await cache.fetch(image_id)


async def test_prune_removes_old_unused_images_only(cache: ImageCache,
                                                    glance: FakeGlance) -> None:
    for image_id in ("old", "in-use", "recent"):
        glance.add(image_id)
        await cache.fetch(image_id)
    for image_id in ("old", "in-use"):          # last used 1000 seconds ago
        record = cache.directory / f"{image_id}.json"
        record.write_text(json.dumps({**json.loads(record.read_text()),
                                      "last_used": time.time() - 1000}))
    stale_part = cache.directory / "gone.part"  # a download cut short by a crash
    stale_part.write_bytes(b"half")
    os.utime(stale_part, (1, 1))
    (cache.directory / "lost.json").write_text("{}")    # a record without its file
    cache = ImageCache(cache.directory, cache.client)   # as after a restart
    cache.set_in_use("node-a", {"in-use"})
    assert sorted(await cache.prune(500)) == ["gone", "lost", "old"]
    left = sorted(p.name for p in cache.directory.iterdir())
    assert left == ["in-use", "in-use.json", "recent", "recent.json"]
    assert (await cache.fetch("old")).path.exists()      # and it comes back on demand
    assert glance.downloads.count("old") == 2


async def test_prune_keeps_what_any_agent_declares_in_use(cache: ImageCache,
                                                          glance: FakeGlance) -> None:
    glance.add("img-2")
    await cache.fetch("img-1")
    await cache.fetch("img-2")
    cache.set_in_use("node-1", {"img-1"})
    cache.set_in_use("node-2", {"img-2"})
    assert await cache.prune(0, now=time.time() + 10) == []
    cache.set_in_use("node-2", set())
    assert await cache.prune(0, now=time.time() + 10) == ["img-2"]
    assert not (cache.directory / "img-2").exists()
    assert (cache.directory / "img-1").exists()


async def test_prune_goes_by_the_last_use_this_process_saw(cache: ImageCache) -> None:
    """A use newer than the record on disk (written at most once a minute) keeps it."""
    await cache.fetch("img-1")
    record = cache.directory / "img-1.json"
    record.write_text(json.dumps({**json.loads(record.read_text()),
                                  "last_used": time.time() - 1000}))
    assert await cache.prune(500) == []
    assert await cache.prune(500, now=time.time() + 1000) == ["img-1"]
