"""A cold migration's disk, carried from the source's compute agent to the destination's
over the bus (decision 56). Agents reach nothing but the bus, so the destination *pulls*,
in calls on the source's own topic (``compute.<source>``):

* ``migration_disk_info`` ``{uuid}``: the source's driver names the powered-off guest's
  disk (:meth:`~ownstack.compute.drivers.base.ComputeDriver.disk_to_move`); the answer is
  its size and SHA-256, or ``{"size": null}`` when there is nothing to move (the
  destination then spawns from the image alone);
* ``migration_disk_chunk`` ``{uuid, offset, length}``: ``length`` bytes (at most
  :data:`CHUNK_MAX`) from ``offset``, base64 in the JSON the bus carries, with their own
  SHA-256.

The destination writes the chunks to ``.<uuid>.part`` in its *incoming* directory,
checks each against its digest and the whole against the info's, fsyncs it, and only then
renames it ``<uuid>.qcow2`` (and fsyncs the directory). A file under that name is therefore
always complete and checked; a pull cut short (either agent killed, the bus gone) leaves at
most a ``.part``, which the next pull starts over and the destination's resync removes once
no migration to this host wants it (:func:`prune`). The source reads its disk and never
writes it: it keeps the guest, powered off, until the migration is confirmed.

A chunk is 1 MiB: about 1.4 MB of JSON per answer, far under RabbitMQ's message limit
(16 MiB by default since 4.0, 128 MiB before) and small enough that the source's topic,
whose messages are handled one at a time, stays responsive between chunks.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Final

from ownstack.common.bus import Bus, BusError, Payload, RemoteError
from ownstack.compute import rpc
from ownstack.compute.drivers.base import ComputeDriver

log = logging.getLogger(__name__)

CHUNK_SIZE: Final = 1024 * 1024
CHUNK_MAX: Final = 4 * 1024 * 1024
CALL_TIMEOUT = 30.0     # seconds for one answer of the source
PRUNE_GRACE: Final = 60.0   # seconds a file nobody wants is kept after its last write
INFO: Final = "migration_disk_info"
CHUNK: Final = "migration_disk_chunk"
# What the source answers when its guest or its disk is not there to be read: waiting
# does not bring them back.
_SOURCE_GONE: Final = frozenset({"GuestNotFound", "InvalidGuestState", "UnknownMethod",
                                 "FileNotFoundError"})


class TransferFailed(Exception):
    """The disk did not arrive whole. ``retryable``: the bus or the source agent did not
    answer (it may be restarting); otherwise the disk cannot be had or came corrupt."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        self.reason = reason
        self.retryable = retryable
        super().__init__(reason)


# -- the source --------------------------------------------------------------------------


