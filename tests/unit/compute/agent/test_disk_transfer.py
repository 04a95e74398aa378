"""A cold migration's disk pulled over the bus (disk_transfer.py): the source's answers
and the destination's pull, on the in-process bus (whose messages are JSON, as
RabbitMQ's). The file arrives in chunks and only whole and checked under its final name; a
corrupt chunk, a whole that does not match, a source that is gone or silent: no file is
left that a spawn could take for the disk."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from ownstack.common.bus import InProcessBus, Payload
from ownstack.compute.agent import disk_transfer
from ownstack.compute.agent.disk_transfer import DiskSource, TransferFailed
from ownstack.compute.drivers.base import ComputeDriver, GuestNotFound, InvalidGuestState
from ownstack.compute.states import PowerState

SOURCE = "node-a"
UUID = "11111111-2222-3333-4444-555555555555"
CHUNK = 1000


class Disks:
    """The part of a driver the source uses: a disk file per powered-off guest."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.running: set[str] = set()

    async def disk_to_move(self, uuid: str) -> Path | None:
        if uuid in self.running:
            raise InvalidGuestState(uuid, PowerState.RUNNING, "move the disk of")
        if uuid not in self.files:
            raise GuestNotFound(uuid)
        return self.files[uuid]


class Source:
    """The source agent's topic, answering the two calls (``tamper`` may change an
    answer on its way), counting the chunks it served."""

    def __init__(self, disks: Disks) -> None:
        self.disks = DiskSource(cast(ComputeDriver, disks))
        self.chunks = 0
        self.tamper: Any = None

    async def handle(self, method: str, payload: Payload) -> Any:
        if method == disk_transfer.INFO:
            answer = await self.disks.info(payload)
        else:
            self.chunks += 1
            answer = await self.disks.chunk(payload)
        return self.tamper(method, answer) if self.tamper else answer


@pytest.fixture
async def bus() -> AsyncIterator[InProcessBus]:
    bus = InProcessBus()
    await bus.start()
    yield bus
    await bus.close()


@pytest.fixture
def disk(tmp_path: Path) -> bytes:
    return os.urandom(3 * CHUNK + 500)      # three whole chunks and a short last one


