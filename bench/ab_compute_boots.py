#!/usr/bin/env python3
"""Side-by-side CPU per boot of two ownstack trees, finely interleaved (decision 84).

On a machine whose speed drifts (steal time, another benchmark on the same cores),
alternating whole runs of ``bench_compute_peers.py`` differs by up to 30% between two runs
of the same tree, far more than a change of a few per cent. This driver starts both trees
at once (each from its own directory, ``PYTHONPATH`` set to it, as the benchmark starts
ownstack: SQLite, the fake driver on 4 hosts of Nova's fake size, unlimited quotas,
``m1.nano`` and a 1 MiB raw image) and drives them in short alternating rounds, the order
flipped each round, so that both meet the same noise:

* ``--mode poll`` (default): each round is ``--per-round`` boots by 8 workers that post a
  boot, sleep 50 ms and poll ``GET /servers/{id}`` every 50 ms until ACTIVE, as the
  peers' generator does: the server CPU per boot includes its polls, as the benchmark's.
* ``--mode nopoll``: the boots are posted back to back and ``/servers?status=BUILD`` is
  read every 0.3 s until none is left. Cheaper to resolve, but biased: the conductor
  places what waits in one pass, and posting without pauses makes passes far larger than
  the benchmark's, so a change that only shifts timing moves the CPU per boot.

Then ``--poll-rounds`` rounds of 400 status polls of existing servers each. Each side's
CPU (``/proc/PID/stat``) is summed over its rounds and its idle rate (measured for 5 s
first) taken off. Prints CPU per boot, per poll, polls per boot and boots/s, and the
ratios new/old.

    .venv/bin/python bench/ab_compute_boots.py --old ../main --new . [--rounds 80]
        [--per-round 24] [--poll-rounds 4] [--mode poll|nopoll]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from bench_compute_peers import NOVA_FAKE_HOST, PASSWORD, V, prepare
from common import TreeSide, admin_token

HOSTS = 4
WORKERS = 8
POLL = 0.05


class Side(TreeSide):
    """One tree's ownstack, started from its own directory."""

    def __init__(self, name: str, tree: Path, work: Path) -> None:
        super().__init__(name, tree, work, PASSWORD, [
            "network.driver=fake", "compute.driver=fake", f"compute.fake_nodes={HOSTS}",
            *(f"compute.fake_{key}={value}" for key, value in NOVA_FAKE_HOST.items()),
            "compute.quota.instances=-1", "compute.quota.cores=-1", "compute.quota.ram=-1"])
        self.token = self.image = ""

    def up(self) -> None:
        self.start()
        prepare(self.base, HOSTS)
        with httpx.Client(timeout=60) as http:
            self.token = admin_token(http, self.base, PASSWORD)
            images = http.get(f"http://127.0.0.1:{self.base + 1}/v2/images?name=bench-tiny-raw",
                              headers={"X-Auth-Token": self.token}).json()["images"]
        self.image = images[0]["id"]

    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.token, "Content-Type": "application/json", **V}

    def boots(self, count: int, poll: bool) -> int:
        """``count`` boots by the workers; the status polls they made."""
        todo = list(range(count))
        lock = threading.Lock()
        polls = [0]

        def worker() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.base + 3)
            while True:
                with lock:
                    if not todo:
                        break
                    i = todo.pop()
                body = json.dumps({"server": {"name": f"ab-{i}", "imageRef": self.image,
                                              "flavorRef": "42", "networks": "none"}})
                conn.request("POST", "/v2.1/servers", body=body, headers=self.headers())
                r = conn.getresponse()
                data = r.read()
                if r.status != 202:
                    raise RuntimeError(f"{self.name}: POST /servers {r.status} {data[:200]!r}")
                uuid = json.loads(data)["server"]["id"]
                while poll:
                    time.sleep(POLL)
                    conn.request("GET", f"/v2.1/servers/{uuid}", headers=self.headers())
                    status = json.loads(conn.getresponse().read())["server"]["status"]
                    with lock:
                        polls[0] += 1
                    if status in ("ACTIVE", "ERROR"):
                        break
            conn.close()
        threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if not poll:
            conn = http.client.HTTPConnection("127.0.0.1", self.base + 3)
            while True:
                time.sleep(0.3)
                conn.request("GET", "/v2.1/servers?status=BUILD", headers=self.headers())
                if not json.loads(conn.getresponse().read())["servers"]:
                    break
            conn.close()
        return polls[0]

    def polls(self, count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.base + 3)
        conn.request("GET", "/v2.1/servers?limit=50", headers=self.headers())
        uuids = [s["id"] for s in json.loads(conn.getresponse().read())["servers"]]
        conn.close()

        def worker(k: int) -> None:
            c = http.client.HTTPConnection("127.0.0.1", self.base + 3)
            for i in range(count // WORKERS):
                c.request("GET", f"/v2.1/servers/{uuids[(i + k) % len(uuids)]}",
                          headers=self.headers())
                c.getresponse().read()
            c.close()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="the reference tree")
    parser.add_argument("--new", type=Path, required=True, help="the tree measured")
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--per-round", type=int, default=24)
    parser.add_argument("--poll-rounds", type=int, default=4)
    parser.add_argument("--mode", choices=("poll", "nopoll"), default="poll")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ab-compute-boots-"))
    sides = [Side("old", args.old.resolve(), work), Side("new", args.new.resolve(), work)]
    poll = args.mode == "poll"
    try:
        for side in sides:
            side.up()
        for side in sides:                  # warm both: statement caches, pools
            side.boots(24, poll)
            side.polls(200)
        start = {side.name: side.cpu() for side in sides}
        time.sleep(5)
        idle = {side.name: (side.cpu() - start[side.name]) / 5 for side in sides}
        cpu: dict[str, float] = dict.fromkeys(idle, 0.0)
        wall: dict[str, float] = dict.fromkeys(idle, 0.0)
        polls: dict[str, int] = dict.fromkeys(idle, 0)
        rounds: dict[str, list[float]] = {name: [] for name in idle}
        began = time.strftime("%H:%M:%S")
        for r in range(args.rounds):
            for side in sides if r % 2 == 0 else sides[::-1]:
                c0, t0 = side.cpu(), time.perf_counter()
                polls[side.name] += side.boots(args.per_round, poll)
                seconds, used = time.perf_counter() - t0, side.cpu() - c0
                cpu[side.name] += used
                wall[side.name] += seconds
                rounds[side.name].append(
                    (used - idle[side.name] * seconds) * 1000 / args.per_round)
        boots = args.rounds * args.per_round
        per_boot = {n: (cpu[n] - idle[n] * wall[n]) * 1000 / boots for n in idle}
        pcpu: dict[str, float] = dict.fromkeys(idle, 0.0)
        pwall: dict[str, float] = dict.fromkeys(idle, 0.0)
        for r in range(args.poll_rounds):
            for side in sides if r % 2 == 0 else sides[::-1]:
                c0, t0 = side.cpu(), time.perf_counter()
                side.polls(400)
                pwall[side.name] += time.perf_counter() - t0
                pcpu[side.name] += side.cpu() - c0
        per_poll = {n: (pcpu[n] - idle[n] * pwall[n]) * 1000 / max(1, args.poll_rounds * 400)
                    for n in idle}
        print(f"{time.strftime('%Y-%m-%d')} {began}-{time.strftime('%H:%M:%S')} UTC, "
              f"{args.rounds} rounds of {args.per_round} boots ({args.mode}), "
              f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        for name in idle:
            print(f"{name}: CPU per boot {per_boot[name]:.2f} ms (round median "
                  f"{statistics.median(rounds[name]):.2f}), per status poll "
                  f"{per_poll[name]:.3f} ms, polls per boot {polls[name] / boots:.2f}, "
                  f"boots/s {boots / wall[name]:.1f}")
        ratios = [b / a for a, b in zip(rounds["old"], rounds["new"], strict=True)]
        print(f"new/old: CPU per boot {per_boot['new'] / per_boot['old']:.3f} (median of "
              f"rounds {statistics.median(ratios):.3f}), per poll "
              f"{per_poll['new'] / per_poll['old']:.3f}, boots/s "
              f"{wall['old'] / wall['new']:.3f}")
    finally:
        for side in sides:
            side.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
