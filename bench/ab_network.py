#!/usr/bin/env python3
"""Side-by-side server CPU per network write of two ownstack trees (decisions 85, 87).

Both trees are started at once as ``bench/bench_network.py --shape no-agent`` starts
ownstack (SQLite, every role but the network agent, unlimited network quotas, no access
log), each from its own directory with ``PYTHONPATH`` set to it, and driven in short
alternating batches, the order flipped each round, so that both meet the same noise
(steal time, another helper's work). Each batch's server CPU (``/proc/PID/stat``) is
divided by its requests. Operations, in each round and side: network create, subnet
create (one per new network), port create (on a network with a /16, a new one every 500
ports, as many as the benchmark makes on its one), router create and
router delete, all at concurrency 8 on keep-alive connections, then ``--sg`` security group
creates one at a time, each the first of a new project (``project_id`` in the body, as
admin): its default group is made with it, as in the benchmark's ``security_group_create.c1``.

Prints per operation the median over rounds of each side's CPU ms per request and of the
per-round ratios new/old. Run it with ``--old`` and ``--new`` the same tree first to know
the spread.

    .venv/bin/python bench/ab_network.py --old ../../main --new . [--rounds 10]
        [--per-batch 200] [--sg 5] [--ops port_create,router_create]
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
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from common import TreeSide, admin_token

PASSWORD = "ab-network"
WORKERS = 8
# The benchmark makes its 500 ports on one network (the first 250 one at a time): a port
# create's cost grows a little with the ports of its network and project, so the port
# creates here move to a new network past that many.
PORTS_PER_NETWORK = 500
OPS = ("network_create", "subnet_create", "port_create", "router_create", "router_delete",
       "sg_create_first")


class Side(TreeSide):
    """One tree's ownstack, started from its own directory."""

    def __init__(self, name: str, tree: Path, work: Path) -> None:
        super().__init__(name, tree, work, PASSWORD, [
            "network.driver=fake", "compute.driver=fake", "log.access_log=false",
            "roles=api,conductor,compute,volume", "roles_alone=true",
            *(f"network.quota.{name}=-1" for name in (
                "network", "subnet", "port", "router", "floatingip",
                "security_group", "security_group_rule"))])
        self.net_port = self.port("network.port")
        self.token = ""
        self.port_net = ""
        self.ports_on_net = 0
        self.counter = 0
        self.nets: list[str] = []
        self.routers: list[str] = []

    def up(self) -> None:
        self.start()
        with httpx.Client(timeout=60) as http:
            self.token = admin_token(http, self.base, PASSWORD)
        self.ports_network()

    def ports_network(self) -> None:
        """A new network with a /16 for the port creates to come."""
        conn = self.conn()
        self.port_net = str(self.post(conn, "networks", {"network": {"name": "ab-ports"}})["id"])
        self.post(conn, "subnets", {"subnet": {"network_id": self.port_net, "ip_version": 4,
                                               "cidr": "10.200.0.0/16", "name": "ab-ps"}})
        conn.close()
        self.ports_on_net = 0

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.net_port)

    def request(self, conn: http.client.HTTPConnection, method: str, path: str,
                body: object | None, expect: int) -> bytes:
        headers = {"X-Auth-Token": self.token, "Content-Type": "application/json"}
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers=headers)
        r = conn.getresponse()
        data = r.read()
        if r.status != expect:
            raise RuntimeError(f"{self.name}: {method} {path} {r.status} {data[:300]!r}")
        return data

    def post(self, conn: http.client.HTTPConnection, coll: str, body: dict[str, object]
             ) -> dict[str, object]:
        data = self.request(conn, "POST", f"/v2.0/{coll}", body, 201)
        found: dict[str, object] = next(iter(json.loads(data).values()))
        return found

    def many(self, items: list[object], one: Callable[[http.client.HTTPConnection, object],
                                                     object], workers: int) -> list[object]:
        todo = list(enumerate(items))
        out: list[object] = [None] * len(items)
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker() -> None:
            conn = self.conn()
            try:
                while True:
                    with lock:
                        if not todo or errors:
                            return
                        i, item = todo.pop()
                    out[i] = one(conn, item)
            except BaseException as exc:   # reported by the caller
                errors.append(exc)
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return out

    def run(self, op: str, count: int, sg: int) -> tuple[float, int]:
        """CPU seconds and requests of one batch of ``op``."""
        n = sg if op == "sg_create_first" else count
        base = self.counter
        self.counter += n
        items: list[object] = list(range(base, base + n))
        one: Callable[[http.client.HTTPConnection, object], object]
        workers = WORKERS
        if op == "network_create":
            def one(conn: http.client.HTTPConnection, i: object) -> object:
                return self.post(conn, "networks", {"network": {"name": f"ab-n{i}"}})["id"]
        elif op == "subnet_create":
            nets, self.nets = self.nets[:n], self.nets[n:]
            items = list(enumerate(nets))

            def one(conn: http.client.HTTPConnection, it: object) -> object:
                i, net = it  # type: ignore[misc]
                return self.post(conn, "subnets", {"subnet": {
                    "network_id": net, "ip_version": 4, "name": "ab-s",
                    "cidr": f"10.{100 + i // 256}.{i % 256}.0/24"}})
        elif op == "port_create":
            if self.ports_on_net + n > PORTS_PER_NETWORK:
                self.ports_network()
            self.ports_on_net += n

            def one(conn: http.client.HTTPConnection, i: object) -> object:
                return self.post(conn, "ports", {"port": {"network_id": self.port_net,
                                                          "name": f"ab-p{i}"}})
        elif op == "router_create":
            def one(conn: http.client.HTTPConnection, i: object) -> object:
                return self.post(conn, "routers", {"router": {"name": f"ab-r{i}"}})["id"]
        elif op == "router_delete":
            items, self.routers = list(self.routers[:n]), self.routers[n:]

            def one(conn: http.client.HTTPConnection, rid: object) -> object:
                return self.request(conn, "DELETE", f"/v2.0/routers/{rid}", None, 204)
        else:
            workers = 1

            def one(conn: http.client.HTTPConnection, i: object) -> object:
                return self.post(conn, "security-groups", {"security_group": {
                    "name": f"ab-sg{i}", "project_id": uuid.uuid4().hex}})
        before = self.cpu()
        out = self.many(items, one, workers)
        spent = self.cpu() - before
        if op == "network_create":
            self.nets += [str(x) for x in out]
        elif op == "router_create":
            self.routers += [str(x) for x in out]
        return spent, len(items)


