"""Image files on local disk: one file per image under ``svc.store_dir``, named by its id.

An upload is written to a hidden temporary file in the same directory
(``.<image id>.<random>.part``), hashed while it streams, fsynced, and only then renamed
over ``<image id>`` by :func:`commit`. So a reader never sees a partial file, and a crash
at any point leaves at worst a ``.part`` file and an image in ``saving``, both of which
:func:`recover_interrupted_uploads` clears at the next start.

Nothing here blocks the event loop: file writes, reads, hashing, fsync, rename and unlink
run in worker threads, in batches of a few MiB, and no function holds a whole image in
memory (at most two batches per upload).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import PayloadTooLarge
from ownstack.image.errors import BadImageData
from ownstack.image.objects.uploads import requeue_all_saving

log = logging.getLogger("ownstack.image.store")

READ_CHUNK = 1 << 20          # download chunks
WRITE_BATCH = 2 << 20         # upload bytes gathered before one round of thread work
PART_SUFFIX = ".part"


class StoreOwner(Protocol):
    """What the store needs from the image service (kept narrow for unit tests)."""

    store_dir: Path

    def write(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass(frozen=True)
class StoredData:
    """An upload written and verified, still under its temporary name ``path``."""

    size: int
    md5: str
    sha512: str
    path: Path


def image_path(svc: StoreOwner, image_id: str) -> Path:
    return svc.store_dir / image_id


async def write_image_data(svc: StoreOwner, image_id: str, chunks: AsyncIterator[bytes], *,
                           expected_size: int | None, expected_md5: str | None,
                           max_size: int, expected_sha256: str | None = None) -> StoredData:
    """Stream ``chunks`` into a new temporary file and return its size and hashes.

    Raises :class:`PayloadTooLarge` as soon as the data passes ``max_size`` bytes, and
    :class:`BadImageData` when it differs from ``expected_size`` / ``expected_md5`` /
    ``expected_sha256`` (those left ``None`` are not checked). On any failure, client
    disconnects and cancellation included, the temporary file is gone before this returns.
    """
    path = svc.store_dir / f".{image_id}.{secrets.token_hex(8)}{PART_SUFFIX}"
    file = await asyncio.to_thread(_create, path)
    writer = _Writer(file, sha256=expected_sha256 is not None)
    try:
        size = 0
        batch: list[bytes] = []
        batched = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_size:
                raise PayloadTooLarge(f"The incoming image is too large: it exceeds the "
                                      f"limit of {max_size} bytes.")
            if expected_size is not None and size > expected_size:
                raise BadImageData(f"The request body is longer than its Content-Length "
                                   f"of {expected_size} bytes.")
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                await writer.submit(batch)
                batch, batched = [], 0
        await writer.submit(batch)
        await writer.drain()
        if expected_size is not None and size != expected_size:
            raise BadImageData(f"The request body has {size} bytes, but its Content-Length "
                               f"is {expected_size}.")
        await asyncio.to_thread(os.fsync, file.fileno())
        stored = StoredData(size=size, md5=writer.md5.hexdigest(),
                            sha512=writer.sha512.hexdigest(), path=path)
        _check_hash("md5", stored.md5, expected_md5)
        if writer.sha256 is not None:
            _check_hash("sha256", writer.sha256.hexdigest(), expected_sha256)
    except BaseException:
        await writer.abandon()
        await discard(path)
        raise
    finally:
        file.close()
    return stored


async def commit(path: Path, image_id: str) -> Path:
    """Atomically move a verified upload to its final name (replacing any old file)."""
    final = path.with_name(image_id)
    await asyncio.to_thread(_rename_durably, path, final)
    return final


async def discard(path: Path) -> None:
    """Remove a temporary upload; a file already gone is fine."""
    await asyncio.to_thread(_unlink, path)


async def delete_image_file(svc: StoreOwner, image_id: str) -> None:
    """Remove an image's data; an image that never had data is fine."""
    await asyncio.to_thread(_unlink, image_path(svc, image_id))


async def open_range(svc: StoreOwner, image_id: str, start: int, end: int) -> FileRange:
    """The image's bytes ``[start, end)``, as an async iterator of chunks of at most 1 MiB.

    The file is opened before this returns, so a missing file raises
    :class:`FileNotFoundError` here rather than in the middle of a response, and a
    download that started survives a concurrent delete of the image.
    """
    file = await asyncio.to_thread(_open_at, image_path(svc, image_id), start)
    return FileRange(file, end - start, image_id)


