#!/usr/bin/env python3
"""Placement benchmark: ownstack beside the real Placement 16.0, in one run.

Runs the shared load generator (../shared/peers/bench_identity_placement.py, suite
``placement``) against ownstack's Placement (authenticated by ownstack's identity), then
against the real Placement 16.0 and Keystone 30 started by
../shared/peers/setup-openstack-peers.sh, with the same load:

  * creating N resource providers with inventory (N = 100 and 1000);
  * GET /allocation_candidates at N providers, unlimited and limit=10 (concurrency 1);
  * PUT /allocations claims at concurrency 8, spread over the N providers and all on one
    hot provider (generation conflicts are retried by the client, as nova does).

Targets (issue 4): candidates at 1000 providers with p50 < 20 ms; claims at concurrency 8
over 150/s with zero double allocation. After the load, every provider's usage is checked
against its capacity: an over-commit fails the run.

Results are appended to bench/results/placement.md with the date and machine.

    .venv/bin/python bench/bench_placement.py [--no-peer] [--duration 10] [--repeat 3]
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
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import append_results, ownstack, run, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "placement.md"
PASSWORD = "bench-secret"
PEER_RUN = Path("/tmp/ospeers/run")
ROWS = ("create_rps", "candidates.n{n}.unlimited", "candidates.n{n}.limit10",
        "claims_spread", "claims_hot")






def load(args: argparse.Namespace, keystone: str, placement: str, pids: str, password: str,
         label: str, out: Path) -> dict[str, dict[str, object]]:
    log = out.with_suffix(".log")
    with log.open("w") as handle:
        subprocess.run([sys.executable, str(args.peers / "bench_identity_placement.py"),
                        "--suites", "placement", "--placement-auth", "keystone",
                        "--keystone-url", keystone, "--placement-url", placement,
                        "--password", password, "--server-pids", pids,
                        "--rp-counts", args.rp_counts, "--duration", str(args.duration),
                        "--repeat", str(args.repeat), "--label", label, "--out", str(out)],
                       check=True, stdout=handle, stderr=subprocess.STDOUT, timeout=7200)
    summary: dict[str, dict[str, object]] = json.loads(out.read_text())["summary"]
    return summary


def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy")


def double_allocation_check(keystone: str, placement: str, password: str,
                            capacity: int = 50, claims: int = 200) -> dict[str, int]:
    """``claims`` concurrent 1-VCPU claims (8 threads) against one provider with room for
    ``capacity``: exactly ``capacity`` may succeed, and its usage must equal them."""
    token = httpx.post(f"{keystone}/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}},
    ).headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.39",
               "Connection": "close"}
    with httpx.Client(base_url=placement, headers=headers, timeout=60) as client:
        rp = client.post("/resource_providers",
                         json={"name": f"bench-double-{uuid.uuid4().hex[:8]}"}).json()
        client.put(f"/resource_providers/{rp['uuid']}/inventories", json={
            "resource_provider_generation": rp["generation"],
            "inventories": {"VCPU": {"total": capacity}}}).raise_for_status()

    consumers: list[str] = []

    def claim(_: int) -> bool:
        consumer = str(uuid.uuid4())
        body = {"allocations": {rp["uuid"]: {"resources": {"VCPU": 1}}}, "project_id": "p",
                "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"}
        with httpx.Client(base_url=placement, headers=headers, timeout=60) as client:
            for _attempt in range(20):
                r = client.put(f"/allocations/{consumer}", json=body)
                if r.status_code == 204:
                    consumers.append(consumer)
                    return True
                if not (r.status_code == 409 and "concurrent_update" in r.text):
                    return False
        return False

    with ThreadPoolExecutor(8) as pool:
        succeeded = sum(pool.map(claim, range(claims)))
    with httpx.Client(base_url=placement, headers=headers, timeout=60) as client:
        used = client.get(f"/resource_providers/{rp['uuid']}/usages").json()["usages"]["VCPU"]
        for consumer in consumers:
            client.delete(f"/allocations/{consumer}")
        client.delete(f"/resource_providers/{rp['uuid']}")
    return {"capacity": capacity, "claims": claims, "succeeded": succeeded, "used": used}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, default=ROOT.parent / "shared" / "peers")
    parser.add_argument("--no-peer", action="store_true", help="measure ownstack only")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rp-counts", default="100,1000")
    parser.add_argument("--port", type=int, default=25100)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-placement-"))
    state = work / "state"
    sides: list[tuple[str, dict[str, dict[str, object]], dict[str, int]]] = []
    try:
        ownstack(state, args.port, PASSWORD, "up", "--no-user-clouds-yaml")
        status = ownstack(state, args.port, PASSWORD, "status", "--json")
        pid = str(json.loads(status.stdout)["pid"])
        keystone = f"http://127.0.0.1:{args.port}"
        placement = f"http://127.0.0.1:{args.port + 2}"
        wait_healthy(f"{placement}/")
        ours = load(args, keystone, placement, pid, PASSWORD, "ownstack", work / "ours.json")
        sides.append(("ownstack", ours, double_allocation_check(keystone, placement, PASSWORD)))
        ownstack(state, args.port, PASSWORD, "down")

        if not args.no_peer:
            run(["bash", str(args.peers / "setup-openstack-peers.sh")], timeout=3600)
            try:
                pids = ",".join((PEER_RUN / f"{name}.pid").read_text().strip()
                                for name in ("placement",))
                theirs = load(args, "http://127.0.0.1:35357", "http://127.0.0.1:38778", pids,
                              "secret", "placement-16", work / "theirs.json")
                sides.append(("placement 16.0", theirs, double_allocation_check(
                    "http://127.0.0.1:35357", "http://127.0.0.1:38778", "secret")))
            finally:
                subprocess.run(["bash", str(args.peers / "stop-openstack-peers.sh")],
                               check=False, capture_output=True)
        text = report(args, sides)
        print(text)
        append_results(RESULTS, (
            "# Placement benchmark results\n\nProduced by `bench/bench_placement.py`; newest "
            "last. Targets: GET /allocation_candidates at 1000 providers with p50 < 20 ms; "
            "claims at concurrency 8 over 150/s with zero double allocation.\n\n"), text)
        return 1 if any(check["used"] > check["capacity"] or check["used"] != check["succeeded"]
                        for _, _, check in sides) else 0
    finally:
        stop_ownstack(state)
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace,
           sides: list[tuple[str, dict[str, dict[str, object]], dict[str, int]]]) -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## {today} on {platform.node()} ({os.cpu_count()} cores, "
             f"{platform.python_implementation()} {platform.python_version()})", "",
             f"`--duration {args.duration:g} --repeat {args.repeat}`; medians of the runs. "
             "Placement 16.0 runs under uWSGI with 2 workers on SQLite, as DevStack; "
             "ownstack is the all-in-one process on SQLite.", ""]
    for side, _, check in sides:
        ok = check["used"] == check["succeeded"] <= check["capacity"]
        lines.append(f"- double-allocation check, {side}: {check['claims']} concurrent 1-VCPU "
                     f"claims (8 threads) on a provider with room for {check['capacity']}: "
                     f"{check['succeeded']} succeeded, usage {check['used']} "
                     f"({'no over-commit' if ok else '**OVER-COMMIT OR LOST CLAIM**'})")
    lines += ["", "| measurement | side | req/s | p50 ms | p99 ms | server CPU ms/req | errors "
              "| 409 retries |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in args.rp_counts.split(","):
        for row in ROWS:
            key = f"placement.{row.format(n=n)}" if "{n}" in row else f"placement.{row}.n{n}"
            for side, summary, _ in sides:
                stats = summary.get(key, {})
                extras = stats.get("extras_total", {})
                conflicts = extras.get("conflicts_409", 0) if isinstance(extras, dict) else 0
                lines.append(f"| {key.removeprefix('placement.')} | {side} | "
                             f"{_num(stats.get('rps'))} | {_num(stats.get('p50_ms'))} | "
                             f"{_num(stats.get('p99_ms'))} | "
                             f"{_num(stats.get('server_cpu_ms_per_ok'))} | "
                             f"{stats.get('errors_total', '-')} | {conflicts} |")
    lines.append("")
    return "\n".join(lines)


def _num(value: object) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return "-"


if __name__ == "__main__":
    sys.exit(main())
