"""An upload's bytes hashed and written to disk in worker threads, while the next arrive.

The event loop copies the request body into batches of :data:`BATCH` bytes. Each full
batch goes to one thread per hash (md5, sha512, and sha256 when one was declared) and to
one writer thread, each of which takes the GIL only to start and finish its batch:
hashlib and ``os.write`` release it while they work, so on two cores md5 and sha512 run
side by side, as fast as the machine hashes. The batches are a ring of
:data:`IN_FLIGHT`: when every one is still being hashed or written, the loop stops
reading the body, so the client is slowed down and an upload holds 16 MiB whatever its
size.

The writer writes with ``O_DIRECT`` where the file system allows it: the bytes go from
the batch straight to the disk, without a copy into the page cache. Here that copy (and
the writeback of a gigabyte of dirty pages that the final fsync then waits for) cost
about as much CPU as receiving the bytes. Batches are page-aligned anonymous memory and
whole multiples of the block size, as ``O_DIRECT`` requires; the tail of the last batch,
and every write on a file system that refuses ``O_DIRECT``, go through the page cache.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import mmap
import os
import queue
import threading
import traceback
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Protocol

BATCH = 4 << 20          # bytes hashed and written per call, a multiple of _BLOCK
IN_FLIGHT = 4            # batches an upload holds at most
_BLOCK = 4096            # O_DIRECT's alignment of memory, offsets and lengths


class Hasher(Protocol):
    @property
    def name(self) -> str: ...

    def update(self, data: memoryview, /) -> None: ...


class _Batch:
    """One ring slot: ``length`` bytes of ``memory``, handed to every stage at once."""

    def __init__(self) -> None:
        self.memory = mmap.mmap(-1, BATCH)       # page-aligned, as O_DIRECT wants
        self.length = 0
        self._pending = 0
        self._lock = threading.Lock()

    def hand_out(self, stages: int) -> None:
        self._pending = stages

    def release(self) -> bool:
        """A stage is done with the batch; True for the last one."""
        with self._lock:
            self._pending -= 1
            return self._pending == 0

    def view(self) -> memoryview:
        return memoryview(self.memory)[:self.length]


class _Stage(threading.Thread):
    """One consumer of every batch, in order, in its own thread.

    After a failure it stops working but keeps releasing batches, so the loop never
    waits for a batch that will not come back; :attr:`error` holds what went wrong.
    """

    def __init__(self, name: str, work: Callable[[memoryview], None],
                 released: Callable[[_Batch], None], on_exit: Callable[[], None]) -> None:
        super().__init__(name=f"ownstack-image-{name}", daemon=True)
        self.inbox: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.abandoned = False
        self._work = work
        self._released = released
        self._on_exit = on_exit

    def run(self) -> None:
        try:
            while (batch := self.inbox.get()) is not None:
                if self.error is None and not self.abandoned:
                    try:
                        with batch.view() as data:
                            self._work(data)
                    except BaseException as exc:       # reported by finish()
                        # Its frames hold views of the batch, which could then not be
                        # unmapped; the traceback's lines stay.
                        traceback.clear_frames(exc.__traceback__)
                        self.error = exc
                self._released(batch)
        finally:
            self._on_exit()


class _DirectWriter:
    """Writes batches at the end of ``fd``, with ``O_DIRECT`` while that works."""

    def __init__(self, fd: int, *, direct: bool) -> None:
        self.fd = fd
        self.direct = direct and _set_direct(fd, True)

    def write(self, data: memoryview) -> None:
        aligned = len(data) - len(data) % _BLOCK
        if self.direct and aligned != len(data):     # the last batch's tail
            self._write_all(data[:aligned])
            data = data[aligned:]
            self._buffered()
        self._write_all(data)

    def _write_all(self, data: memoryview) -> None:
        while data:
            try:
                written = os.write(self.fd, data)
            except OSError as exc:
                # Alignment the device wants but we did not give (or a short write that
                # left the offset unaligned): the page cache takes any write.
                if exc.errno != errno.EINVAL or not self.direct:
                    raise
                self._buffered()
                continue
            data = data[written:]

    def _buffered(self) -> None:
        if self.direct:
            _set_direct(self.fd, False)
            self.direct = False


class UploadPipeline:
    """Hashes with each of ``hashers`` and writes to ``fd`` every byte :meth:`feed` gets.

    The pipeline owns ``fd`` from here on: its writer thread fsyncs it after the last
    batch (:meth:`finish`) and closes it in every case, so the file is never closed
    under a write in flight. ``direct=False`` writes through the page cache only.
    """

    def __init__(self, fd: int, hashers: Sequence[Hasher], *, direct: bool = True) -> None:
        self._finishing = self._stopped = False
        try:
            self._loop = asyncio.get_running_loop()
            self._ring = [_Batch() for _ in range(IN_FLIGHT)]
            self._free: asyncio.Queue[_Batch] = asyncio.Queue()
            for batch in self._ring:
                self._free.put_nowait(batch)
            self._batch: _Batch | None = None
            self._writer = _DirectWriter(fd, direct=direct)
            self._exits: list[asyncio.Future[None]] = []
            self._stages = [self._stage(hasher.name, hasher.update) for hasher in hashers]
            self._stages.append(self._stage("writer", self._writer.write,
                                            on_exit=self._close_file))
            for stage in self._stages:      # the writer, which closes the file, last
                stage.start()
        except BaseException:
            # No writer thread runs (its start is the last step), so the file is ours to
            # close; the stages that did start end at the sentinel.
            for stage in getattr(self, "_stages", []):
                stage.inbox.put(None)
            os.close(fd)
            raise

    @property
    def direct(self) -> bool:
        """Whether the writes so far went around the page cache."""
        return self._writer.direct

    async def feed(self, chunk: bytes) -> None:
        """Take ``chunk``; waits while every batch is in flight. Raises what a stage
        raised as soon as it is known."""
        data = memoryview(chunk)
        while data:
            if self._batch is None:
                self._batch = await self._free.get()
                self._batch.length = 0
                self._raise_failure()
            batch = self._batch
            take = min(len(data), BATCH - batch.length)
            batch.memory[batch.length:batch.length + take] = data[:take]
            batch.length += take
            data = data[take:]
            if batch.length == BATCH:
                self._hand_out(batch)

    async def finish(self) -> None:
        """Process the last batch, fsync and close the file, and raise what any stage
        raised. The hashers' digests are final once this returns."""
        if self._batch is not None and self._batch.length:
            self._hand_out(self._batch)
        self._finishing = True
        self._stop(abandon=False)
        await asyncio.gather(*self._exits)
        self._unmap()
        self._raise_failure()

    async def abandon(self) -> None:
        """Drop what is still queued and wait for the threads (the file is closed by
        the writer, unsynced). Safe to call after :meth:`finish` too."""
        self._stop(abandon=True)
        await asyncio.wait(self._exits)
        self._unmap()

    def _stage(self, name: str, work: Callable[[memoryview], None],
               on_exit: Callable[[], None] | None = None) -> _Stage:
        exited: asyncio.Future[None] = self._loop.create_future()
        self._exits.append(exited)

        def exit_() -> None:
            try:
                if on_exit is not None:
                    on_exit()
            finally:
                self._call_in_loop(exited.set_result, None)

        return _Stage(name, work, self._released, exit_)

    def _hand_out(self, batch: _Batch) -> None:
        batch.hand_out(len(self._stages))
        for stage in self._stages:
            stage.inbox.put(batch)
        self._batch = None

    def _released(self, batch: _Batch) -> None:
        if batch.release():
            self._call_in_loop(self._free.put_nowait, batch)

    def _stop(self, *, abandon: bool) -> None:
        for stage in self._stages:
            stage.abandoned = stage.abandoned or abandon
        if not self._stopped:
            self._stopped = True
            for stage in self._stages:
                stage.inbox.put(None)

    def _unmap(self) -> None:
        """Give the batches' memory back now (the threads are gone), not at the next
        garbage collection: the stages and the pipeline refer to each other."""
        for batch in self._ring:
            with suppress(BufferError):     # still viewed: freed when the view goes
                batch.memory.close()

    def _close_file(self) -> None:
        """In the writer's thread, after its last batch: fsync (when finishing without
        an error), then close."""
        writer = self._stages[-1]
        try:
            if self._finishing and writer.error is None and not writer.abandoned:
                try:
                    os.fsync(self._writer.fd)
                except OSError as exc:
                    writer.error = exc
        finally:
            os.close(self._writer.fd)

    def _raise_failure(self) -> None:
        for stage in self._stages:
            if stage.error is not None:
                raise stage.error

    def _call_in_loop(self, callback: Callable[..., object], *args: object) -> None:
        with suppress(RuntimeError):        # the loop is closed: nobody is waiting
            self._loop.call_soon_threadsafe(callback, *args)


def _set_direct(fd: int, on: bool) -> bool:
    """Turn ``O_DIRECT`` on or off for ``fd``; False where the file system refuses it."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    wanted = flags | os.O_DIRECT if on else flags & ~os.O_DIRECT
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, wanted)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        return False
    return on