class FileRange:
    """An open file's byte range, read in a worker thread one chunk at a time.

    The file is closed when the range is exhausted, on a read error, and by
    :meth:`aclose` (call it when the range will not be read, e.g. for ``HEAD``).
    """

    def __init__(self, file: BinaryIO, length: int, image_id: str) -> None:
        self._file = file
        self._remaining = length
        self._image_id = image_id

    def __aiter__(self) -> FileRange:
        return self

    async def __anext__(self) -> bytes:
        if self._remaining <= 0:
            await self.aclose()
            raise StopAsyncIteration
        try:
            chunk = await asyncio.to_thread(self._file.read, min(READ_CHUNK, self._remaining))
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            log.error("image %s: its file ended %d bytes early", self._image_id,
                      self._remaining)
            raise OSError(f"image {self._image_id}: data file is shorter than recorded")
        self._remaining -= len(chunk)
        return chunk

    async def aclose(self) -> None:
        self._file.close()


async def recover_interrupted_uploads(svc: StoreOwner) -> None:
    """Called at start: no upload is running, so anything in flight was interrupted.

    Images left in ``saving`` go back to ``queued`` (their data, if the crash came between
    the rename and the database commit, is removed) and every stray ``.part`` file goes.
    """
    async with svc.write() as db:
        ids = await requeue_all_saving(db)
    parts = await asyncio.to_thread(_remove_parts, svc.store_dir)
    for image_id in ids:
        await delete_image_file(svc, image_id)
    if ids or parts:
        log.warning("recovered %d interrupted upload(s): images %s are queued again; "
                    "removed %d partial file(s)", len(ids), ", ".join(ids) or "-", parts)


class _Writer:
    """Writes and hashes one upload's batches in worker threads, one batch in flight.

    The md5, sha512 (and optional sha256) updates and the file write of a batch run in
    parallel threads (hashlib releases the GIL), while the event loop receives the next
    batch. A batch in flight is shielded from cancellation, so :meth:`abandon` can wait
    for it before the file is closed.
    """

    def __init__(self, file: BinaryIO, *, sha256: bool) -> None:
        self.file = file
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.sha256 = hashlib.sha256() if sha256 else None
        self._pending: asyncio.Future[list[None]] | None = None

    async def submit(self, batch: list[bytes]) -> None:
        await self.drain()
        if not batch:
            return
        jobs = [asyncio.to_thread(_write_all, self.file, batch),
                asyncio.to_thread(_hash_all, self.md5, batch),
                asyncio.to_thread(_hash_all, self.sha512, batch)]
        if self.sha256 is not None:
            jobs.append(asyncio.to_thread(_hash_all, self.sha256, batch))
        self._pending = asyncio.gather(*jobs)

    async def drain(self) -> None:
        if self._pending is not None:
            pending = self._pending
            await asyncio.shield(pending)
            self._pending = None

    async def abandon(self) -> None:
        """Wait for the batch in flight, whatever its outcome."""
        if self._pending is not None:
            await asyncio.wait([self._pending])
            if not self._pending.cancelled():
                self._pending.exception()     # retrieved: no "never retrieved" warning
            self._pending = None


def _check_hash(name: str, actual: str, expected: str | None) -> None:
    if expected is not None and actual != expected.strip().lower():
        raise BadImageData(f"The uploaded data has {name} {actual}, but {expected} was "
                           f"declared (owner_specified.openstack.{name}).")


def _create(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
    return os.fdopen(fd, "wb", buffering=0)


def _write_all(file: BinaryIO, batch: Iterable[bytes]) -> None:
    for chunk in batch:
        view = memoryview(chunk)
        while view:
            written = file.write(view)
            if written is None:      # pragma: no cover - only for non-blocking files
                continue
            view = view[written:]


def _hash_all(hasher: Any, batch: Iterable[bytes]) -> None:
    for chunk in batch:
        hasher.update(chunk)


def _rename_durably(source: Path, target: Path) -> None:
    os.replace(source, target)
    fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


def _remove_parts(store_dir: Path) -> int:
    removed = 0
    for part in store_dir.glob(f".*{PART_SUFFIX}"):
        _unlink(part)
        removed += 1
    return removed


def _open_at(path: Path, offset: int) -> BinaryIO:
    file = open(path, "rb", buffering=0)  # noqa: SIM115 - FileRange closes it
    try:
        file.seek(offset)
    except BaseException:
        file.close()
        raise
    return file
