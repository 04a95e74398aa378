#!/usr/bin/env python3
"""Compute benchmark beside the real Nova 34, in one run (issue 16).

A second script rather than a mode of ``bench_compute.py``: that one drives ownstack with
its own asyncio client (1000 boots on 100 hosts, a ``changes-since`` watcher), which Nova
could not be measured with the same way; this one points the peers' load generator
(``../shared/peers/bench_compute_network_peers.py --suites compute``) at both sides, as
``bench_network.py`` does for Neutron, so both meet the same client:

* ownstack: its own ``ownstack up`` on a temporary state directory and free ports, with
  its defaults (SQLite, the in-process bus) and the fake compute driver with
  ``compute.fake_nodes`` hosts (4, as the peers' 4 fake nova-computes), each the size
  of a FakeDriver host (1000 vCPUs, 800000 MB, 600000 GB), unlimited
  instance, core and RAM quotas (as the peer Nova's ``[quota]``), and the peer's shapes:
  flavor ``m1.nano`` (id 42, 1 vCPU, 128 MB, 1 GB) and a 1 MiB raw public image;
* Nova 34: the peer that ``setup-openstack-compute-peers.sh`` starts (nova-api in uWSGI
  with 2 workers, conductor, scheduler, 4 nova-compute with ``fake.FakeDriver``, MariaDB,
  RabbitMQ), when its Keystone answers on 127.0.0.1:35357; ``--no-peer`` skips it.

Both sides get the same boots (200), concurrency (8), ``"networks": "none"`` and
microversion 2.37. The generator polls each server until ACTIVE; it sleeps one interval
before each poll, so POST to ACTIVE is at most one interval pessimistic. ownstack is polled
every 50 ms, Nova every 0.5 s (the generator's default, with which its reference figures
were measured): 160 polls a second would load Nova's API more than the boots do. The
server CPU is each side's processes read from ``/proc`` by the generator
(``--server-pids``): ownstack's one process; every peer pidfile for Nova, with MariaDB and
RabbitMQ reported apart (ownstack has no such processes to leave out).

``--repeat N`` runs both sides one after the other N times (a fresh ownstack each time)
and compares the medians. Targets: boots/s at least 50 times Nova's; POST-to-ACTIVE p50
and server CPU per boot under a twentieth of Nova's. A dated section with both sides'
figures and the ratios goes to bench/results/compute.md.

Start the peers first (``../shared/peers/setup-openstack-compute-peers.sh``, about four
minutes) and stop them after (``stop-openstack-compute-peers.sh``). ``--py-spy BIN``
records ownstack during its first generator run; ``--keep-json DIR`` keeps the generator's documents
and that profile (``ownstack.speedscope.json``), and ``--from-json DIR`` writes them up again.

    .venv/bin/python bench/bench_compute_peers.py [--boots 200] [--concurrency 8]
        [--hosts 4] [--repeat 1] [--no-peer] [--no-record] [--keep-json DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import (
    PEER_KEYSTONE,
    PEER_PASSWORD,
    PEER_PIDS,
    MachineRecord,
    admin_token,
    append_results,
    by_name,
    default_peers_dir,
    free_ports,
    ownstack,
    ownstack_pid,
    peer_answers,
    peer_generator,
    ratio,
    stop_ownstack,
)

PASSWORD = "bench-compute-peers-pw"
RESULTS = Path(__file__).resolve().parent / "results" / "compute.md"
HEADER = "# Compute benchmark results\n\nEach run appends a section.\n"
FLAVOR: dict[str, Any] = {"name": "m1.nano", "id": "42", "vcpus": 1, "ram": 128, "disk": 1}
IMAGE = "bench-tiny-raw"
BOOT, DETAIL, DELETE = ("compute.boot_to_active", "compute.servers_detail",
                        "compute.server_delete_to_gone")
V = {"OpenStack-API-Version": "compute 2.37"}
# The size of each host of Nova's fake.FakeDriver (nova/virt/fake.py): ownstack's fake
# nodes are given the same, so both sides have the same room (at ownstack's default of 8
# vCPUs 4 hosts hold only 128 m1.nano).
NOVA_FAKE_HOST = {"vcpus": 1000, "memory_mb": 800000, "disk_gb": 600000}
# The figures of issue 16, measured with the same generator: what the targets divide.
ISSUE_NOVA: dict[str, float | None] = {"boots_per_s": 0.85, "p50_ms": 8400.0,
                                       "cpu_ms_per_boot": 2100.0}


def prepare(base: int, hosts: int) -> None:
    """The peer's flavor and image shapes on a fresh ownstack, once its hosts are up."""
    with httpx.Client(timeout=60) as http:
        h = {"X-Auth-Token": admin_token(http, base, PASSWORD)}
        compute = f"http://127.0.0.1:{base + 3}/v2.1"
        deadline = time.monotonic() + 120
        while len(http.get(f"{compute}/os-hypervisors", headers={**h, **V})
                  .json().get("hypervisors", [])) < hosts:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{hosts} compute nodes did not register in time")
            time.sleep(0.5)
        http.post(f"{compute}/flavors", headers={**h, **V},
                  json={"flavor": FLAVOR}).raise_for_status()
        images = f"http://127.0.0.1:{base + 1}/v2/images"
        r = http.post(images, headers=h, json={"name": IMAGE, "disk_format": "raw",
                                               "container_format": "bare",
                                               "visibility": "public"})
        r.raise_for_status()
        http.put(f"{images}/{r.json()['id']}/file", content=b"\0" * (1 << 20),
                 headers={**h, "Content-Type": "application/octet-stream"}
                 ).raise_for_status()


