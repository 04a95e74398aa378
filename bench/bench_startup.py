#!/usr/bin/env python3
"""Start-up benchmark: how long `ownstack up` takes, as a user sees it.

Measures, on this machine, with the default configuration (the QEMU driver):
  * the first `ownstack up` on an empty state directory (initialise + start);
  * a warm `ownstack up` of that cloud once it runs one guest: `ownstack down` leaves the
    guest running, and `up` adopts it. Repeated ``--runs`` times;
  * for each, the wall time of the `ownstack up` command and the phases the server
    timed (imports, migration check, bootstrap, api, conductor, compute).

Target: a warm `ownstack up` under 3 s. Results are appended to
bench/results/identity.md, beside the identity benchmark's first initialisation.

    .venv/bin/python bench/bench_startup.py [--runs 5] [--virt-type qemu]
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
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import admin_token, append_results, free_ports, ownstack, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "identity.md"
PASSWORD = "bench-secret"
TARGET = 3.0


def timed_up(state: Path, base: int, settings: list[str]) -> tuple[float, list[list[object]]]:
    """Wall time of one `ownstack up`, and the phases the server reported."""
    started = time.monotonic()
    ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
    wall = time.monotonic() - started
    report = json.loads((state / "ownstack.started.json").read_text())
    return wall, list(report["phases"])


def boot_one(base: int, image: Path, state: Path, settings: list[str]) -> str:
    """Seed the test image and boot one server through the API; its id once ACTIVE."""
    ownstack(state, base, PASSWORD, "seed", "--image", str(image), settings=settings)
    with httpx.Client(timeout=60) as http:
        headers = {"X-Auth-Token": admin_token(http, base, PASSWORD),
                   "OpenStack-API-Version": "compute 2.37"}
        compute = f"http://127.0.0.1:{base + 3}/v2.1"
        image_id = http.get(f"http://127.0.0.1:{base + 1}/v2/images?name=ownstack-tiny",
                            headers=headers).json()["images"][0]["id"]
        flavor = http.get(f"{compute}/flavors/detail", headers=headers).json()["flavors"]
        nano = next(f["id"] for f in flavor if f["name"] == "m1.nano")
        server = http.post(f"{compute}/servers", headers=headers, json={"server": {
            "name": "startup-bench", "imageRef": image_id, "flavorRef": nano,
            "networks": "none"}}).json()["server"]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            status = http.get(f"{compute}/servers/{server['id']}",
                              headers=headers).json()["server"]["status"]
            if status == "ACTIVE":
                return str(server["id"])
            if status == "ERROR":
                raise RuntimeError("the benchmark's guest went to ERROR")
            time.sleep(0.5)
    raise RuntimeError("the benchmark's guest did not become ACTIVE in 300 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--virt-type", default="auto", choices=("auto", "kvm", "qemu"))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    image = Path(subprocess.run([str(ROOT / "tools" / "build-test-image")], check=True,
                                capture_output=True, text=True).stdout.strip())
    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-startup-"))
    state = work / "state"
    base = free_ports()
    settings = [f"compute.virt_type={args.virt_type}", "compute.host=bench-node"]
    warm: list[tuple[float, list[list[object]]]] = []
    try:
        first = timed_up(state, base, settings)
        boot_one(base, image, state, settings)
        for _ in range(args.runs):
            ownstack(state, base, PASSWORD, "down", settings=settings)
            warm.append(timed_up(state, base, settings))
            print(f"warm up: {warm[-1][0]:.2f} s", flush=True)
    finally:
        stop_ownstack(state)
        subprocess.run([sys.executable, "-m", "ownstack", "--state-dir", str(state),
                        "reset", "--yes"], capture_output=True, check=False)
        shutil.rmtree(work, ignore_errors=True)

    walls = [wall for wall, _ in warm]
    median_run = sorted(warm, key=lambda run: run[0])[len(warm) // 2]
    today = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## Start-up, {today} on {platform.node()} ({os.cpu_count()} cores, "
             f"{platform.python_implementation()} {platform.python_version()})", "",
             "Produced by `bench/bench_startup.py` (default config: the QEMU driver, "
             f"virt_type {args.virt_type}).", "",
             f"- first `ownstack up` (initialise + start): {first[0]:.2f} s; phases: "
             f"{_phases(first[1])}",
             f"- warm `ownstack up` with one running guest, {len(walls)} runs: median "
             f"{statistics.median(walls):.2f} s (min {min(walls):.2f}, max "
             f"{max(walls):.2f}); phases of the median run: {_phases(median_run[1])}",
             f"- target, warm up < {TARGET:g} s: "
             f"{'met' if statistics.median(walls) < TARGET else 'NOT met'}", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        append_results(RESULTS, "", text)
    return 0


def _phases(phases: list[list[object]]) -> str:
    return ", ".join(f"{name} {float(str(seconds)):.2f} s" for name, seconds in phases)


if __name__ == "__main__":
    raise SystemExit(main())
