#!/usr/bin/env python3
"""Image benchmark: upload and download throughput of a 1 GiB image beside `cp`, in one run.

Measures, on this machine, with the same bytes (random, written once, not sparse, so the
disk really writes them), each a new file on the same file system:
  * `cp` (coreutils copies in the kernel, copy_file_range), `cp` then an fsync of the copy
    (`sync FILE`: the image store fsyncs every upload before renaming it), and `cat`
    (a copy through user space, as every HTTP transfer is);
  * ownstack upload, `PUT /v2/images/{id}/file` by curl, streaming from the file with a
    declared length (the server hashes md5 + sha512, fsyncs, runs qemu-img info);
  * ownstack download, `GET /v2/images/{id}/file` by curl into a new file;
  * the same two through ``ownstack.common.clients.image.ImageClient``, as the compute
    service will use it (it also hashes sha512 on its side, and fsyncs downloads);
  * for each transfer, the server's RSS before and at its peak (sampled every 0.1 s) and
    the CPU time it spent (the machine's cores are shared by client and server);
  * md5 and sha512 speed on one core: an upload cannot beat the slower of the two.

curl is the HTTP client for the plain rows so that they measure the server, not a Python
client. The page cache is not dropped (that needs root and disturbs the machine): the
source file is cached for every row alike. Each figure is the median of --repeat runs.

It starts its own `ownstack up` with a temporary state directory on free ports, as the
admin, and appends a dated section to bench/results/image.md.

    .venv/bin/python bench/bench_image.py [--size-mb 1024] [--repeat 3] [--workdir DIR]
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
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import append_results, free_ports, ownstack, rss_mb, run, stop_ownstack

from ownstack.common.clients.image import ImageClient

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "image.md"
PASSWORD = "bench-secret"
CHUNK = 1 << 20
TARGET = 0.70
TICKS = os.sysconf("SC_CLK_TCK")










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


class Watch:
    """Wall time of a transfer and, with a pid, the server's RSS peak and CPU time."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.sample = Sample(0.0)

    def _sample(self) -> None:
        assert self.pid is not None
        while not self._stop.wait(0.1):
            self.sample.rss_peak = max(self.sample.rss_peak or 0.0, rss_mb(self.pid))

    def __enter__(self) -> Watch:
        if self.pid is not None:
            self.sample.rss_before = self.sample.rss_peak = rss_mb(self.pid)
            self.sample.cpu = cpu_seconds(self.pid)
            self._thread.start()
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample.seconds = time.perf_counter() - self._started
        if self.pid is not None:
            self._stop.set()
            self._thread.join()
            self.sample.rss_peak = max(self.sample.rss_peak or 0.0, rss_mb(self.pid))
            self.sample.cpu = cpu_seconds(self.pid) - (self.sample.cpu or 0.0)