def suite(args: argparse.Namespace, poll: float, image: str) -> list[str]:
    return ["--suites", "compute", "--boots", str(args.boots),
            "--boot-concurrency", str(args.concurrency), "--flavor", FLAVOR["name"],
            "--image", image, "--poll-interval", str(poll),
            "--detail-samples", str(args.detail_samples),
            "--idle-seconds", str(args.idle_seconds)]


def run_ownstack(args: argparse.Namespace, work: Path, rep: int) -> dict[str, Any]:
    state = work / f"state-{rep}"
    base = free_ports()
    settings = ["compute.driver=fake", f"compute.fake_nodes={args.hosts}",
                *(f"compute.fake_{key}={value}" for key, value in NOVA_FAKE_HOST.items()),
                "compute.quota.instances=-1", "compute.quota.cores=-1",
                "compute.quota.ram=-1"]
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        pid = ownstack_pid(state, base, PASSWORD, settings)
        prepare(base, args.hosts)
        spy = None
        if args.py_spy and rep == 0:
            spy = subprocess.Popen([args.py_spy, "record", "--gil", "--pid", str(pid),
                                    "--rate", "100", "--format", "speedscope", "--output",
                                    str(work / "ownstack.speedscope.json")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return peer_generator(args.peers_dir, work / f"ownstack-{rep}.json", "ownstack",
                                  f"http://127.0.0.1:{base}/v3", PASSWORD, f"ownstack={pid}",
                                  suite(args, args.poll_interval, IMAGE))
        finally:
            if spy is not None:
                spy.send_signal(2)
                spy.wait(timeout=60)
    finally:
        stop_ownstack(state)


def infra_pids() -> str:
    """``mariadb=PID,rabbitmq=PID`` of the shared servers the peers use, as found."""
    found = []
    for name, process in (("mariadb", "mariadbd"), ("rabbitmq", "beam.smp")):
        out = subprocess.run(["pgrep", "-o", process], capture_output=True, text=True)
        if out.stdout.strip():
            found.append(f"{name}={out.stdout.split()[0]}")
    return ",".join(found)


def run_peer(args: argparse.Namespace, work: Path, rep: int) -> dict[str, Any]:
    return peer_generator(args.peers_dir, work / f"nova-{rep}.json", "nova 34.0.0",
                          PEER_KEYSTONE, PEER_PASSWORD, PEER_PIDS,
                          suite(args, args.peer_poll_interval, "ospeers-tiny"),
                          infra_pids=infra_pids())


def figures(doc: dict[str, Any]) -> dict[str, Any]:
    """One run's figures: boots/s, POST-to-ACTIVE, server CPU per boot and the rest."""
    m = by_name(doc)
    boot, detail, delete = m.get(BOOT, {}), m.get(DETAIL, {}), m.get(DELETE, {})
    return {
        "boots_per_s": boot.get("boots_per_s"), "ok": boot.get("ok"),
        "errors": boot.get("errors"), "error_breakdown": boot.get("error_breakdown"),
        "p50_ms": boot.get("p50_ms"), "p95_ms": boot.get("p95_ms"),
        "post_p50_ms": (boot.get("post_latency") or {}).get("p50_ms"),
        "cpu_ms_per_boot": boot.get("server_cpu_ms_per_op"),
        "cpu_by_group_s": boot.get("server_cpu_by_group_s") or {},
        "infra_ms_per_boot": boot.get("infra_cpu_ms_per_op"),
        "other_pct": boot.get("other_cpu_pct_of_machine"),
        "detail_p50_ms": detail.get("p50_ms"), "listed": detail.get("servers_listed"),
        "detail_cpu_ms": detail.get("server_cpu_ms_per_op"),
        "delete_p50_ms": delete.get("p50_ms"),
        "delete_cpu_ms": delete.get("server_cpu_ms_per_op"),
        "loadavg": boot.get("loadavg_before"), "started_at": doc.get("started_at"),
    }


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


ROWS = [("boots/s", "boots_per_s"), ("POST to ACTIVE p50 ms", "p50_ms"),
        ("POST to ACTIVE p95 ms", "p95_ms"), ("POST /servers p50 ms", "post_p50_ms"),
        ("server CPU ms per boot", "cpu_ms_per_boot"),
        ("MariaDB + RabbitMQ CPU ms per boot", "infra_ms_per_boot"),
        ("/servers/detail p50 ms", "detail_p50_ms"),
        ("server CPU ms per /servers/detail", "detail_cpu_ms"),
        ("DELETE to 404 p50 ms", "delete_p50_ms"),
        ("server CPU ms per delete", "delete_cpu_ms")]


def table(own: list[dict[str, Any]], peer: list[dict[str, Any]]) -> str:
    def cell(runs: list[dict[str, Any]], key: str) -> str:
        if not runs:
            return "-"
        values = [r.get(key) for r in runs]
        if all(v is None for v in values):
            return "-"
        shown = " / ".join("-" if v is None else f"{v:g}" for v in values)
        middle = median(runs, key)
        return shown if len(runs) == 1 or middle is None else f"{middle:g} ({shown})"

    rows = ["| measurement | ownstack | Nova 34 | ownstack better by |",
            "| --- | ---: | ---: | ---: |"]
    for label, key in ROWS:
        mine, theirs = median(own, key), median(peer, key)
        better = ratio(mine, theirs) if key == "boots_per_s" else ratio(theirs, mine)
        rows.append(f"| {label} | {cell(own, key)} | {cell(peer, key)} | "
                    f"{better if better != '-' else '-'} |")
    return "\n".join(rows)


def verdicts(own: list[dict[str, Any]], peer: list[dict[str, Any]]) -> list[str]:
    """Each target against the Nova of this run, or the issue's figures without one."""
    nova = {key: median(peer, key) for key in ISSUE_NOVA} if peer else dict(ISSUE_NOVA)
    source = "this run's Nova" if peer else "the issue's Nova figures (no peer in this run)"
    lines = [f"Targets, against {source} (medians):"]
    rate, p50, cpu = (median(own, k) for k in ("boots_per_s", "p50_ms", "cpu_ms_per_boot"))
    if rate and nova["boots_per_s"]:
        factor = rate / nova["boots_per_s"]
        lines.append(f"- boots/s: {rate:g} = {factor:.1f}x Nova's {nova['boots_per_s']:g} "
                     f"(target >= 50x: {'met' if factor >= 50 else 'missed'})")
    for label, mine, key in (("POST to ACTIVE p50", p50, "p50_ms"),
                             ("server CPU per boot", cpu, "cpu_ms_per_boot")):
        theirs = nova[key]
        if mine and theirs:
            lines.append(f"- {label}: {mine:g} ms = 1/{theirs / mine:.1f} of Nova's "
                         f"{theirs:g} ms (target under 1/20, i.e. < {theirs / 20:.0f} ms: "
                         f"{'met' if mine < theirs / 20 else 'missed'})")
    for side, runs in (("ownstack", own), ("Nova", peer)):
        bad = [f"{r['errors']} ({r['error_breakdown']})" for r in runs if r.get("errors")]
        if bad:
            lines.append(f"- {side} boot errors: " + "; ".join(bad))
    if peer:
        groups: dict[str, float] = {}
        for run in peer:
            for name, seconds in run["cpu_by_group_s"].items():
                group = name.rstrip("0123456789").rstrip("-") or name     # nova-compute-N
                groups[group] = groups.get(group, 0.0) + seconds / max(run["ok"] or 1, 1)
        top = sorted(groups.items(), key=lambda item: -item[1])[:6]
        lines.append("- Nova's server CPU per boot by process group (mean): " + ", ".join(
            f"{g} {s * 1000 / len(peer):.0f} ms" for g, s in top))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boots", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=0.05,
                        help="ownstack's status polls (s)")
    parser.add_argument("--peer-poll-interval", type=float, default=0.5,
                        help="Nova's status polls (s)")
    parser.add_argument("--detail-samples", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=5)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--peers-dir", type=Path, default=default_peers_dir())
    parser.add_argument("--py-spy", default="",
                        help="py-spy binary: record ownstack (the thread holding the "
                        "GIL) during its first run")
    parser.add_argument("--keep-json", type=Path, help="copy the generator's JSON here")
    parser.add_argument("--from-json", type=Path,
                        help="write up the JSON kept by an earlier --keep-json; run nothing")
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-compute-peers-"))
    with_peer = not args.no_peer and peer_answers()
    own_runs: list[dict[str, Any]] = []
    peer_runs: list[dict[str, Any]] = []
    load = os.getloadavg()
    machine_record = None if args.from_json else MachineRecord()
    if args.from_json:
        # The generator's documents of an earlier run (--keep-json), to write them up again.
        own_runs = [figures(json.loads(path.read_text()))
                    for path in sorted(args.from_json.glob("ownstack-*.json"))]
        peer_runs = [figures(json.loads(path.read_text()))
                     for path in sorted(args.from_json.glob("nova-*.json"))]
        with_peer = bool(peer_runs)
        config = json.loads(min(args.from_json.glob("ownstack-*.json")).read_text())["config"]
        args.boots, args.concurrency = config["boots"], config["boot_concurrency"]
        args.poll_interval = config["poll_interval"]
        if peer_runs:
            args.peer_poll_interval = json.loads(min(args.from_json.glob("nova-*.json"))
                                                 .read_text())["config"]["poll_interval"]
    for rep in range(0 if args.from_json else args.repeat):
        own_runs.append(figures(run_ownstack(args, work, rep)))
        if with_peer:
            peer_runs.append(figures(run_peer(args, work, rep)))
    if args.keep_json:
        args.keep_json.mkdir(parents=True, exist_ok=True)
        for path in work.glob("*.json"):
            shutil.copy(path, args.keep_json / path.name)
    started = min((r["started_at"] for r in own_runs + peer_runs if r.get("started_at")),
                  default=datetime.datetime.now(datetime.UTC).isoformat())
    now = datetime.datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    loads = "; ".join(f"{side} {', '.join(f'{x:g}' for x in r['loadavg'] or [])}"
                      for side, runs in (("ownstack", own_runs), ("Nova", peer_runs))
                      for r in runs)
    text = "\n".join([
        f"\n## Beside Nova 34, {now} ({machine})",
        "",
        f"`bench/bench_compute_peers.py`: the peers' load generator (`--suites compute`) "
        f"against ownstack and Nova, {args.boots} boots at concurrency {args.concurrency} "
        f"on {args.hosts} fake hosts each side, m1.nano, a 1 MiB raw image, `networks: "
        f"none`; {len(own_runs)} run(s) of each side, one after the other. ownstack: one "
        f"process, its defaults (SQLite, in-process bus), status polled every "
        f"{args.poll_interval:g} s. Nova: nova-api (uWSGI, 2 workers), conductor, "
        f"scheduler, {args.hosts} nova-compute with the fake driver, MariaDB, RabbitMQ, "
        f"polled every {args.peer_poll_interval:g} s"
        + ("" if with_peer else "; **no Nova peer in this run**") + ".",
        ("" if args.from_json else
         f"Load average at the start {', '.join(f'{x:.2f}' for x in load)}; ")
        + f"load average before each boot phase: {loads}."
        + ("" if machine_record is None else "\n" + machine_record.line()),
        "", table(own_runs, peer_runs), "", *verdicts(own_runs, peer_runs), ""])
    print(text)
    if not args.no_record:
        append_results(RESULTS, HEADER, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
