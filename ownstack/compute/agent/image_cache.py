"""The host's cache of base images, shared by every driver and every agent of one machine.

A guest boots from an overlay on a base file, so the base file is downloaded once per host
and kept while any guest of the host may need it. The layout is flat and self-describing::

    <dir>/<image_id>        the image's data, exactly as the image service stores it
    <dir>/<image_id>.json   what was verified: size, hash, disk format, properties, and
                            when a guest last asked for it

The record is written only after :meth:`ImageClient.download` checked the size and hash
the image service recorded, so a base file without one (a crash between the two) is not
trusted and is downloaded again. On reuse the file is re-hashed only if its size or mtime
changed since it was verified: hashing a multi-GiB base file on every boot would cost more
than the boot.

One download per image at a time (a per-image lock): two guests booting from one new image
wait for one download, and :meth:`ImageClient.download`'s ``.part`` file is never shared.

Records verified by this process are kept in memory too, so a boot from a cached image
costs one ``stat`` of the base file (in a worker thread, like all of this module's file
I/O) rather than reading and rewriting its record. The record's ``last_used`` on disk is
refreshed at most every :data:`LAST_USED_RESOLUTION` seconds (pruning works in days), and
:meth:`ImageCache.prune` goes by the newer of the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ownstack.common.clients.image import (
    ImageClient,
    ImageClientError,
    ImageDataMismatch,
    ImageInfo,
)
from ownstack.compute.drivers.base import ImageRef

log = logging.getLogger(__name__)

_IMAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")
_RECORD_SUFFIX = ".json"
_PART_SUFFIX = ".part"
_HASH_CHUNK = 1024 * 1024
LAST_USED_RESOLUTION = 60.0     # seconds the record's last_used on disk may lag behind


class ImageFetchFailed(Exception):
    """The image could not be put in the cache.

    ``retryable`` is ``False`` when the image itself is at fault (gone, not active, data
    that does not match its hash), so another host would fail the same way; ``True`` when
    the image service was unreachable or failed on its side.
    """

    def __init__(self, reason: str, *, retryable: bool) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


@dataclass
class _Record:
    """The ``<image_id>.json`` beside a verified base file."""

    id: str
    disk_format: str
    size: int
    hash_algo: str | None
    hash_value: str | None
    mtime_ns: int
    last_used: float
    properties: dict[str, str] = field(default_factory=dict)

    def image_ref(self, path: Path) -> ImageRef:
        return ImageRef(self.id, path, self.disk_format, dict(self.properties))


class ImageCache:
    """Base images of one host: :meth:`fetch` for a boot, :meth:`prune` for housekeeping."""

    def __init__(self, directory: Path, client: ImageClient) -> None:
        self.directory = directory
        self.client = client
        self._locks: dict[str, asyncio.Lock] = {}
        self._in_use: dict[str, frozenset[str]] = {}
        self._records: dict[str, _Record] = {}     # verified here, as last written
        self._used: dict[str, float] = {}          # last use, newer than on disk
        self.downloads = 0      # how many downloads this cache made: for tests and logs

    def path(self, image_id: str) -> Path:
        if not _IMAGE_ID.fullmatch(image_id):
            raise ImageFetchFailed(f"Image id {image_id!r} is not a valid image id.",
                                   retryable=False)
        return self.directory / image_id

    def _lock(self, image_id: str) -> asyncio.Lock:
        return self._locks.setdefault(image_id, asyncio.Lock())

    async def fetch(self, image_id: str) -> ImageRef:
        """The image in the cache, verified; downloaded first if it is not there yet.

        Raises :class:`ImageFetchFailed`. Also marks the image as just used, so
        :meth:`prune` keeps it for another ``max_age``.
        """
        path = self.path(image_id)
        async with self._lock(image_id):
            now = time.time()
            record = await self._unchanged(image_id, path)
            if record is None:
                record = await asyncio.to_thread(_load_verified, path)
                if record is None:
                    record = await self._download(image_id, path)
                record.last_used = 0.0      # new to this process: written below
            self._used[image_id] = now
            if now - record.last_used >= LAST_USED_RESOLUTION:
                record.last_used = now
                await asyncio.to_thread(_write_record, path, record)
            self._records[image_id] = record
            return record.image_ref(path)

    async def _unchanged(self, image_id: str, path: Path) -> _Record | None:
        """The record this process verified, if the base file has not changed since."""
        record = self._records.get(image_id)
        if record is None:
            return None
        stat = await asyncio.to_thread(_stat, path)
        if stat is None or (stat.st_size, stat.st_mtime_ns) != (record.size, record.mtime_ns):
            del self._records[image_id]
            return None
        return record

    async def _download(self, image_id: str, path: Path) -> _Record:
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        self.downloads += 1
        started = time.perf_counter()
        try:
            info = await self.client.download(image_id, path)
        except ImageDataMismatch as exc:
            raise ImageFetchFailed(exc.message, retryable=False) from exc
        except ImageClientError as exc:
            # No status: unreachable; 5xx: the image service's own failure. Both may pass.
            retryable = exc.status is None or exc.status >= 500
            raise ImageFetchFailed(exc.message, retryable=retryable) from exc
        record = await asyncio.to_thread(_new_record, path, info)
        log.info("image %s cached (%d bytes in %.2fs)", image_id, record.size,
                 time.perf_counter() - started)
        return record

    def set_in_use(self, owner: str, image_ids: Iterable[str]) -> None:
        """Declare the images ``owner`` (an agent, by node) has guests on: never pruned."""
        self._in_use[owner] = frozenset(image_ids)

    def in_use(self) -> frozenset[str]:
        return frozenset().union(*self._in_use.values())

    async def prune(self, max_age: float, *, now: float | None = None) -> list[str]:
        """Remove base files unused for more than ``max_age`` seconds; return their ids.

        An image declared in use (:meth:`set_in_use`) or being fetched is kept whatever
        its age. Files nobody vouches for (no record, or a stale ``.part`` left by a
        crash) go once they are older than ``max_age`` too.
        """
        cutoff = (time.time() if now is None else now) - max_age
        keep = self.in_use()
        removed: list[str] = []
        for image_id, last_used in await asyncio.to_thread(_scan, self.directory):
            last_used = max(last_used, self._used.get(image_id, 0.0))
            lock = self._lock(image_id)
            if image_id in keep or last_used >= cutoff or lock.locked():
                continue
            async with lock:
                await asyncio.to_thread(_remove, self.directory, image_id)
            self._locks.pop(image_id, None)
            self._records.pop(image_id, None)
            self._used.pop(image_id, None)
            removed.append(image_id)
            log.info("image %s removed from the cache: unused since %s", image_id,
                     time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last_used)))
        return removed


# --- blocking helpers, run in worker threads ---------------------------------------------


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + _RECORD_SUFFIX)


def _read_record(path: Path) -> _Record | None:
    try:
        data: dict[str, Any] = json.loads(_record_path(path).read_text())
        return _Record(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_record(path: Path, record: _Record) -> None:
    target = _record_path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(asdict(record), sort_keys=True))
    os.replace(tmp, target)


def _load_verified(path: Path) -> _Record | None:
    """The record of a base file that still matches it, or ``None`` (download again)."""
    record = _read_record(path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    if record is None or stat.st_size != record.size:
        return None
    if stat.st_mtime_ns == record.mtime_ns:
        return record
    # Touched since it was verified: believe only its hash.
    if record.hash_algo is None or _hash_file(path, record.hash_algo) != record.hash_value:
        log.warning("cached image %s does not match its recorded hash; fetching it again",
                    record.id)
        return None
    record.mtime_ns = stat.st_mtime_ns
    return record


def _new_record(path: Path, info: ImageInfo) -> _Record:
    if info.os_hash_value and info.os_hash_algo in hashlib.algorithms_available:
        algo, value = info.os_hash_algo, info.os_hash_value
    elif info.checksum:
        algo, value = "md5", info.checksum
    else:
        algo, value = None, None
    stat = path.stat()
    return _Record(id=info.id, disk_format=info.disk_format or "raw", size=stat.st_size,
                   hash_algo=algo, hash_value=value, mtime_ns=stat.st_mtime_ns,
                   last_used=time.time(), properties=_string_properties(info.properties))


def _string_properties(properties: Mapping[str, Any]) -> dict[str, str]:
    """Glance's free-form properties a driver may read (``hw_*``, ``os_*``): strings only."""
    return {key: value if isinstance(value, str) else json.dumps(value)
            for key, value in properties.items()
            if isinstance(value, (str, int, float, bool))}


def _hash_file(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _scan(directory: Path) -> list[tuple[str, float]]:
    """``(image_id, last used)`` of every cached file; files without a record are judged
    by their mtime."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    present = set(names)
    found: dict[str, float] = {}
    for name in names:
        if name.endswith(".tmp"):
            continue
        if name.endswith(_RECORD_SUFFIX):
            image_id = name.removesuffix(_RECORD_SUFFIX)
            if image_id not in present:     # a record whose base file is gone
                found[image_id] = 0.0
            continue
        image_id = name.removesuffix(_PART_SUFFIX)
        path = directory / name
        record = _read_record(directory / image_id)
        if record is not None and not name.endswith(_PART_SUFFIX):
            found[image_id] = record.last_used
        else:
            with contextlib.suppress(FileNotFoundError):
                found[image_id] = max(found.get(image_id, 0.0), path.stat().st_mtime)
    return sorted(found.items())


def _remove(directory: Path, image_id: str) -> None:
    for suffix in ("", _RECORD_SUFFIX, _PART_SUFFIX):
        with contextlib.suppress(FileNotFoundError):
            (directory / (image_id + suffix)).unlink()
