"""The image file store: hashes while streaming, nothing left behind, crash recovery."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ownstack.common.db.engine import make_engine, make_sessionmaker
from ownstack.common.errors import PayloadTooLarge
from ownstack.image import store
from ownstack.image.errors import BadImageData
from ownstack.image.objects.models import Image

IMAGE_ID = "3f0e2a6c-4d52-4b8e-9d0a-111111111111"


class FakeService:
    """What the store needs of the image service: a directory and write sessions."""

    def __init__(self, store_dir: Path, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.store_dir = store_dir
        self.sessions = sessions

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as db, db.begin():
            yield db


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[FakeService]:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Image.metadata.tables["image_image"].create)
    store_dir = tmp_path / "images"
    store_dir.mkdir()
    yield FakeService(store_dir, make_sessionmaker(engine))
    await engine.dispose()


async def stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def pieces(data: bytes, sizes: Iterable[int]) -> list[bytes]:
    """``data`` cut into chunks of the given sizes, repeated, as a network delivers it."""
    out: list[bytes] = []
    at, sizes = 0, list(sizes)
    while at < len(data):
        size = sizes[len(out) % len(sizes)]
        out.append(data[at:at + size])
        at += size
    return out


def files(svc: FakeService) -> list[str]:
    return sorted(os.listdir(svc.store_dir))


async def write(svc: FakeService, chunks: Iterable[bytes], *, expected_size: int | None = None,
                expected_md5: str | None = None, expected_sha256: str | None = None,
                max_size: int = 1 << 30) -> store.StoredData:
    return await store.write_image_data(
        svc, IMAGE_ID, stream(chunks), expected_size=expected_size, expected_md5=expected_md5,
        expected_sha256=expected_sha256, max_size=max_size)


async def test_hashes_are_those_of_hashlib_over_many_batches(svc: FakeService) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)      # more than two write batches
    stored = await write(svc, pieces(data, [65536, 1, 300000, 4096]),
                         expected_size=len(data))
    assert stored.size == len(data)
    assert stored.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert stored.sha512 == hashlib.sha512(data).hexdigest()
    assert stored.path.name.startswith(f".{IMAGE_ID}.") and stored.path.suffix == ".part"
    final = await store.commit(stored.path, IMAGE_ID)
    assert files(svc) == [IMAGE_ID]
    assert final.read_bytes() == data


async def test_empty_upload_is_an_empty_file(svc: FakeService) -> None:
    stored = await write(svc, [], expected_size=0)
    assert (stored.size, stored.md5) == (0, hashlib.md5(b"", usedforsecurity=False).hexdigest())


async def test_declared_hashes_are_checked(svc: FakeService) -> None:
    data = b"some image bytes" * 1000
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    stored = await write(svc, [data], expected_md5=md5.upper(), expected_sha256=sha256)
    assert stored.md5 == md5
    await store.discard(stored.path)
    with pytest.raises(BadImageData, match="md5"):
        await write(svc, [data], expected_md5="0" * 32)
    with pytest.raises(BadImageData, match="sha256"):
        await write(svc, [data], expected_sha256="0" * 64)
    assert files(svc) == []


@pytest.mark.parametrize(("declared", "match"), [(10, "longer"), (1000, "has 100 bytes")])
async def test_size_mismatch_leaves_no_part_file(svc: FakeService, declared: int,
                                                 match: str) -> None:
    with pytest.raises(BadImageData, match=match) as caught:
        await write(svc, [b"x" * 50, b"y" * 50], expected_size=declared)
    assert caught.value.status == 400
    assert files(svc) == []


async def test_too_large_stops_reading_and_leaves_nothing(svc: FakeService) -> None:
    read = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            read.append(1)
            yield b"z" * 1024

    with pytest.raises(PayloadTooLarge):
        await store.write_image_data(svc, IMAGE_ID, endless(), expected_size=None,
                                     expected_md5=None, max_size=10 * 1024)
    assert len(read) == 11
    assert files(svc) == []


async def test_failing_client_stream_leaves_nothing(svc: FakeService) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(3 * 1024 * 1024)     # a batch is in flight when the error comes
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.write_image_data(svc, IMAGE_ID, broken(), expected_size=None,
                                     expected_md5=None, max_size=1 << 30)
    assert files(svc) == []


async def test_cancelled_upload_leaves_nothing(svc: FakeService) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield os.urandom(3 * 1024 * 1024)
        started.set()
        await asyncio.Event().wait()
        yield b""                              # pragma: no cover

    task = asyncio.create_task(store.write_image_data(
        svc, IMAGE_ID, stalled(), expected_size=None, expected_md5=None, max_size=1 << 30))
    await started.wait()
    assert len(files(svc)) == 1                # the .part file exists while it streams
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert files(svc) == []


async def test_open_range_reads_exactly_the_range(svc: FakeService) -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    (svc.store_dir / IMAGE_ID).write_bytes(data)
    for first, end in [(0, len(data)), (5, 17), (1024 * 1024 - 1, 2 * 1024 * 1024 + 3),
                       (len(data) - 1, len(data)), (0, 0)]:
        chunks = [c async for c in await store.open_range(svc, IMAGE_ID, first, end)]
        assert b"".join(chunks) == data[first:end]
        assert all(len(c) <= store.READ_CHUNK for c in chunks)


async def test_open_range_of_a_short_file_sends_what_is_there_then_fails(
        svc: FakeService) -> None:
    (svc.store_dir / IMAGE_ID).write_bytes(b"abc")
    chunks = await store.open_range(svc, IMAGE_ID, 1, 10)
    assert bytes(await chunks.__anext__()) == b"bc"
    with pytest.raises(OSError, match="shorter than recorded"):
        await chunks.__anext__()


async def test_open_range_maps_a_chunk_only_until_it_is_released(svc: FakeService) -> None:
    """Memory stays flat during a long download: at most the chunk being sent and the one
    read ahead are mapped, and nothing once the server has let go of the last."""
    data = os.urandom(5 * store.READ_CHUNK + 5)
    path = svc.store_dir / IMAGE_ID
    path.write_bytes(data)

    def mappings() -> int:
        return Path("/proc/self/maps").read_text().count(str(path))

    received, most = bytearray(), 0
    async for chunk in await store.open_range(svc, IMAGE_ID, 1, len(data)):
        received += chunk
        most = max(most, mappings())
        chunk.release()             # what the server does once it has sent a chunk
    assert received == data[1:]
    assert most <= 2
    assert mappings() == 0


async def test_open_range_of_missing_file_fails_before_streaming(svc: FakeService) -> None:
    with pytest.raises(FileNotFoundError):
        await store.open_range(svc, IMAGE_ID, 0, 10)


async def test_unread_range_is_closed_by_aclose(svc: FakeService) -> None:
    (svc.store_dir / IMAGE_ID).write_bytes(b"abc")
    chunks = await store.open_range(svc, IMAGE_ID, 0, 3)
    await chunks.aclose()
    with pytest.raises(ValueError, match="closed file"):
        await chunks.__anext__()


async def test_delete_image_file_of_missing_file_is_fine(svc: FakeService) -> None:
    (svc.store_dir / IMAGE_ID).write_bytes(b"abc")
    await store.delete_image_file(svc, IMAGE_ID)
    await store.delete_image_file(svc, IMAGE_ID)
    assert files(svc) == []


async def test_recovery_requeues_saving_images_and_removes_stray_files(
        svc: FakeService) -> None:
    statuses = {"a" * 36: "saving", "b" * 36: "active", "c" * 36: "queued",
                "d" * 36: "saving"}
    async with svc.write() as db:
        db.add_all([Image(id=i, status=s, properties={}) for i, s in statuses.items()])
    for name in [f".{'a' * 36}.1234.part", f".{'d' * 36}.99.part", "a" * 36, "b" * 36]:
        (svc.store_dir / name).write_bytes(b"partial")

    await store.recover_interrupted_uploads(svc)

    async with svc.sessions() as db:
        rows = {i: s for i, s in await db.execute(select(Image.id, Image.status))}
    assert rows == {"a" * 36: "queued", "b" * 36: "active", "c" * 36: "queued",
                    "d" * 36: "queued"}
    assert files(svc) == ["b" * 36]     # the active image's data stays
