#!/usr/bin/env python3
"""Image benchmark: upload and download of a 1 GiB image against their bounds, in one run.

The targets (issue 12, item 8), each bound measured on this machine in the same run:
  * upload >= 80% of the **hash bound**: the rate at which md5 and sha512, run side by
    side in two threads (hashlib releases the GIL), digest the same bytes in the same
    chunk size as the image store (``ownstack.image.pipeline.BATCH``). Every upload
    computes both hashes, so none can beat this. The bytes are hashed from memory, so the
    bound pays nothing to read them;
  * download >= 80% of **`cat` of the stored file into a socket**: `cat` of the very file
    the upload stored, writing to a loopback TCP connection whose other end reads and
    discards. Downloads are read by the same reader (a loop of ``recv_into`` into a 1 MiB
    buffer, in this process), so both sides pay the same to receive. `cat` copies through
    user space, as the server must (uvicorn has no zero-copy send); ``sendfile`` of the
    same file is shown beside it for reference. The store writes around the page cache,
    so the first download after an upload reads the disk: it has a row of its own, and
    the bounds and the target row run after it, on the file as it is then cached.

Rows (each the median of --repeat runs):
  * the hash bound, and `cp` and `cp` + fsync of the source file for scale;
  * ownstack: `PUT /v2/images/{id}/file` by curl from the file with a declared length (the
    server hashes md5 + sha512, writes and fsyncs, runs qemu-img info), the downloads and
    the `cat` and sendfile bounds; then the same transfers through ``ImageClient`` as the
    compute service makes them (it hashes sha512 on its side too, and fsyncs downloads);
  * Glance 33, when the peer of ``/work/shared/peers`` answers (``setup-openstack-compute-
    peers.sh``: glance-api on 127.0.0.1:39292, uWSGI with 2 workers, file store, MariaDB):
    the same curl upload and the same reader, so both services meet the same clients;
  * for each transfer, the server's CPU time (all its processes; the two cores are shared
    by client and server) and its RSS before and at its peak (sampled every 0.1 s).

The machine's other load shows in every row; the load average at the start is recorded.
It starts its own `ownstack up` with a temporary state directory on free ports, as the
admin, and appends a dated section to bench/results/image.md.

    .venv/bin/python bench/bench_image.py [--size-mb 1024] [--repeat 3] [--workdir DIR]
                                          [--glance-url URL] [--no-glance]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from common import append_results, free_ports, ownstack, rss_mb, run, stop_ownstack

from ownstack.common.clients.image import ImageClient
from ownstack.image.pipeline import BATCH

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "image.md"
PASSWORD = "bench-secret"
MIB = 1 << 20
TARGET = 0.80
TICKS = os.sysconf("SC_CLK_TCK")
PEER_RUN = Path("/tmp/ospeers/run")
PEER_KEYSTONE = "http://127.0.0.1:35357/v3"
PEER_PASSWORD = "secret"      # setup-openstack-peers.sh's admin password

HASH_BOUND = "hash bound: md5 ∥ sha512, two threads"
CAT_SOCKET = "`cat` stored file → socket"
SENDFILE_SOCKET = "sendfile stored file → socket"
UPLOAD = "ownstack upload (curl PUT)"
DOWNLOAD = "ownstack download (GET → reader)"
COLD_DOWNLOAD = "ownstack download, file not cached yet"
GLANCE_UPLOAD = "Glance 33 upload (curl PUT)"
GLANCE_DOWNLOAD = "Glance 33 download (GET → reader)"


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a uWSGI master and its workers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue        # gone since the listing
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += parents.get(current, [])
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and of its waited-for children (qemu-img)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


@dataclass
class Sample:
    seconds: float
    rss_before: float | None = None
    rss_peak: float | None = None
    cpu: float | None = None
    client_cpu: float = 0.0     # this process and the commands it ran (curl, cat, cp)


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Server:
    """The processes of one service under test."""

    root_pids: list[int]
    pids: list[int] = field(default_factory=list)

    def refresh(self) -> None:
        self.pids = [pid for root in self.root_pids for pid in process_tree(root)]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def rss(self) -> float:
        return sum(rss_mb(pid) for pid in self.pids)


class Watch:
    """Wall time of a transfer and, for a server, its RSS peak and CPU time."""

    def __init__(self, server: Server | None) -> None:
        self.server = server
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.sample = Sample(0.0)

    def _sample(self) -> None:
        assert self.server is not None
        while not self._stop.wait(0.1):
            self.sample.rss_peak = max(self.sample.rss_peak or 0.0, self.server.rss())

    def __enter__(self) -> Watch:
        if self.server is not None:
            self.server.refresh()
            self.sample.rss_before = self.sample.rss_peak = self.server.rss()
            self.sample.cpu = self.server.cpu()
            self._thread.start()
        self._started = time.perf_counter()
        self._client_started = own_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample.seconds = time.perf_counter() - self._started
        self.sample.client_cpu = own_cpu() - self._client_started
        if self.server is not None:
            self._stop.set()
            self._thread.join()
            self.sample.rss_peak = max(self.sample.rss_peak or 0.0, self.server.rss())
            self.sample.cpu = self.server.cpu() - (self.sample.cpu or 0.0)


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size // MIB):
            handle.write(os.urandom(MIB))
        handle.write(os.urandom(size % MIB))
        handle.flush()
        os.fsync(handle.fileno())


def read_chunks(path: Path, size: int) -> list[bytes]:
    with open(path, "rb", buffering=0) as handle:
        return list(iter(lambda: handle.read(size), b""))


def hash_side_by_side(chunks: list[bytes]) -> None:
    """md5 and sha512 over ``chunks``, each in its own thread, as the store runs them."""
    def digest(algorithm: str) -> None:
        hasher = hashlib.new(algorithm)
        for chunk in chunks:
            hasher.update(chunk)
        hasher.hexdigest()

    threads = [threading.Thread(target=digest, args=(name,)) for name in ("md5", "sha512")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def receive_all(sock: socket.socket, expected: int | None = None) -> int:
    """Read and discard until EOF or ``expected`` bytes: the reader of every download."""
    buffer = memoryview(bytearray(MIB))
    received = 0
    while expected is None or received < expected:
        count = sock.recv_into(buffer)
        if not count:
            break
        received += count
    return received


@contextmanager
def socket_pair() -> Iterator[tuple[socket.socket, threading.Thread, list[int]]]:
    """A loopback TCP connection whose far end a thread reads and discards to EOF."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        received: list[int] = []

        def read() -> None:
            conn, _ = listener.accept()
            with conn:
                received.append(receive_all(conn))

        reader = threading.Thread(target=read)
        reader.start()
        sender = socket.create_connection(listener.getsockname())
        try:
            yield sender, reader, received
        finally:
            sender.close()
            reader.join()


