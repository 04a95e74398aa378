#!/usr/bin/env python3
"""Identity benchmark: ownstack beside the real Keystone, in one run.

Measures, on this machine:
  * start-up: first initialisation of `ownstack up`, and a restart once initialised;
  * idle memory (RSS) of the all-in-one process;
  * token issue and validation at concurrency 1 and 8, with the shared load generator
    (../shared/peers/bench_identity_placement.py), against ownstack and then against the
    real Keystone 30 started by ../shared/peers/setup-openstack-peers.sh (with its
    in-process cache, the fair comparison for a service that caches validations);
  * the bcrypt hash time at the configured cost, which bounds token issue.

Results are appended to bench/results/identity.md with the date and machine.

    .venv/bin/python bench/bench_identity.py [--no-keystone] [--duration 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bcrypt
import httpx
from common import append_results, ownstack, rss_mb, run, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "identity.md"
PASSWORD = "bench-secret"








def hash_ms(rounds: int) -> float:
    salt = bcrypt.gensalt(rounds=rounds)
    started = time.perf_counter()
    for _ in range(5):
        bcrypt.hashpw(b"benchmark-password", salt)
    return (time.perf_counter() - started) / 5 * 1000


def load(peers: Path, url: str, pids: str, args: argparse.Namespace, label: str,
         out: Path, password: str) -> list[dict[str, object]]:
    run([sys.executable, str(peers / "bench_identity_placement.py"), "--keystone-url", url,
         "--suites", "identity", "--password", password, "--server-pids", pids,
         "--duration", str(args.duration), "--repeat", str(args.repeat),
         "--label", label, "--out", str(out)], timeout=3600)
    summary: dict[str, dict[str, object]] = json.loads(out.read_text())["summary"]
    return [{"name": name, **stats} for name, stats in sorted(summary.items())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=ROOT.parent / "shared" / "peers")
    parser.add_argument("--no-keystone", action="store_true", help="measure ownstack only")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--port", type=int, default=25000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-"))
    state = work / "state"
    lines: list[str] = []
    try:
        started = time.monotonic()
        ownstack(state, args.port, PASSWORD, "up", "--no-user-clouds-yaml")
        first_init = time.monotonic() - started
        ownstack(state, args.port, PASSWORD, "down")
        started = time.monotonic()
        ownstack(state, args.port, PASSWORD, "up", "--no-user-clouds-yaml")
        restart = time.monotonic() - started
        status = json.loads(ownstack(state, args.port, PASSWORD, "status", "--json").stdout)
        pid = int(status["pid"])
        time.sleep(2)
        idle_rss = rss_mb(pid)
        httpx.get(f"http://127.0.0.1:{args.port}/v3")

        ours = load(args.peers, f"http://127.0.0.1:{args.port}", str(pid), args,
                    "ownstack", work / "ownstack.json", PASSWORD)
        loaded_rss = rss_mb(pid)
        ownstack(state, args.port, PASSWORD, "down")

        theirs: list[dict[str, object]] = []
        if not args.no_keystone:
            env = {**os.environ, "OSPEERS_KEYSTONE_CACHE": "dict"}
            run(["bash", str(args.peers / "setup-openstack-peers.sh")], env=env, timeout=3600)
            try:
                pids = Path("/tmp/ospeers/run/keystone.pid").read_text().strip()
                theirs = load(args.peers, "http://127.0.0.1:35357", pids, args,
                              "keystone-30-cached", work / "keystone.json", "secret")
            finally:
                subprocess.run(["bash", str(args.peers / "stop-openstack-peers.sh")],
                               check=False, capture_output=True)

        today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines += [f"## {today} on {platform.node()} ({os.cpu_count()} cores, "
                  f"{platform.python_implementation()} {platform.python_version()})", ""]
        lines += [f"- first `ownstack up` (initialise + start + healthy): {first_init:.2f} s",
                  f"- `ownstack up` once initialised: {restart:.2f} s",
                  f"- idle RSS of the all-in-one process: {idle_rss:.0f} MB "
                  f"(after the load: {loaded_rss:.0f} MB)",
                  f"- bcrypt hash at cost 12: {hash_ms(12):.0f} ms "
                  "(the floor of one password token issue)", ""]
        lines += ["| measurement | side | req/s | p50 ms | p99 ms | server CPU ms/req |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        for side, rows in (("ownstack", ours), ("keystone 30 (cached)", theirs)):
            for row in rows:
                lines.append(f"| {row.get('name')} | {side} | {_num(row.get('rps'))} | "
                             f"{_num(row.get('p50_ms'))} | {_num(row.get('p99_ms'))} | "
                             f"{_num(row.get('server_cpu_ms_per_ok'))} |")
        lines.append("")
        text = "\n".join(lines)
        print(text)
        append_results(RESULTS, (
            "# Identity benchmark results\n\nProduced by `bench/bench_identity.py`; newest "
            "last. Targets: validation p50 < 2 ms at c1 and > 1000 req/s at c8; restart "
            "< 3 s; first init < 10 s; idle RSS < 150 MB.\n\n"), text)
    finally:
        stop_ownstack(state)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _num(value: object) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return "-"


if __name__ == "__main__":
    sys.exit(main())