class DiskSource:
    """The source agent's answers to the two calls, read from its driver's disk file."""

    def __init__(self, driver: ComputeDriver) -> None:
        self.driver = driver
        self._digests: dict[tuple[str, int, int], str] = {}

    async def info(self, payload: Payload) -> dict[str, Any]:
        path = await self.driver.disk_to_move(str(payload["uuid"]))
        if path is None:
            return {"size": None, "sha256": None}
        size, digest = await asyncio.to_thread(self._describe, path)
        return {"size": size, "sha256": digest}

    async def chunk(self, payload: Payload) -> dict[str, Any]:
        offset, length = int(payload["offset"]), int(payload["length"])
        if offset < 0 or not 0 < length <= CHUNK_MAX:
            raise ValueError(f"a chunk is 1 to {CHUNK_MAX} bytes at an offset >= 0, not "
                             f"{length} at {offset}")
        path = await self.driver.disk_to_move(str(payload["uuid"]))
        if path is None:
            raise FileNotFoundError(f"guest {payload['uuid']} has no disk to move")
        data = await asyncio.to_thread(_read, path, offset, length)
        return {"data": base64.b64encode(data).decode("ascii"),
                "sha256": hashlib.sha256(data).hexdigest()}

    def _describe(self, path: Path) -> tuple[int, str]:
        """Size and SHA-256 of ``path``; the digest is kept while the file is unchanged
        (a destination that pulls again costs no second read). Blocking."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._digests:
            self._digests = {key: _sha256_of(path)}     # one disk moves at a time, mostly
        return stat.st_size, self._digests[key]


def _read(path: Path, offset: int, length: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_SIZE):
            digest.update(block)
    return digest.hexdigest()


# -- the destination ---------------------------------------------------------------------


def received(directory: Path, uuid: str) -> Path:
    """Where a complete, checked disk of ``uuid`` waits for its spawn."""
    return directory / f"{uuid}.qcow2"


def partial(directory: Path, uuid: str) -> Path:
    """Where a pull of ``uuid`` writes until the whole disk is checked."""
    return directory / f".{uuid}.part"


async def pull(bus: Bus, source_host: str, uuid: str, directory: Path, *,
               chunk_size: int = CHUNK_SIZE, timeout: float | None = None) -> Path | None:
    """The guest's disk from ``source_host``, complete and checked, at
    :func:`received`; ``None`` when the source has no disk to move. A disk received
    already (by a pass that was killed before it spawned) is not pulled again. Raises
    :class:`TransferFailed`."""
    done = received(directory, uuid)
    if await asyncio.to_thread(done.is_file):
        return done
    topic = rpc.compute_topic(source_host)
    timeout = CALL_TIMEOUT if timeout is None else timeout
    info = await _call(bus, topic, INFO, {"uuid": uuid}, timeout)
    if info.get("size") is None:
        return None
    size, want = int(info["size"]), str(info["sha256"])
    part = partial(directory, uuid)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    handle = await asyncio.to_thread(part.open, "wb")
    try:
        digest = hashlib.sha256()
        offset = 0
        while offset < size:
            length = min(chunk_size, size - offset)
            answer = await _call(bus, topic, CHUNK,
                                 {"uuid": uuid, "offset": offset, "length": length}, timeout)
            data = _checked(answer, offset, length)
            await asyncio.to_thread(handle.write, data)
            digest.update(data)
            offset += length
        if digest.hexdigest() != want:
            raise TransferFailed(f"the disk of {uuid} from {source_host} does not match its "
                                 f"checksum (sha256 {digest.hexdigest()}, not {want})",
                                 retryable=False)
        await asyncio.to_thread(_flush, handle)
    except BaseException:
        await asyncio.to_thread(_discard, handle, part)
        raise
    try:
        await asyncio.to_thread(_publish, part, done)
    except OSError as exc:      # the .part removed meanwhile (a prune): pull again
        raise TransferFailed(f"the disk of {uuid} could not be put in place: {exc}",
                             retryable=True) from None
    log.info("instance %s: disk received from %s (%d bytes, sha256 %s)", uuid, source_host,
             size, want)
    return done


async def _call(bus: Bus, topic: str, method: str, payload: Payload,
                timeout: float) -> dict[str, Any]:
    try:
        answer = await bus.call(topic, method, payload, timeout=timeout)
    except RemoteError as exc:
        raise TransferFailed(f"{topic} answered {method} with {exc}",
                             retryable=exc.kind not in _SOURCE_GONE) from None
    except BusError as exc:
        raise TransferFailed(f"{topic} did not answer {method}: {exc}",
                             retryable=True) from None
    if not isinstance(answer, dict):
        raise TransferFailed(f"{topic} answered {method} with {answer!r}", retryable=False)
    return answer


def _checked(answer: dict[str, Any], offset: int, length: int) -> bytes:
    """The chunk's bytes, refused unless they are ``length`` bytes matching their digest."""
    try:
        data = base64.b64decode(str(answer["data"]), validate=True)
    except (KeyError, binascii.Error, ValueError):
        raise TransferFailed(f"the chunk at {offset} is not base64", retryable=False) from None
    if len(data) != length or hashlib.sha256(data).hexdigest() != answer.get("sha256"):
        raise TransferFailed(f"the chunk at {offset} ({len(data)} of {length} bytes) does not "
                             f"match its checksum", retryable=False)
    return data


def _flush(handle: Any) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _discard(handle: Any, part: Path) -> None:
    handle.close()
    part.unlink(missing_ok=True)


def _publish(part: Path, done: Path) -> None:
    """Rename the checked file into place, durably: the rename reaches the disk before the
    agent goes on to use it."""
    os.replace(part, done)
    descriptor = os.open(done.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def prune(directory: Path, wanted: set[str], *, now: float | None = None,
          grace: float = PRUNE_GRACE) -> list[str]:
    """Remove every received or partial disk whose instance is not in ``wanted`` (no
    migration to this host waits for it any more: reverted, failed, or spawned) and that
    nobody wrote for ``grace`` seconds: ``wanted`` was read at some moment, and a pull
    that began just after it (the migration handed over meanwhile) is left alone. Returns
    the names removed. Blocking."""
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    for path in entries:
        uuid = path.name.lstrip(".").split(".", 1)[0]
        with contextlib.suppress(FileNotFoundError):
            if uuid not in wanted and now - path.stat().st_mtime > grace:
                path.unlink()
                removed.append(path.name)
    return removed