def first_in_process(old: Path, new: Path, pairs: int) -> None:
    """``--cold``: the benchmark's ``security_group_create.c1`` is one sample, often the
    process's first group create, whose statements compile then (decision 91). Each pair
    starts both trees afresh (the order flipped each pair) and times, one side after the
    other, the first group create of a new project, then a second: wall ms (the server's
    CPU in parentheses, ``/proc``'s clock ticks)."""
    found: dict[str, list[tuple[float, float, float, float]]] = {"old": [], "new": []}
    for pair in range(pairs):
        with tempfile.TemporaryDirectory(prefix="ab-network-") as tmp:
            sides = [Side("old", old.resolve(), Path(tmp)), Side("new", new.resolve(), Path(tmp))]
            if pair % 2:
                sides.reverse()
            try:
                for side in sides:
                    side.up()
                for side in sides:
                    conn = side.conn()
                    times = []
                    for i in range(2):
                        cpu, wall = side.cpu(), time.perf_counter()
                        side.post(conn, "security-groups", {"security_group": {
                            "name": f"ab-cold{i}", "project_id": uuid.uuid4().hex}})
                        times += [(time.perf_counter() - wall) * 1000,
                                  (side.cpu() - cpu) * 1000]
                    conn.close()
                    found[side.name].append((times[0], times[1], times[2], times[3]))
            finally:
                for side in sides:
                    side.down()
        print(f"{time.strftime('%H:%M:%S', time.gmtime())} pair {pair + 1}: " + " ".join(
            f"{name} first {found[name][-1][0]:.2f} ({found[name][-1][1]:.0f}) "
            f"second {found[name][-1][2]:.2f} ({found[name][-1][3]:.0f})"
            for name in ("old", "new")), flush=True)
    for name in ("old", "new"):
        print(f"{name}: medians, first {statistics.median(t[0] for t in found[name]):.2f} ms "
              f"wall ({statistics.median(t[1] for t in found[name]):.0f} ms CPU), second "
              f"{statistics.median(t[2] for t in found[name]):.2f} ms wall")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-batch", type=int, default=200)
    parser.add_argument("--sg", type=int, default=5)
    parser.add_argument("--ops", default=",".join(OPS))
    parser.add_argument("--cold", type=int, default=0,
                        help="pairs of fresh processes timing their first group create")
    args = parser.parse_args()
    if args.cold:
        first_in_process(args.old, args.new, args.cold)
        return 0
    ops = [op for op in args.ops.split(",") if op]
    if "subnet_create" in ops and "network_create" not in ops:
        ops.insert(ops.index("subnet_create"), "network_create")
    if "router_delete" in ops and "router_create" not in ops:
        ops.insert(ops.index("router_delete"), "router_create")
    with tempfile.TemporaryDirectory(prefix="ab-network-") as tmp:
        sides = [Side("old", args.old.resolve(), Path(tmp)),
                 Side("new", args.new.resolve(), Path(tmp))]
        try:
            for side in sides:
                side.up()
            per: dict[str, dict[str, list[float]]] = {op: {"old": [], "new": []} for op in ops}
            print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC start, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
            for r in range(args.rounds):
                order = sides if r % 2 == 0 else sides[::-1]
                for op in ops:
                    for side in order:
                        spent, n = side.run(op, args.per_batch, args.sg)
                        per[op][side.name].append(spent * 1000 / n)
                print(f"round {r + 1}: " + " ".join(
                    f"{op} {per[op]['old'][-1]:.2f}/{per[op]['new'][-1]:.2f}" for op in ops),
                    flush=True)
            print(f"{time.strftime('%H:%M:%S', time.gmtime())} UTC end, "
                  f"load {os.getloadavg()[0]:.1f}")
            print(f"{'operation':<18} {'old ms':>8} {'new ms':>8} {'new/old':>8}  "
                  "(medians over rounds; ratio: median of per-round ratios)")
            for op in ops:
                old, new = per[op]["old"], per[op]["new"]
                # A batch too short for the clock's tick can show no CPU at all.
                ratios = [b / a for a, b in zip(old, new, strict=True) if a]
                shown = f"{statistics.median(ratios):8.3f}" if ratios else f"{'-':>8}"
                print(f"{op:<18} {statistics.median(old):8.2f} {statistics.median(new):8.2f} "
                      f"{shown}")
        finally:
            for side in sides:
                side.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
