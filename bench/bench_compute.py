#!/usr/bin/env python3
"""Compute control-plane benchmark: 1000 boots on 100 simulated hosts (fake driver).

Starts a private ownstack with ``compute.fake_nodes=100``, raises the admin project's quota,
then boots ``--servers`` servers at ``--concurrency``: each worker POSTs /servers, waits until
the server is ACTIVE, then starts the next. It reports:

  * sustained boots per second (servers / wall time of the whole run);
  * POST-to-ACTIVE latency p50/p95, client-side: from just before the POST to the first
    read that shows ACTIVE (one watcher polls ``changes-since`` every 50 ms for all);
  * GET /servers/detail with all servers listed (limit 1000): p50/p95 over 20 requests;
  * the process's peak RSS during the run (sampled every 0.2 s) and at rest afterwards;
  * the server process's CPU time (user + system, every thread, from ``/proc/<pid>/stat``)
    per boot over the boot phase, and per ``/servers/detail`` request. Unlike wall-clock
    figures these hardly move when other work shares the machine, so they are the figures
    to compare between A/B runs.

Targets (issue 4): > 30 boots/s; POST-to-ACTIVE p50 < 250 ms; /servers/detail at 1000
servers p50 < 50 ms. After the run every host's Placement usage is checked against its
capacity: an over-commit fails the run.

Results are appended to bench/results/compute.md with the date and machine.

    .venv/bin/python bench/bench_compute.py [--servers 1000] [--concurrency 16] [--hosts 100]
                                            [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import append_results, free_ports, ownstack, rss_mb, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "compute.md"
PASSWORD = "bench-secret"
V = {"OpenStack-API-Version": "compute 2.96"}
IDLE_SAMPLE = 5.0       # seconds of idle CPU sampled before the boots


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` (all its threads) so far."""
    # Fields after the command name (which may hold spaces, hence the split on ")").
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mb(self.pid))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


