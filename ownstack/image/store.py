"""Image files on local disk: one file per image under ``svc.store_dir``, named by its id.

An upload is written to a hidden temporary file in the same directory
(``.<image id>.<random>.part``), hashed while it streams (:mod:`.pipeline`), fsynced, and
only then renamed over ``<image id>`` by :func:`commit`. So a reader never sees a partial
file, and a crash at any point leaves at worst a ``.part`` file and an image in
``saving``, both of which :func:`recover_interrupted_uploads` clears at the next start.

Nothing here blocks the event loop: file writes, reads, hashing, fsync, rename and unlink
run in worker threads, and no function holds a whole image in memory (an upload holds
``IN_FLIGHT`` batches of ``BATCH`` bytes, a download two chunks of ``READ_CHUNK``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mmap
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import PayloadTooLarge
from ownstack.image.errors import BadImageData
from ownstack.image.objects.uploads import requeue_all_saving
from ownstack.image.pipeline import UploadPipeline

log = logging.getLogger("ownstack.image.store")

READ_CHUNK = 4 << 20          # download chunks
_MADV_POPULATE_READ = 22      # Linux 5.14; Python 3.11's mmap module does not name it
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
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    sha256 = hashlib.sha256() if expected_sha256 is not None else None
    hashers = [md5, sha512] if sha256 is None else [md5, sha512, sha256]
    fd = await asyncio.to_thread(_create, path)
    pipeline: UploadPipeline | None = None
    try:
        pipeline = UploadPipeline(fd, hashers)      # it closes fd, whatever happens
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > max_size:
                raise PayloadTooLarge(f"The incoming image is too large: it exceeds the "
                                      f"limit of {max_size} bytes.")
            if expected_size is not None and size > expected_size:
                raise BadImageData(f"The request body is longer than its Content-Length "
                                   f"of {expected_size} bytes.")
            await pipeline.feed(chunk)
        if expected_size is not None and size != expected_size:
            raise BadImageData(f"The request body has {size} bytes, but its Content-Length "
                               f"is {expected_size}.")
        await pipeline.finish()
        stored = StoredData(size=size, md5=md5.hexdigest(), sha512=sha512.hexdigest(),
                            path=path)
        _check_hash("md5", stored.md5, expected_md5)
        if sha256 is not None:
            _check_hash("sha256", sha256.hexdigest(), expected_sha256)
    except BaseException:
        await discard(path)     # first: whatever comes next may be cancelled in turn
        if pipeline is not None:
            await pipeline.abandon()
        raise
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
    """The image's bytes ``[start, end)``, as an async iterator of chunks of at most
    :data:`READ_CHUNK` bytes.

    The file is opened before this returns, so a missing file raises
    :class:`FileNotFoundError` here rather than in the middle of a response, and a
    download that started survives a concurrent delete of the image.
    """
    file = await asyncio.to_thread(open, image_path(svc, image_id), "rb", buffering=0)
    return FileRange(file, start, end, image_id)


class FileRange:
    """An image file's byte range, sent from memory maps of the file.

    The socket then copies the bytes straight from the page cache, where ``read()`` would
    first copy every chunk into Python memory: that halves the CPU a download costs. Each
    chunk's pages are faulted in by a worker thread (``MADV_POPULATE_READ``) before the
    event loop sends them, the next chunk while the one before is being sent, so the loop
    does not wait for the disk (unless memory is so short that the kernel drops a page in
    between: that page is then read in the loop). A chunk is unmapped once the server has
    sent it and let it go, so memory stays flat. Image files are never truncated in place
    (an upload renames a new file over the old), so a mapped page cannot vanish under the
    sender.

    The file is closed when the range is exhausted, on an error, and by :meth:`aclose`
    (call it when the range will not be read, e.g. for ``HEAD``).
    """

    def __init__(self, file: BinaryIO, start: int, end: int, image_id: str) -> None:
        self._file = file
        self._position = start
        self._end = end
        self._image_id = image_id
        self._ahead: asyncio.Future[memoryview] | None = None

    def __aiter__(self) -> FileRange:
        return self

    async def __anext__(self) -> memoryview:
        if self._position >= self._end:
            await self.aclose()
            raise StopAsyncIteration
        mapping, self._ahead = self._ahead or self._map_next(), None
        try:
            chunk = await mapping
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            log.error("image %s: its file ended %d bytes early", self._image_id,
                      self._end - self._position)
            raise OSError(f"image {self._image_id}: data file is shorter than recorded")
        self._position += len(chunk)
        if self._position < self._end:
            self._ahead = self._map_next()
        return chunk

    async def aclose(self) -> None:
        """Close the file, once no mapping of it is being made."""
        mapping, self._ahead = self._ahead, None
        if mapping is not None:
            await asyncio.wait([mapping])
            if not mapping.cancelled():
                mapping.exception()         # retrieved: the range is being dropped
        self._file.close()

    def _map_next(self) -> asyncio.Future[memoryview]:
        return asyncio.ensure_future(asyncio.to_thread(
            _map_chunk, self._file, self._position, min(READ_CHUNK, self._end - self._position)))


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


def _check_hash(name: str, actual: str, expected: str | None) -> None:
    if expected is not None and actual != expected.strip().lower():
        raise BadImageData(f"The uploaded data has {name} {actual}, but {expected} was "
                           f"declared (owner_specified.openstack.{name}).")


def _create(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)


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


def _map_chunk(file: BinaryIO, offset: int, length: int) -> memoryview:
    """``length`` bytes of ``file`` from ``offset`` (fewer where the file ends first), as a
    view of a read-only mapping whose pages are already in memory."""
    skew = offset % mmap.ALLOCATIONGRANULARITY
    length = min(length, os.fstat(file.fileno()).st_size - offset)
    if length <= 0:
        return memoryview(b"")
    mapping = mmap.mmap(file.fileno(), skew + length, prot=mmap.PROT_READ,
                        offset=offset - skew)
    try:
        mapping.madvise(_MADV_POPULATE_READ)
    except OSError:         # a kernel before 5.14: start the reads, at least
        mapping.madvise(mmap.MADV_WILLNEED)
    return memoryview(mapping)[skew:]