def write_random(path: Path, size: int) -> None:
    with open(path, "wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(os.urandom(CHUNK))
        handle.write(os.urandom(size % CHUNK))
        handle.flush()
        os.fsync(handle.fileno())


def hash_rate(algorithm: str) -> float:
    """MB/s of one hash on one core (the best of three passes over 256 MiB)."""
    block, best = os.urandom(CHUNK), float("inf")
    for _ in range(3):
        hasher = hashlib.new(algorithm)
        started = time.perf_counter()
        for _ in range(256):
            hasher.update(block)
        best = min(best, time.perf_counter() - started)
    return 256 * CHUNK / 1e6 / best


class Bench:
    def __init__(self, work: Path, src: Path, image_url: str, token: str, pid: int) -> None:
        self.work = work
        self.src = src
        self.dst = work / "copy"
        self.size = src.stat().st_size
        self.pid = pid
        self.token = token
        self.image_url = image_url
        self.http = httpx.Client(base_url=image_url, headers={"X-Auth-Token": token},
                                 timeout=600)
        self.samples: dict[str, list[Sample]] = {}

    def timed(self, name: str, action: Callable[[], object], *, server: bool = True) -> None:
        with Watch(self.pid if server else None) as watch:
            action()
        self.samples.setdefault(name, []).append(watch.sample)
        self.dst.unlink(missing_ok=True)

    async def timed_async(self, name: str, action: Awaitable[object]) -> None:
        with Watch(self.pid) as watch:
            await action
        self.samples.setdefault(name, []).append(watch.sample)
        self.dst.unlink(missing_ok=True)

    def curl(self, *args: str) -> None:
        out = run(["curl", "-sS", "-o", str(self.dst), "-w", "%{http_code}",
                   "-H", f"X-Auth-Token: {self.token}", *args]).stdout
        if out not in ("200", "204"):
            raise RuntimeError(f"curl {args}: HTTP {out}")

    def new_image(self) -> str:
        r = self.http.post("/v2/images", json={"name": "bench", "disk_format": "raw",
                                               "container_format": "bare"})
        r.raise_for_status()
        return str(r.json()["id"])

    def round(self) -> None:
        src, dst = str(self.src), str(self.dst)
        self.timed("cp", lambda: run(["cp", src, dst]), server=False)
        self.timed("cp + fsync", lambda: run(["sh", "-c", 'cp "$1" "$2" && sync "$2"', "-",
                                              src, dst]), server=False)
        self.timed("cat (user-space copy)", lambda: run(["sh", "-c", 'cat "$1" > "$2"', "-",
                                                        src, dst]), server=False)

        image_id = self.new_image()
        url = f"{self.image_url}/v2/images/{image_id}/file"
        # No "Expect: 100-continue" round trip: the body follows the headers at once.
        self.timed("ownstack upload (curl PUT)", lambda: self.curl(
            "-T", src, "-H", "Content-Type: application/octet-stream", "-H", "Expect:", url))
        image = self.http.get(f"/v2/images/{image_id}").json()
        if image["status"] != "active" or image["size"] != self.size:
            raise RuntimeError(f"upload did not land: {image}")
        self.timed("ownstack download (curl GET)", lambda: self.curl(url))
        self.http.delete(f"/v2/images/{image_id}").raise_for_status()

        asyncio.run(self.client_round())

    async def client_round(self) -> None:
        async def token() -> str:
            return self.token

        async with ImageClient(self.image_url, token, timeout=600) as client:
            info = await client.create("bench-client", "raw", "bare")
            await self.timed_async("ImageClient.upload (+ sha512)",
                                   client.upload(info.id, self.src))
            await self.timed_async("ImageClient.download (+ sha512, fsync)",
                                   client.download(info.id, self.dst))
            await client.delete(info.id)

    def median(self, name: str) -> Sample:
        rows = self.samples[name]
        seconds = statistics.median(r.seconds for r in rows)
        if rows[0].cpu is None:
            return Sample(seconds)
        return Sample(seconds, min(r.rss_before or 0.0 for r in rows),
                      max(r.rss_peak or 0.0 for r in rows),
                      statistics.median(r.cpu or 0.0 for r in rows))


def admin_token(identity_url: str) -> str:
    r = httpx.post(f"{identity_url}/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}, timeout=30)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


def report(bench: Bench, args: argparse.Namespace, idle: float, fs: str) -> str:
    size_mb = bench.size / 1e6
    cp_rate = size_mb / bench.median("cp").seconds
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## {today} on {platform.node()} ({os.cpu_count()} cores, "
             f"{platform.python_implementation()} {platform.python_version()})", "",
             f"- {args.size_mb} MiB of random data on {fs}; median of {args.repeat} runs; "
             "page cache not dropped (the source is cached for every row)",
             f"- one core hashes md5 at {hash_rate('md5'):.0f} MB/s and sha512 at "
             f"{hash_rate('sha512'):.0f} MB/s (an upload computes both)",
             f"- server idle RSS: {idle:.0f} MB", "",
             "| transfer | MB/s | vs `cp` | server CPU s | server RSS before → peak (MB) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name in bench.samples:
        s = bench.median(name)
        rate = size_mb / s.seconds
        cpu = "-" if s.cpu is None else f"{s.cpu:.1f}"
        rss = "-" if s.rss_before is None else f"{s.rss_before:.0f} → {s.rss_peak:.0f}"
        lines.append(f"| {name} | {rate:.0f} | {rate / cp_rate:.0%} | {cpu} | {rss} |")
    up = size_mb / bench.median("ownstack upload (curl PUT)").seconds / cp_rate
    down = size_mb / bench.median("ownstack download (curl GET)").seconds / cp_rate
    lines += ["", f"Target, ownstack >= {TARGET:.0%} of `cp`: upload {up:.0%} "
              f"({'met' if up >= TARGET else 'NOT met'}), download {down:.0%} "
              f"({'met' if down >= TARGET else 'NOT met'}).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="image size in MiB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the files go (default: a new temporary directory)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-image-", dir=args.workdir))
    state = work / "state"
    port = free_ports()
    try:
        src = work / "image.raw"
        write_random(src, args.size_mb * 1024 * 1024)
        ownstack(state, port, PASSWORD, "up", "--no-user-clouds-yaml")
        pid = int(json.loads(ownstack(state, port, PASSWORD, "status", "--json").stdout)["pid"])
        bench = Bench(work, src, f"http://127.0.0.1:{port + 1}",
                      admin_token(f"http://127.0.0.1:{port}"), pid)
        idle = rss_mb(pid)
        for _ in range(args.repeat):
            bench.round()
        ownstack(state, port, PASSWORD, "down")

        fs = run(["findmnt", "-no", "FSTYPE,SOURCE", "-T", str(work)]).stdout.split()
        text = report(bench, args, idle, " ".join(fs))
        print(text)
        append_results(RESULTS, (
            "# Image benchmark results\n\nProduced by `bench/bench_image.py`; newest last. "
            "Target: upload and download of a 1 GiB image at >= 70% of `cp` of the same "
            "bytes on the same file system, with the server's memory flat.\n\n"), text)
    finally:
        stop_ownstack(state)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