def cat_into_socket(path: Path, size: int) -> None:
    with socket_pair() as (sender, reader, received):
        subprocess.run(["cat", str(path)], stdout=sender.fileno(), check=True)
        sender.shutdown(socket.SHUT_WR)
        reader.join()
    if received != [size]:
        raise RuntimeError(f"cat sent {received} bytes of {size}")


def sendfile_into_socket(path: Path, size: int) -> None:
    with socket_pair() as (sender, reader, received), open(path, "rb") as source:
        sender.sendfile(source)
        sender.shutdown(socket.SHUT_WR)
        reader.join()
    if received != [size]:
        raise RuntimeError(f"sendfile sent {received} bytes of {size}")


def http_download(url: str, token: str, size: int) -> None:
    """``GET url`` over a raw socket; the body goes to :func:`receive_all`."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80)) as sock:
        sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     f"X-Auth-Token: {token}\r\nConnection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            more = sock.recv(65536)
            if not more:
                raise RuntimeError(f"GET {url}: connection closed in the headers")
            head += more
        head, body = head.split(b"\r\n\r\n", 1)
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise RuntimeError(f"GET {url}: HTTP {status.decode()}")
        received = len(body) + receive_all(sock, size - len(body))
    if received != size:
        raise RuntimeError(f"GET {url}: {received} bytes of {size}")


def curl_upload(url: str, token: str, src: Path) -> None:
    # No "Expect: 100-continue" round trip: the body follows the headers at once.
    status = run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", str(src),
                  "-H", f"X-Auth-Token: {token}", "-H", "Content-Type: application/octet-stream",
                  "-H", "Expect:", url]).stdout
    if status != "204":
        raise RuntimeError(f"PUT {url}: HTTP {status}")


def password_token(identity_url: str, password: str) -> str:
    r = httpx.post(f"{identity_url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}, timeout=30)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


@dataclass
class ImageService:
    """An Image v2 endpoint under test: ownstack's or the peer Glance."""

    url: str
    token: str
    server: Server
    upload_row: str
    download_row: str
    store_dir: Path | None = None     # ownstack's: the download bounds read its files

    def round(self, bench: Bench) -> None:
        http = httpx.Client(base_url=self.url, headers={"X-Auth-Token": self.token},
                            timeout=600)
        with http:
            r = http.post("/v2/images", json={"name": "bench", "disk_format": "raw",
                                              "container_format": "bare"})
            r.raise_for_status()
            image_id = r.json()["id"]
            file_url = f"{self.url}/v2/images/{image_id}/file"

            def download() -> None:
                http_download(file_url, self.token, bench.size)

            try:
                bench.timed(self.upload_row, lambda: curl_upload(file_url, self.token,
                                                                 bench.src), self.server)
                image = http.get(f"/v2/images/{image_id}").json()
                if image["status"] != "active" or image["size"] != bench.size:
                    raise RuntimeError(f"upload did not land: {image}")
                if self.store_dir is not None:
                    # The store writes around the page cache: the first read comes from
                    # the disk and leaves the file cached for the rows after it.
                    bench.timed(COLD_DOWNLOAD, download, self.server)
                    stored = self.store_dir / image_id
                    bench.timed(CAT_SOCKET, lambda: cat_into_socket(stored, bench.size))
                    bench.timed(SENDFILE_SOCKET,
                                lambda: sendfile_into_socket(stored, bench.size))
                bench.timed(self.download_row, download, self.server)
            finally:
                http.delete(f"/v2/images/{image_id}")


