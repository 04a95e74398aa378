"""The upload pipeline: every byte hashed and written in order, memory bounded, failures
reported, the file closed by the pipeline in every case."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from pathlib import Path

import pytest

from ownstack.image.pipeline import BATCH, IN_FLIGHT, UploadPipeline


def create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


@pytest.mark.parametrize("direct", [True, False])
async def test_bytes_and_hashes_whatever_the_pieces(tmp_path: Path, direct: bool) -> None:
    data = os.urandom(2 * BATCH + 4096 * 3 + 17)     # full batches, aligned part and tail
    path = tmp_path / "image"
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    fd = create(path)
    pipeline = UploadPipeline(fd, [md5, sha512], direct=direct)
    for at in range(0, len(data), 300_001):
        await pipeline.feed(data[at:at + 300_001])
    await pipeline.finish()
    assert path.read_bytes() == data
    assert md5.hexdigest() == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert sha512.hexdigest() == hashlib.sha512(data).hexdigest()
    assert not is_open(fd)


async def test_a_slow_stage_holds_the_loop_back_at_the_ring_size(tmp_path: Path) -> None:
    """Memory stays flat: with every batch in flight, feed() waits instead of buffering."""
    gate = threading.Event()

    class SlowHash:
        name = "slow"

        def update(self, data: memoryview) -> None:
            gate.wait()

    pipeline = UploadPipeline(create(tmp_path / "image"), [SlowHash()])
    batch = b"x" * BATCH
    for _ in range(IN_FLIGHT):
        await pipeline.feed(batch)
    blocked = asyncio.create_task(pipeline.feed(batch))
    await asyncio.sleep(0.2)
    assert not blocked.done()
    gate.set()
    await asyncio.wait_for(blocked, 10)
    await pipeline.finish()
    assert (tmp_path / "image").stat().st_size == (IN_FLIGHT + 1) * BATCH


async def test_a_failing_stage_is_raised_and_the_file_closed(tmp_path: Path) -> None:
    class BrokenHash:
        name = "broken"

        def update(self, data: memoryview) -> None:
            raise ValueError("hash failed")

    fd = create(tmp_path / "image")
    pipeline = UploadPipeline(fd, [BrokenHash()])
    with pytest.raises(ValueError, match="hash failed"):
        for _ in range(IN_FLIGHT + 2):       # the error shows when a batch is reused
            await pipeline.feed(b"y" * BATCH)
        await pipeline.finish()
    await pipeline.abandon()
    assert not is_open(fd)


async def test_a_write_error_is_raised_by_finish(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "image", os.O_RDONLY | os.O_CREAT, 0o640)   # cannot write
    pipeline = UploadPipeline(fd, [hashlib.md5(usedforsecurity=False)])
    await pipeline.feed(b"z" * 100)
    with pytest.raises(OSError):
        await pipeline.finish()
    assert not is_open(fd)


async def test_abandon_drops_queued_batches_and_closes(tmp_path: Path) -> None:
    gate = threading.Event()
    hashed: list[int] = []

    class GatedHash:
        name = "gated"

        def update(self, data: memoryview) -> None:
            gate.wait()
            hashed.append(len(data))

    fd = create(tmp_path / "image")
    pipeline = UploadPipeline(fd, [GatedHash()])
    for _ in range(IN_FLIGHT):
        await pipeline.feed(b"w" * BATCH)
    abandoning = asyncio.create_task(pipeline.abandon())
    await asyncio.sleep(0)              # abandon() has told the stages before it waits
    gate.set()
    await abandoning
    assert hashed in ([], [BATCH])      # at most the batch that was being hashed
    assert not is_open(fd)
