#!/usr/bin/env python3
"""Block storage benchmark: volume creates with the real ``file`` driver.

Starts a private ownstack (fake compute and network, the ``file`` volume driver: real
qcow2 files and qemu-img), then measures, client-side, from just before the POST to the
first read that shows ``available`` (polled every 5 ms):

  * ``--blank`` blank 1 GiB volumes, one after the other;
  * ``--from-image`` volumes of an image (``--image``, else a 64 MiB qcow2 holding 8 MiB
    of data, made with qemu-img): the first one, then the rest (the agent downloads the
    image each time and checks it with the image service's rules before converting it);
  * the whole process's RSS at idle once the volumes are made (every API, the conductor,
    the compute, network and volume agents).

Targets (issue 15): blank create to available p50 under 100 ms; from the tiny image under
1 s; the all-in-one process under 150 MB RSS at idle. (Attach until the guest sees the
disk comes with compute's side.)

Results are appended to bench/results/volume.md with the date and machine.

    .venv/bin/python bench/bench_volume.py [--blank 30] [--from-image 5] [--image PATH]
                                           [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
from common import append_results, free_ports, ownstack, rss_mb, stop_ownstack

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "volume.md"
PASSWORD = "bench-secret"
V = {"OpenStack-API-Version": "volume 3.71"}
VOLUME_PORT_OFFSET = 6          # identity, image, placement, compute, network, metadata


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def make_image(work: Path) -> Path:
    disk = work / "bench.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 8M", str(disk)],
                   check=True, capture_output=True)
    return disk


async def run(base: int, image_path: Path, blank: int, from_image: int
              ) -> tuple[list[float], list[float]]:
    identity = f"http://127.0.0.1:{base}"
    volume = f"http://127.0.0.1:{base + VOLUME_PORT_OFFSET}/v3"
    async with httpx.AsyncClient(timeout=120) as http:
        r = await http.post(f"{identity}/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "admin", "domain": {"id": "default"}, "password": PASSWORD}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
        r.raise_for_status()
        h = {"X-Auth-Token": r.headers["X-Subject-Token"], **V}
        r = await http.get(f"{identity}/v3/auth/tokens",
                           headers={**h, "X-Subject-Token": h["X-Auth-Token"]})
        project = r.json()["token"]["project"]["id"]
        r = await http.put(f"{volume}/os-quota-sets/{project}", headers=h, json={
            "quota_set": {"volumes": -1, "gigabytes": -1}})
        r.raise_for_status()
        for _ in range(200):
            r = await http.get(f"{volume}/os-services", headers=h)
            if any(s["state"] == "up" for s in r.json()["services"]):
                break
            await asyncio.sleep(0.1)
        r = await http.post(f"http://127.0.0.1:{base + 1}/v2/images", headers=h, json={
            "name": "bench-image", "disk_format": "qcow2", "container_format": "bare"})
        r.raise_for_status()
        image = r.json()["id"]
        r = await http.put(f"http://127.0.0.1:{base + 1}/v2/images/{image}/file",
                           headers={**h, "Content-Type": "application/octet-stream"},
                           content=await asyncio.to_thread(image_path.read_bytes))
        r.raise_for_status()

        async def create(body: dict[str, object]) -> float:
            started = time.perf_counter()
            r = await http.post(f"{volume}/volumes", headers=h, json={"volume": body})
            r.raise_for_status()
            volume_id = r.json()["volume"]["id"]
            while True:
                r = await http.get(f"{volume}/volumes/{volume_id}", headers=h)
                status = r.json()["volume"]["status"]
                if status == "available":
                    return time.perf_counter() - started
                if status == "error":
                    raise RuntimeError(f"volume {volume_id} ended in error")
                await asyncio.sleep(0.005)

        blanks = [await create({"size": 1}) for _ in range(blank)]
        images = [await create({"size": 1, "imageRef": image}) for _ in range(from_image)]
        return blanks, images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blank", type=int, default=30)
    parser.add_argument("--from-image", type=int, default=5)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--no-record", action="store_true",
                        help="print the results without appending them to the results file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ownstack-bench-volume-"))
    state = work / "state"
    base = free_ports()
    settings = ["compute.driver=fake", "volume.driver=file", "log.access_log=false",
                "identity.bcrypt_rounds=4"]
    image = args.image or make_image(work)
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        pid = int(json.loads(ownstack(state, base, PASSWORD, "status", "--json",
                                      settings=settings).stdout)["pid"])
        blanks, images = asyncio.run(run(base, image, args.blank, args.from_image))
        time.sleep(5)
        idle_rss = rss_mb(pid)
    finally:
        stop_ownstack(state)
    b50, b95 = percentile(blanks, 50) * 1000, percentile(blanks, 95) * 1000
    first = images[0] * 1000 if images else float("nan")
    rest = [t * 1000 for t in images[1:]] or [first]
    i50 = percentile(rest, 50)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {platform.processor() or platform.machine()}, " \
              f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} " \
              f"cores, Python {platform.python_version()}"
    verdict = {True: "met", False: "MISSED"}
    text = (
        f"\n## {when} — {machine}\n\n"
        f"`file` driver (qcow2), SQLite, in-process bus; POST to the first read showing "
        f"`available`, polled every 5 ms. Image: {image.stat().st_size // 1024} KiB qcow2.\n\n"
        "| measurement | result | target |\n| --- | --- | --- |\n"
        f"| blank 1 GiB volume, p50 / p95 ({len(blanks)}) | {b50:.0f} / {b95:.0f} ms | "
        f"p50 < 100 ms: {verdict[b50 < 100]} |\n"
        f"| from the image, first | {first:.0f} ms | |\n"
        f"| from the image, then p50 ({len(rest)}) | {i50:.0f} ms | < 1 s: "
        f"{verdict[i50 < 1000]} |\n"
        f"| the all-in-one process at idle, RSS | {idle_rss:.0f} MB | < 150 MB: "
        f"{verdict[idle_rss < 150]} |\n")
    print(text)
    if not args.no_record:
        append_results(RESULTS, "# Block storage benchmark results\n\nRecorded by "
                       "`bench/bench_volume.py`; newest last.\n", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
