#!/usr/bin/env python3
"""Server actions on a real guest: suspend + resume and pause + unpause against a reboot.

Starts a private ownstack with the QEMU driver, registers the ``ownstack-tiny`` test image
and boots one m1.nano server (128 MiB, config drive, no NIC) whose console counts every
second (the image's heartbeat, server property ``ownstack_heartbeat``). Then ``--runs``
times, alternating so that machine load drifts alike for each:

* **suspend + resume**: ``suspend``, wait for SUSPENDED (memory saved, QEMU gone), then
  ``resume`` and wait for ACTIVE and for the guest's next tick on its console: the time
  until the guest runs again where it was.
* **pause + unpause**: the same with ``pause`` and ``unpause`` (QMP ``stop``/``cont``).
* **hard reboot**: ``reboot --hard``, wait for ACTIVE and for the guest's next
  ``ownstack: login ready`` marker: the time until a rebooted guest is usable again.

Target (issue 16): suspend plus resume of a 128 MiB guest faster than a reboot. Results
are appended to bench/results/qemu.md with the date, machine and accelerator.

    .venv/bin/python bench/bench_qemu_actions.py [--runs 5] [--virt-type qemu] [--no-record]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_qemu import PASSWORD, POLL, Cloud, build_image
from common import append_results, free_ports, ownstack, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "qemu.md"
TIMEOUT = 180.0
TICK = re.compile(rb"ownstack: tick (\d+)\b")
LOGIN = b"ownstack: login ready"


class Guest:
    def __init__(self, cloud: Cloud, uuid: str, console: Path) -> None:
        self.cloud, self.uuid, self.console = cloud, uuid, console

    def act(self, body: dict[str, object]) -> None:
        r = self.cloud.http.post(f"{self.cloud.compute}/servers/{self.uuid}/action",
                                 json=body)
        r.raise_for_status()

    def rests(self, status: str) -> None:
        self.until(lambda: (s := self.cloud.server(self.uuid)) is not None
                   and s["status"] == status and s["OS-EXT-STS:task_state"] is None)

    def last_tick(self) -> int:
        ticks = TICK.findall(self.console.read_bytes())
        return int(ticks[-1]) if ticks else 0

    def logins(self) -> int:
        return self.console.read_bytes().count(LOGIN)

    @staticmethod
    def until(probe: Callable[[], object]) -> None:
        deadline = time.perf_counter() + TIMEOUT
        while not probe():
            if time.perf_counter() > deadline:
                raise TimeoutError("the guest never got there")
            time.sleep(POLL)


def suspend_resume(guest: Guest) -> dict[str, float]:
    t0 = time.perf_counter()
    guest.act({"suspend": None})
    guest.rests("SUSPENDED")
    suspended = time.perf_counter() - t0
    tick = guest.last_tick()
    t1 = time.perf_counter()
    guest.act({"resume": None})
    guest.rests("ACTIVE")
    active = time.perf_counter() - t0
    guest.until(lambda: guest.last_tick() > tick)
    return {"suspend": suspended, "resume": time.perf_counter() - t1, "active": active,
            "running": time.perf_counter() - t0}


def pause_unpause(guest: Guest) -> dict[str, float]:
    t0 = time.perf_counter()
    guest.act({"pause": None})
    guest.rests("PAUSED")
    tick = guest.last_tick()
    guest.act({"unpause": None})
    guest.rests("ACTIVE")
    active = time.perf_counter() - t0
    guest.until(lambda: guest.last_tick() > tick)
    return {"active": active, "running": time.perf_counter() - t0}


def hard_reboot(guest: Guest) -> dict[str, float]:
    logins = guest.logins()
    t0 = time.perf_counter()
    guest.act({"reboot": {"type": "HARD"}})
    guest.rests("ACTIVE")
    active = time.perf_counter() - t0
    guest.until(lambda: guest.logins() > logins)
    return {"active": active, "running": time.perf_counter() - t0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--virt-type", default="qemu", choices=("auto", "kvm", "qemu"))
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    image = build_image()
    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-actions-"))
    state = work / "state"
    base = free_ports()
    settings = ["compute.driver=qemu", f"compute.virt_type={args.virt_type}",
                "compute.host=bench-node", "log.access_log=false",
                "identity.bcrypt_rounds=4"]
    rows: dict[str, list[dict[str, float]]] = {"suspend": [], "pause": [], "reboot": []}
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        ownstack(state, base, PASSWORD, "seed", "--image", str(image), settings=settings)
        cloud = Cloud(base, state)
        image_id = cloud.http.get(f"http://127.0.0.1:{base + 1}/v2/images?name=ownstack-tiny"
                                  ).json()["images"][0]["id"]
        r = cloud.http.post(f"{cloud.compute}/servers", json={"server": {
            "name": "bench-actions", "imageRef": image_id, "flavorRef": "42",
            "networks": "none", "config_drive": True,
            "metadata": {"ownstack_heartbeat": "1"}}})
        r.raise_for_status()
        uuid = r.json()["server"]["id"]
        console = state / "compute" / "qemu" / "bench-node" / "instances" / uuid / \
            "console.log"
        guest = Guest(cloud, uuid, console)
        guest.rests("ACTIVE")
        guest.until(lambda: console.exists() and guest.last_tick() >= 2)
        accel = cloud.http.get(f"{cloud.compute}/servers/{uuid}/diagnostics",
                               headers={"OpenStack-API-Version": "compute 2.1"}
                               ).json()["accel"]
        for i in range(args.runs):
            rows["suspend"].append(suspend_resume(guest))
            rows["pause"].append(pause_unpause(guest))
            rows["reboot"].append(hard_reboot(guest))
            guest.until(lambda: guest.last_tick() >= 2)     # the rebooted guest counts
            print(f"run {i + 1}: suspend+resume {rows['suspend'][-1]['running']:.2f}s, "
                  f"pause+unpause {rows['pause'][-1]['running']:.2f}s, hard reboot "
                  f"{rows['reboot'][-1]['running']:.2f}s", flush=True)
    finally:
        stop_ownstack(state)

    def median(kind: str, key: str) -> float:
        return statistics.median(row[key] for row in rows[kind])

    ours, reboot = median("suspend", "running"), median("reboot", "running")
    verdict = "met" if ours < reboot else "MISSED"
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {platform.machine()}, {os.cpu_count()} cores"
    load = os.getloadavg()
    text = (
        f"\n## {when} — server actions (bench/bench_qemu_actions.py), {machine}, "
        f"accelerator {accel}\n\n"
        f"{args.runs} runs of each, alternating, on one m1.nano guest (128 MiB, config "
        f"drive, no NIC) counting on its console every second. Load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.\n\n"
        "| action (median) | to ACTIVE | until the guest runs again |\n| --- | --- | --- |\n"
        f"| **suspend + resume** (memory to a file, QEMU ended, restored) | "
        f"{median('suspend', 'active'):.2f} s | **{ours:.2f} s** (next tick) |\n"
        f"| of which suspend (POST to SUSPENDED) | {median('suspend', 'suspend'):.2f} s | |\n"
        f"| of which resume (POST to the next tick) | | {median('suspend', 'resume'):.2f} s |\n"
        f"| pause + unpause (QMP stop, cont) | {median('pause', 'active'):.2f} s | "
        f"{median('pause', 'running'):.2f} s (next tick) |\n"
        f"| **hard reboot** | {median('reboot', 'active'):.2f} s | **{reboot:.2f} s** "
        f"(login marker) |\n\n"
        f"Target: suspend plus resume of a 128 MiB guest faster than a reboot: {verdict} "
        f"({ours:.2f} s against {reboot:.2f} s).\n\nEvery run (seconds, until running): "
        "suspend+resume " + ", ".join(f"{r['running']:.2f}" for r in rows["suspend"])
        + "; pause+unpause " + ", ".join(f"{r['running']:.2f}" for r in rows["pause"])
        + "; hard reboot " + ", ".join(f"{r['running']:.2f}" for r in rows["reboot"])
        + ".\n")
    print(text)
    if not args.no_record:
        append_results(RESULTS, "# Real-guest boot benchmark (bench/bench_qemu.py)\n", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