class Bench:
    def __init__(self, work: Path, src: Path) -> None:
        self.work = work
        self.src = src
        self.dst = work / "copy"
        self.size = src.stat().st_size
        self.samples: dict[str, list[Sample]] = {}

    def timed(self, name: str, action: Callable[[], object], server: Server | None = None
              ) -> None:
        with Watch(server) as watch:
            action()
        self.samples.setdefault(name, []).append(watch.sample)
        self.dst.unlink(missing_ok=True)

    async def timed_async(self, name: str, action: Awaitable[object], server: Server) -> None:
        with Watch(server) as watch:
            await action
        self.samples.setdefault(name, []).append(watch.sample)
        self.dst.unlink(missing_ok=True)

    def bounds(self) -> None:
        """The hash bound, and `cp` for scale (the download bounds need a stored file:
        :meth:`ImageService.round`)."""
        chunks = read_chunks(self.src, BATCH)
        self.timed(HASH_BOUND, lambda: hash_side_by_side(chunks))
        chunks.clear()
        src, dst = str(self.src), str(self.dst)
        self.timed("`cp`", lambda: run(["cp", src, dst]))
        self.timed("`cp` + fsync", lambda: run(["sh", "-c", 'cp "$1" "$2" && sync "$2"',
                                                "-", src, dst]))

    async def client_round(self, service: ImageService) -> None:
        async def token() -> str:
            return service.token

        async with ImageClient(service.url, token, timeout=600) as client:
            info = await client.create("bench-client", "raw", "bare")
            await self.timed_async("ImageClient.upload (+ sha512)",
                                   client.upload(info.id, self.src), service.server)
            await self.timed_async("ImageClient.download (+ sha512, fsync)",
                                   client.download(info.id, self.dst), service.server)
            await client.delete(info.id)

    def median(self, name: str) -> Sample:
        rows = self.samples[name]
        seconds = statistics.median(r.seconds for r in rows)
        client = statistics.median(r.client_cpu for r in rows)
        if rows[0].cpu is None:
            return Sample(seconds, client_cpu=client)
        return Sample(seconds, min(r.rss_before or 0.0 for r in rows),
                      max(r.rss_peak or 0.0 for r in rows),
                      statistics.median(r.cpu or 0.0 for r in rows), client)

    def rate(self, name: str) -> float:
        """MiB/s of the median run."""
        return self.size / MIB / self.median(name).seconds


def peer_glance(url: str) -> tuple[ImageService | None, str]:
    """The peer Glance, or None and why it is not measured."""
    pidfile = PEER_RUN / "glance-api.pid"
    try:
        httpx.get(url, timeout=5)
        token = password_token(PEER_KEYSTONE, PEER_PASSWORD)
        master = int(pidfile.read_text().split()[0])
    except (httpx.HTTPError, OSError, ValueError) as exc:
        return None, (f"the peer Glance was not measured: {url} or the peer Keystone "
                      f"({PEER_KEYSTONE}) did not answer, or {pidfile} is missing ({exc}); "
                      "start it with /work/shared/peers/setup-openstack-compute-peers.sh")
    return ImageService(url, token, Server([master]), GLANCE_UPLOAD, GLANCE_DOWNLOAD), ""