async def token(identity: str) -> str:
    async with httpx.AsyncClient() as http:
        r = await http.post(f"{identity}/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        r.raise_for_status()
        return r.headers["X-Subject-Token"]


async def prepare(base: int, tok: str, work: Path, servers: int) -> tuple[str, str, str]:
    """An image, a flavor and room in the quota; returns (image id, flavor id, project)."""
    disk = work / "tiny.qcow2"
    await asyncio.to_thread(subprocess.run, ["qemu-img", "create", "-q", "-f", "qcow2",
                                             str(disk), "64M"], check=True)
    h = {"X-Auth-Token": tok}
    async with httpx.AsyncClient(timeout=60) as http:
        r = await http.post(f"http://127.0.0.1:{base + 1}/v2/images", headers=h, json={
            "name": "bench-tiny", "disk_format": "qcow2", "container_format": "bare",
            "visibility": "public"})
        r.raise_for_status()
        image = r.json()["id"]
        r = await http.put(f"http://127.0.0.1:{base + 1}/v2/images/{image}/file",
                           headers={**h, "Content-Type": "application/octet-stream"},
                           content=disk.read_bytes())
        r.raise_for_status()
        compute = f"http://127.0.0.1:{base + 3}/v2.1"
        r = await http.post(f"{compute}/flavors", headers={**h, **V}, json={"flavor": {
            "name": "bench.nano", "vcpus": 1, "ram": 64, "disk": 1}})
        r.raise_for_status()
        flavor = r.json()["flavor"]["id"]
        r = await http.get(f"http://127.0.0.1:{base}/v3/auth/tokens",
                           headers={**h, "X-Subject-Token": tok})
        project = r.json()["token"]["project"]["id"]
        r = await http.put(f"{compute}/os-quota-sets/{project}", headers={**h, **V}, json={
            "quota_set": {"instances": servers * 2, "cores": servers * 2,
                          "ram": servers * 2 * 64}})
        r.raise_for_status()
        return image, flavor, project


async def wait_for_hosts(compute: str, tok: str, hosts: int) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() < deadline:
            r = await http.get(f"{compute}/os-hypervisors", headers={"X-Auth-Token": tok, **V})
            if r.status_code == 200 and len(r.json()["hypervisors"]) >= hosts:
                return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{hosts} compute nodes did not register in time")


class Watcher:
    """One client that watches every boot: ``GET /servers/detail?changes-since=`` every
    ``interval`` seconds, instead of one poller per server (which would measure the
    benchmark's own polling load). A boot's latency is from just before its POST to the
    first poll that sees it ACTIVE, so it is at most ``interval`` pessimistic."""

    def __init__(self, compute: str, headers: dict[str, str], interval: float = 0.05) -> None:
        self.compute, self.headers, self.interval = compute, headers, interval
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.polls = 0

    def expect(self, server: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting[server] = future
        return future

    async def run(self, http: httpx.AsyncClient, done: asyncio.Event) -> None:
        since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
        while not done.is_set():
            started = datetime.datetime.now(datetime.UTC)
            r = await http.get(f"{self.compute}/servers/detail", headers=self.headers,
                               params={"changes-since": since.isoformat()})
            self.polls += 1
            r.raise_for_status()
            for server in r.json()["servers"]:
                future = self.waiting.get(server["id"])
                if future is not None and not future.done() \
                        and server["status"] in ("ACTIVE", "ERROR"):
                    future.set_result(server["status"])
            # Overlap windows by a second: updated_at and our clock may disagree a little.
            since = started - datetime.timedelta(seconds=1)
            await asyncio.sleep(self.interval)


async def boot_all(compute: str, tok: str, image: str, flavor: str, servers: int,
                   concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(servers))
    h = {"X-Auth-Token": tok, **V}
    watcher = Watcher(compute, h)

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            t0 = time.perf_counter()
            r = await http.post(f"{compute}/servers", headers=h, json={"server": {
                "name": f"bench-{i}", "imageRef": image, "flavorRef": flavor,
                "networks": "none"}})
            if r.status_code != 202:
                errors += 1
                continue
            status = await asyncio.wait_for(watcher.expect(r.json()["server"]["id"]), 300)
            if status == "ACTIVE":
                latencies.append(time.perf_counter() - t0)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        done = asyncio.Event()
        watching = asyncio.create_task(watcher.run(http, done))
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        done.set()
        await watching
        return elapsed, latencies, errors


async def list_detail(compute: str, tok: str, rounds: int = 20) -> tuple[list[float], int]:
    times: list[float] = []
    count = 0
    async with httpx.AsyncClient(timeout=120) as http:
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = await http.get(f"{compute}/servers/detail", params={"limit": "1000"},
                               headers={"X-Auth-Token": tok, **V})
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
            count = len(r.json()["servers"])
    return times, count


async def check_no_overcommit(placement: str, tok: str) -> int:
    h = {"X-Auth-Token": tok, "OpenStack-API-Version": "placement 1.39"}
    async with httpx.AsyncClient(timeout=60) as http:
        providers = (await http.get(f"{placement}/resource_providers", headers=h)
                     ).json()["resource_providers"]
        for rp in providers:
            inv = (await http.get(f"{placement}/resource_providers/{rp['uuid']}/inventories",
                                  headers=h)).json()["inventories"]
            usage = (await http.get(f"{placement}/resource_providers/{rp['uuid']}/usages",
                                    headers=h)).json()["usages"]
            for rc, used in usage.items():
                cap = (inv[rc]["total"] - inv[rc]["reserved"]) * inv[rc]["allocation_ratio"]
                if used > cap:
                    raise RuntimeError(f"over-commit on {rp['name']}: {rc} {used} > {cap}")
        return len(providers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--no-record", action="store_true",
                        help="print the results without appending them to the results file")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-compute-"))
    state = work / "state"
    base = free_ports()
    settings = ["compute.driver=fake", f"compute.fake_nodes={args.hosts}",
                "log.access_log=false", "identity.bcrypt_rounds=4"]
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        pid = int(json.loads(ownstack(state, base, PASSWORD, "status", "--json",
                                      settings=settings).stdout)["pid"])
        compute = f"http://127.0.0.1:{base + 3}/v2.1"
        tok = asyncio.run(token(f"http://127.0.0.1:{base}"))
        asyncio.run(wait_for_hosts(compute, tok, args.hosts))
        image, flavor, _ = asyncio.run(prepare(base, tok, work, args.servers))
        idle_rss = rss_mb(pid)
        load = os.getloadavg()
        # The background (heartbeats of every fake host, the conductor's sweep), for scale.
        cpu_start = cpu_seconds(pid)
        time.sleep(IDLE_SAMPLE)
        idle_share = (cpu_seconds(pid) - cpu_start) / IDLE_SAMPLE
        sampler = PeakRss(pid)
        cpu_start = cpu_seconds(pid)
        wall, latencies, errors = asyncio.run(boot_all(compute, tok, image, flavor,
                                                       args.servers, args.concurrency))
        cpu_boots = cpu_seconds(pid) - cpu_start
        cpu_start = cpu_seconds(pid)
        detail, listed = asyncio.run(list_detail(compute, tok))
        cpu_detail = cpu_seconds(pid) - cpu_start
        peak = sampler.stop()
        providers = asyncio.run(check_no_overcommit(f"http://127.0.0.1:{base + 2}", tok))
        rest_rss = rss_mb(pid)
    finally:
        stop_ownstack(state)

    booted = len(latencies)
    rate = booted / wall
    p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
    d50, d95 = percentile(detail, 50) * 1000, percentile(detail, 95) * 1000
    cpu_per_boot = cpu_boots / max(booted, 1) * 1000
    cpu_per_detail = cpu_detail / max(len(detail), 1) * 1000
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {platform.processor() or platform.machine()}, " \
              f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} " \
              f"cores, Python {platform.python_version()}"
    verdict = {True: "met", False: "MISSED"}
    text = (
        f"\n## {when} — {machine}\n\n"
        f"{args.servers} boots at concurrency {args.concurrency} on {args.hosts} fake hosts "
        f"(SQLite, in-process bus; POST-to-ACTIVE as seen by one `changes-since` watcher "
        f"polling every 50 ms, so up to 50 ms pessimistic). {booted} ACTIVE, {errors} errors; "
        f"{providers} providers checked, no over-commit. Load average at the start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.\n\n"
        "| measurement | result | target |\n| --- | --- | --- |\n"
        f"| sustained boots/s | {rate:.1f} | > 30 ({verdict[rate > 30]}) |\n"
        f"| POST to ACTIVE p50 / p95 | {p50:.0f} ms / {p95:.0f} ms | p50 < 250 ms "
        f"({verdict[p50 < 250]}) |\n"
        f"| GET /servers/detail, {listed} servers, p50 / p95 | {d50:.1f} ms / {d95:.1f} ms "
        f"| p50 < 50 ms ({verdict[d50 < 50]}) |\n"
        f"| server CPU per boot (boot phase, incl. the watcher's polls) | "
        f"{cpu_per_boot:.1f} ms | reported |\n"
        f"| server CPU per GET /servers/detail of {listed} | {cpu_per_detail:.1f} ms "
        f"| reported |\n"
        f"| server CPU while idle, before the boots | {idle_share * 100:.1f} % of a core "
        f"| reported |\n"
        f"| RSS idle before / peak / after | {idle_rss:.0f} / {peak:.0f} / {rest_rss:.0f} MB "
        f"| reported |\n")
    print(text)
    if args.no_record:
        return 0 if errors == 0 else 1
    append_results(RESULTS, "# Compute benchmark results\n\nWritten by bench/bench_compute.py."
                   " Each run appends a section.\n", text)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
