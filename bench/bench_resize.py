#!/usr/bin/env python3
"""Resize and shelve of a real guest under TCG: how long resize, revert, confirm, shelve
and unshelve take for the ``ownstack-tiny`` test image, beside a cold boot of the same
guest.

Starts a private ownstack with the QEMU driver (as ``bench/bench_qemu.py`` does), seeds
the tiny image and a flavor one size up from m1.nano (2 vCPUs, 192 MiB, 2 GiB), boots one
server to warm the image cache, then ``--runs`` times, on a fresh server each run:

* **boot**: ``POST /servers`` (m1.nano, no NIC) to the guest's ``login ready`` line;
* **resize**: ``resize`` to VERIFY_RESIZE (the guest powered off by ACPI, its disk kept
  and grown, QEMU started again with the new size), and to the new boot's login line;
* **revert**: ``revertResize`` to ACTIVE (the kept disk back, the old size, started
  again), and to the login line;
* **confirm**: a second resize, then ``confirmResize`` to ACTIVE (the kept disk and the
  migration's allocation dropped; the guest keeps running);
* **shelve**: ``shelve`` to SHELVED_OFFLOADED (offloaded at once, the default), and
  **unshelve** to ACTIVE and to the new guest's login line.

Results are appended to bench/results/qemu.md.

    .venv/bin/python bench/bench_resize.py [--runs 3] [--no-record]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_qemu import PASSWORD, RESULTS, Cloud, build_image
from common import append_results, free_ports, ownstack, stop_ownstack

MARKER = b"ownstack: login ready"
POLL = 0.02
TIMEOUT = 180.0
BIG = {"name": "m1.bench-big", "vcpus": 2, "ram": 192, "disk": 2, "id": "bench-big"}


class ResizeCloud(Cloud):
    def console(self, uuid: str) -> Path:
        return self.state / "compute" / "qemu" / "bench-node" / "instances" / uuid / \
            "console.log"

    def wait(self, uuid: str, status: str, t0: float) -> float:
        while (server := self.server(uuid)) is None or server["status"] != status:
            if server is not None and server["status"] == "ERROR":
                raise RuntimeError(f"failed: {server.get('fault')}")
            if time.perf_counter() - t0 > TIMEOUT:
                raise TimeoutError(f"no {status}")
            time.sleep(POLL)
        return time.perf_counter() - t0

    def markers(self, uuid: str, count: int, t0: float) -> float:
        path = self.console(uuid)
        while time.perf_counter() - t0 < TIMEOUT:
            try:
                if path.read_bytes().count(MARKER) >= count:
                    return time.perf_counter() - t0
            except FileNotFoundError:
                pass
            time.sleep(POLL)
        raise TimeoutError(f"login marker x{count} never came")

    def act(self, uuid: str, body: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        self.http.post(f"{self.compute}/servers/{uuid}/action", json=body).raise_for_status()
        return t0

    def run(self, image: str, name: str) -> dict[str, float]:
        t0 = time.perf_counter()
        r = self.http.post(f"{self.compute}/servers", json={"server": {
            "name": name, "imageRef": image, "flavorRef": "42", "networks": "none"}})
        r.raise_for_status()
        uuid = r.json()["server"]["id"]
        out = {"boot": self.markers(uuid, 1, t0)}
        t0 = self.act(uuid, {"resize": {"flavorRef": BIG["id"]}})
        out["resize"] = self.wait(uuid, "VERIFY_RESIZE", t0)
        out["resize_login"] = self.markers(uuid, 2, t0)
        t0 = self.act(uuid, {"revertResize": None})
        out["revert"] = self.wait(uuid, "ACTIVE", t0)
        out["revert_login"] = self.markers(uuid, 3, t0)
        t0 = self.act(uuid, {"resize": {"flavorRef": BIG["id"]}})
        self.wait(uuid, "VERIFY_RESIZE", t0)
        self.markers(uuid, 4, t0)
        t0 = self.act(uuid, {"confirmResize": None})
        out["confirm"] = self.wait(uuid, "ACTIVE", t0)
        t0 = self.act(uuid, {"shelve": None})
        out["shelve"] = self.wait(uuid, "SHELVED_OFFLOADED", t0)
        t0 = self.act(uuid, {"unshelve": None})
        out["unshelve"] = self.wait(uuid, "ACTIVE", t0)
        out["unshelve_login"] = self.markers(uuid, 1, t0)     # a new guest, a new console
        self.http.delete(f"{self.compute}/servers/{uuid}").raise_for_status()
        while self.server(uuid) is not None:
            time.sleep(0.1)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    image = build_image()
    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-resize-"))
    state = work / "state"
    base = free_ports()
    settings = ["compute.driver=qemu", "compute.virt_type=qemu", "compute.host=bench-node",
                "log.access_log=false", "identity.bcrypt_rounds=4"]
    rows: list[dict[str, float]] = []
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        ownstack(state, base, PASSWORD, "seed", "--image", str(image), settings=settings)
        cloud = ResizeCloud(base, state)
        cloud.http.post(f"{cloud.compute}/flavors", json={"flavor": BIG}).raise_for_status()
        image_id = cloud.http.get(f"http://127.0.0.1:{base + 1}/v2/images?name=ownstack-tiny"
                                  ).json()["images"][0]["id"]
        cloud.boot(image_id, "warm-up")
        for i in range(args.runs):
            rows.append(cloud.run(image_id, f"bench-{i}"))
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in rows[-1].items()),
                  flush=True)
    finally:
        stop_ownstack(state)

    def median(key: str) -> float:
        return statistics.median(row[key] for row in rows)

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {platform.machine()}, {os.cpu_count()} cores"
    load = os.getloadavg()
    labels = (("boot", "cold boot: POST /servers -> guest login marker"),
              ("resize", "resize: POST -> VERIFY_RESIZE (guest off by ACPI, disk kept and "
                         "grown, QEMU started with 2 vCPUs / 192 MiB)"),
              ("resize_login", "resize: POST -> the resized guest's login marker"),
              ("revert", "revert: POST -> ACTIVE (old disk and size back, started)"),
              ("revert_login", "revert: POST -> the reverted guest's login marker"),
              ("confirm", "confirm: POST -> ACTIVE (kept disk and old allocation dropped)"),
              ("shelve", "shelve: POST -> SHELVED_OFFLOADED (guest off by ACPI, disk uploaded "
                         "as an image, guest destroyed, allocation dropped)"),
              ("unshelve", "unshelve: POST -> ACTIVE (scheduled, spawned from the image)"),
              ("unshelve_login", "unshelve: POST -> the guest's login marker"))
    text = (f"\n## {when} — resize and shelve (bench/bench_resize.py), {machine}, "
            f"accelerator tcg\n\n"
            f"{args.runs} runs, a fresh m1.nano server each, resized to 2 vCPUs / 192 MiB / "
            f"2 GiB, no NIC. Load average at the end {load[0]:.2f} / {load[1]:.2f} / "
            f"{load[2]:.2f}.\n\n| measurement (median) | result |\n| --- | --- |\n"
            + "".join(f"| {label} | {median(key):.2f} s |\n" for key, label in labels)
            + "\nEvery run (seconds): " + "; ".join(
                ", ".join(f"{k} {v:.2f}" for k, v in row.items()) for row in rows) + ".\n")
    print(text)
    if not args.no_record:
        append_results(RESULTS, "", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