def verdict(name: str, ratio: float) -> str:
    if ratio >= TARGET:
        return f"{name} {ratio:.0%}: met"
    return f"{name} {ratio:.0%}: NOT met, {TARGET - ratio:.0%} short of {TARGET:.0%}"


def report(bench: Bench, args: argparse.Namespace, idle: float, fs: str, glance_note: str
           ) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    gib = bench.size / (1 << 30)
    lines = [f"## {today} on {platform.node()} ({os.cpu_count()} cores, "
             f"{platform.python_implementation()} {platform.python_version()}; "
             "targets of issue 12)", "",
             f"- {args.size_mb} MiB of random data on {fs}; median of {args.repeat} runs; "
             "page cache not dropped (the source is cached for every row)",
             f"- hash bound: md5 and sha512 in two threads over the bytes in memory, in "
             f"chunks of {BATCH // MIB} MiB (the store's batch)",
             f"- ownstack server idle RSS: {idle:.0f} MB; load average before the run: "
             f"{args.load}", ""]
    if glance_note:
        lines += [f"- {glance_note}", ""]
    lines += ["| transfer | MiB/s | server CPU s per GiB | client CPU s per GiB | "
              "server RSS before → peak (MB) |", "| --- | ---: | ---: | ---: | ---: |"]
    for name in bench.samples:
        s = bench.median(name)
        cpu = "-" if s.cpu is None else f"{s.cpu / gib:.2f}"
        rss = "-" if s.rss_before is None else f"{s.rss_before:.0f} → {s.rss_peak:.0f}"
        lines.append(f"| {name} | {bench.rate(name):.0f} | {cpu} | {s.client_cpu / gib:.2f} "
                     f"| {rss} |")
    up = bench.rate(UPLOAD) / bench.rate(HASH_BOUND)
    down = bench.rate(DOWNLOAD) / bench.rate(CAT_SOCKET)
    upload, bound = bench.median(UPLOAD), bench.median(HASH_BOUND)
    lines += ["", f"Targets: {verdict('upload / hash bound', up)}; "
              f"{verdict('download / cat into a socket', down)}.",
              f"CPU per GiB: the two hashes alone {bound.client_cpu / gib:.2f} s; an upload "
              f"{((upload.cpu or 0.0) + upload.client_cpu) / gib:.2f} s (server and curl), "
              f"on {os.cpu_count()} cores."]
    if GLANCE_UPLOAD in bench.samples:
        up_vs = bench.rate(UPLOAD) / bench.rate(GLANCE_UPLOAD)
        down_vs = bench.rate(DOWNLOAD) / bench.rate(GLANCE_DOWNLOAD)
        lines.append(f"Against Glance 33: upload {up_vs:.1f} times as fast, download "
                     f"{down_vs:.1f} times.")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="image size in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the files go (default: a new temporary directory)")
    parser.add_argument("--glance-url", default="http://127.0.0.1:39292",
                        help="the peer Glance (/work/shared/peers)")
    parser.add_argument("--no-glance", action="store_true", help="do not measure Glance")
    args = parser.parse_args()
    args.load = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    glance, glance_note = (None, "the peer Glance was not measured (--no-glance)")
    if not args.no_glance:
        glance, glance_note = peer_glance(args.glance_url)
    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-image-", dir=args.workdir))
    state = work / "state"
    port = free_ports()
    try:
        src = work / "image.raw"
        write_random(src, args.size_mb * MIB)
        ownstack(state, port, PASSWORD, "up", "--no-user-clouds-yaml")
        pid = int(json.loads(ownstack(state, port, PASSWORD, "status", "--json").stdout)["pid"])
        own = ImageService(f"http://127.0.0.1:{port + 1}",
                           password_token(f"http://127.0.0.1:{port}/v3", PASSWORD),
                           Server([pid]), UPLOAD, DOWNLOAD, store_dir=state / "images")
        bench = Bench(work, src)
        idle = rss_mb(pid)
        for _ in range(args.repeat):
            bench.bounds()
            own.round(bench)
            asyncio.run(bench.client_round(own))
            if glance is not None:
                glance.round(bench)
        ownstack(state, port, PASSWORD, "down")

        fs = run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", str(work)]).stdout.split()
        text = report(bench, args, idle, " ".join(fs), glance_note)
        print(text)
        append_results(RESULTS, "# Image benchmark results\n\n", text)
    finally:
        stop_ownstack(state)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