async def serve(bus: InProcessBus, tmp_path: Path, data: bytes) -> tuple[Source, Disks]:
    disks = Disks()
    disks.files[UUID] = tmp_path / "source" / "disk.qcow2"
    disks.files[UUID].parent.mkdir()
    disks.files[UUID].write_bytes(data)
    source = Source(disks)
    await bus.serve(f"compute.{SOURCE}", source.handle)
    return source, disks


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def test_the_disk_arrives_in_chunks_whole_and_checked(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    source, _ = await serve(bus, tmp_path, disk)
    incoming = tmp_path / "incoming"
    path = await disk_transfer.pull(bus, SOURCE, UUID, incoming, chunk_size=CHUNK)
    assert path == incoming / f"{UUID}.qcow2"
    assert path.read_bytes() == disk
    assert source.chunks == 4
    assert leftovers(incoming) == [f"{UUID}.qcow2"]     # no .part left behind


async def test_a_received_disk_is_not_pulled_again(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    source, _ = await serve(bus, tmp_path, disk)
    incoming = tmp_path / "incoming"
    await disk_transfer.pull(bus, SOURCE, UUID, incoming, chunk_size=CHUNK)
    again = await disk_transfer.pull(bus, SOURCE, UUID, incoming, chunk_size=CHUNK)
    assert again is not None and again.read_bytes() == disk and source.chunks == 4


async def test_a_pull_cut_short_is_started_over_and_never_used(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    """What a SIGKILL of the destination leaves, half a ``.part``, is not the disk: the
    next pull writes the whole file again from its first byte."""
    source, _ = await serve(bus, tmp_path, disk)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    disk_transfer.partial(incoming, UUID).write_bytes(disk[:CHUNK] + b"garbage" * 500)
    path = await disk_transfer.pull(bus, SOURCE, UUID, incoming, chunk_size=CHUNK)
    assert path is not None and path.read_bytes() == disk and source.chunks == 4
    assert leftovers(incoming) == [f"{UUID}.qcow2"]


async def test_a_corrupt_chunk_is_refused_and_nothing_is_kept(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    source, _ = await serve(bus, tmp_path, disk)

    def flip_a_byte_of_the_third_chunk(method: str, answer: dict[str, Any]) -> Any:
        if method == disk_transfer.CHUNK and source.chunks == 3:
            data = bytearray(disk_transfer.base64.b64decode(answer["data"]))
            data[10] ^= 0xFF
            answer = {**answer, "data": disk_transfer.base64.b64encode(data).decode()}
        return answer

    source.tamper = flip_a_byte_of_the_third_chunk
    incoming = tmp_path / "incoming"
    with pytest.raises(TransferFailed, match=r"chunk at 2000 .* does not match") as caught:
        await disk_transfer.pull(bus, SOURCE, UUID, incoming, chunk_size=CHUNK)
    assert not caught.value.retryable and source.chunks == 3
    assert leftovers(incoming) == []


async def test_a_short_chunk_is_refused(bus: InProcessBus, tmp_path: Path,
                                        disk: bytes) -> None:
    source, _ = await serve(bus, tmp_path, disk)

    def cut(method: str, answer: dict[str, Any]) -> Any:
        if method == disk_transfer.CHUNK:
            data = disk_transfer.base64.b64decode(answer["data"])[:-1]
            return {"data": disk_transfer.base64.b64encode(data).decode(),
                    "sha256": hashlib.sha256(data).hexdigest()}
        return answer

    source.tamper = cut
    with pytest.raises(TransferFailed, match="999 of 1000 bytes"):
        await disk_transfer.pull(bus, SOURCE, UUID, tmp_path / "incoming", chunk_size=CHUNK)
    assert leftovers(tmp_path / "incoming") == []


async def test_a_whole_that_does_not_match_its_checksum_is_refused(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    source, _ = await serve(bus, tmp_path, disk)
    source.tamper = lambda method, answer: {**answer, "sha256": "0" * 64} \
        if method == disk_transfer.INFO else answer
    with pytest.raises(TransferFailed, match="does not match its checksum") as caught:
        await disk_transfer.pull(bus, SOURCE, UUID, tmp_path / "incoming", chunk_size=CHUNK)
    assert not caught.value.retryable and source.chunks == 4
    assert leftovers(tmp_path / "incoming") == []


async def test_a_silent_source_is_retried_and_leaves_no_disk(
        bus: InProcessBus, tmp_path: Path) -> None:
    with pytest.raises(TransferFailed, match="did not answer") as caught:
        await disk_transfer.pull(bus, SOURCE, UUID, tmp_path / "incoming", timeout=0.05)
    assert caught.value.retryable
    assert leftovers(tmp_path / "incoming") == []


async def test_a_source_whose_guest_is_gone_or_running_is_a_failure(
        bus: InProcessBus, tmp_path: Path, disk: bytes) -> None:
    _, disks = await serve(bus, tmp_path, disk)
    disks.running.add(UUID)
    with pytest.raises(TransferFailed, match="InvalidGuestState") as caught:
        await disk_transfer.pull(bus, SOURCE, UUID, tmp_path / "incoming")
    assert not caught.value.retryable
    with pytest.raises(TransferFailed, match="GuestNotFound") as caught:
        await disk_transfer.pull(bus, SOURCE, "another-guest", tmp_path / "incoming")
    assert not caught.value.retryable


async def test_a_guest_without_a_disk_file_pulls_nothing(bus: InProcessBus,
                                                        tmp_path: Path) -> None:
    """The fake driver's guests: the destination spawns from the image alone."""
    class NoDisks(Disks):
        async def disk_to_move(self, uuid: str) -> Path | None:
            return None

    source = Source(NoDisks())
    await bus.serve(f"compute.{SOURCE}", source.handle)
    assert await disk_transfer.pull(bus, SOURCE, UUID, tmp_path / "incoming") is None
    assert source.chunks == 0


async def test_the_source_serves_bounded_chunks_only(tmp_path: Path, disk: bytes) -> None:
    disks = Disks()
    disks.files[UUID] = tmp_path / "disk"
    disks.files[UUID].write_bytes(disk)
    source = DiskSource(cast(ComputeDriver, disks))
    for offset, length in ((0, 0), (0, disk_transfer.CHUNK_MAX + 1), (-1, 10)):
        with pytest.raises(ValueError, match="a chunk is 1 to"):
            await source.chunk({"uuid": UUID, "offset": offset, "length": length})
    info = await source.info({"uuid": UUID})
    assert info == {"size": len(disk), "sha256": hashlib.sha256(disk).hexdigest()}


def test_prune_keeps_only_disks_a_migration_waits_for(tmp_path: Path) -> None:
    wanted, gone = UUID, "99999999-2222-3333-4444-555555555555"
    for name in (f"{wanted}.qcow2", f".{gone}.part", f"{gone}.qcow2"):
        (tmp_path / name).write_bytes(b"x")
    later = time.time() + disk_transfer.PRUNE_GRACE + 1
    # Just written: a pull that began after ``wanted`` was read is left alone.
    assert disk_transfer.prune(tmp_path, {wanted}) == []
    assert sorted(disk_transfer.prune(tmp_path, {wanted}, now=later)) == [
        f".{gone}.part", f"{gone}.qcow2"]
    assert leftovers(tmp_path) == [f"{wanted}.qcow2"]
    assert disk_transfer.prune(tmp_path / "missing", set()) == []
