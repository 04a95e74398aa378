#!/usr/bin/env python3
"""Network benchmark: ownstack's network service beside the real Neutron 29, in one run.

Both sides meet the same client: the load generator of ``/work/shared/peers``
(``bench_compute_network_peers.py --suites network``), which creates networks and
subnets, ports (on one /16), security group rules, routers, router interfaces and
floating IPs at each ``--net-concurrency`` level, lists the ports, and deletes it all,
timing every operation and reading the server's CPU from ``/proc``.

* ownstack: its own ``ownstack up`` on a temporary state directory and free ports
  (SQLite, the in-process bus, the fake compute driver), as the admin;
* Neutron 29: the peer that ``setup-openstack-compute-peers.sh`` starts (neutron-api in
  uWSGI with 2 workers and neutron-rpc-server, on MariaDB and RabbitMQ), when its
  Keystone answers on 127.0.0.1:35357; ``--no-peer`` skips it.

The targets (issue 13): port create at concurrency 8 at 50 times Neutron's throughput or
more, listing 500 ports with a p50 under 20 ms, server CPU per port create under 5 ms, and
every other operation measured at least 20 times faster than Neutron's in the same run.
A dated section with both sides' figures and the ratios goes to bench/results/network.md.

    .venv/bin/python bench/bench_network.py [--net-concurrency 1,8] [--ports 500]
                                            [--no-peer] [--peers-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

from common import (
    PEER_KEYSTONE,
    PEER_PASSWORD,
    PEER_PIDS,
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

PASSWORD = "bench-network-pw"
RESULTS = Path(__file__).resolve().parent / "results" / "network.md"
HEADER = """# Network benchmark results

ownstack's network service and the real Neutron 29 (API only: uWSGI with 2 workers,
neutron-rpc-server, MariaDB, RabbitMQ), measured in one run by the same load generator
(`../shared/peers/bench_compute_network_peers.py --suites network`), on the same machine.
`bench/bench_network.py` reruns it.

Targets: port create at concurrency 8 >= 50x Neutron's throughput; listing 500 ports
p50 < 20 ms; server CPU per port create < 5 ms; every other operation >= 20x Neutron's.
"""


# What the two sides' server CPU holds beyond the API (the peer has no agents; ownstack's
# network agent runs in its process with the fake driver, which serves DHCP).
AGENTS_NOTE = ("- both sides: ownstack's server CPU includes its in-process network agent "
               "(fake driver): a DHCP port made with each subnet, one read of the network "
               "per burst of port changes; the Neutron peer runs no agents (ML2 without "
               "agents: no DHCP port, no DHCP scheduling)")


def generator(peers: Path, out: Path, label: str, keystone: str, password: str,
              server_pids: str, args: argparse.Namespace) -> dict[str, Any]:
    """One run of the load generator's network suite; its JSON document."""
    return peer_generator(peers, out, label, keystone, password, server_pids,
                          ["--suites", "network", "--net-concurrency", args.net_concurrency,
                           "--ports", str(args.ports)])


def table(own: dict[str, dict[str, Any]], peer: dict[str, dict[str, Any]]) -> str:
    rows = ["| operation | ownstack ops/s | p50 ms | CPU ms/op | Neutron ops/s | p50 ms | "
            "CPU ms/op | throughput | p50 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, mine in own.items():
        theirs = peer.get(name, {})
        rows.append(
            f"| {name.removeprefix('network.')} | {mine.get('ops_per_s')} | "
            f"{mine.get('p50_ms')} | {mine.get('server_cpu_ms_per_op')} | "
            f"{theirs.get('ops_per_s', '-')} | {theirs.get('p50_ms', '-')} | "
            f"{theirs.get('server_cpu_ms_per_op', '-')} | "
            f"{ratio(mine.get('ops_per_s'), theirs.get('ops_per_s'))} | "
            f"{ratio(theirs.get('p50_ms'), mine.get('p50_ms'))} |")
    return "\n".join(rows)


def verdicts(own: dict[str, dict[str, Any]], peer: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    port8 = own.get("network.port_create.c8", {})
    peer8 = peer.get("network.port_create.c8", {})
    if port8 and peer8 and peer8.get("ops_per_s"):
        factor = port8["ops_per_s"] / peer8["ops_per_s"]
        lines.append(f"- port create at c=8: {factor:.1f}x Neutron's throughput "
                     f"(target >= 50x: {'met' if factor >= 50 else 'missed'})")
    listing = own.get("network.port_list", {})
    if listing.get("p50_ms") is not None:
        lines.append(f"- listing {listing.get('items')} ports: p50 {listing['p50_ms']} ms "
                     f"(target < 20 ms: {'met' if listing['p50_ms'] < 20 else 'missed'})")
    cpu = [own[n].get("server_cpu_ms_per_op") for n in own if ".port_create." in n]
    cpu = [c for c in cpu if c is not None]
    if cpu:
        worst = max(cpu)
        lines.append(f"- server CPU per port create: at most {worst} ms "
                     f"(target < 5 ms: {'met' if worst < 5 else 'missed'})")
    slow = []
    for name, mine in own.items():
        theirs = peer.get(name, {})
        if ".port_create." in name or not theirs.get("p50_ms") or not mine.get("p50_ms"):
            continue
        if theirs["p50_ms"] / mine["p50_ms"] < 20:
            slow.append(f"{name.removeprefix('network.')} "
                        f"({theirs['p50_ms'] / mine['p50_ms']:.1f}x)")
    if peer:
        lines.append("- every other operation >= 20x faster (p50): " +
                     ("met" if not slow else "missed by " + ", ".join(slow)))
    errors = [f"{n}: {m['error_breakdown']}" for n, m in own.items() if m.get("errors")]
    if errors:
        lines.append("- ownstack errors: " + "; ".join(errors))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--net-concurrency", default="1,8")
    parser.add_argument("--ports", type=int, default=500)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--peers-dir", type=Path, default=default_peers_dir())
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-network-"))
    state = work / "state"
    base = free_ports()
    # Unlimited quotas, as the Neutron peer is configured ([quotas] quota_* = -1): the
    # load generator makes more networks than the default quota of 100.
    settings = ["compute.driver=fake", "log.access_log=false",
                *(f"network.quota.{name}=-1" for name in (
                    "network", "subnet", "port", "router", "floatingip", "security_group",
                    "security_group_rule"))]
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        pid = ownstack_pid(state, base, PASSWORD, settings)
        own_doc = generator(args.peers_dir, work / "ownstack.json", "ownstack",
                            f"http://127.0.0.1:{base}/v3", PASSWORD, f"ownstack={pid}", args)
    finally:
        stop_ownstack(state)
    peer_doc: dict[str, Any] = {}
    if not args.no_peer and peer_answers():
        peer_doc = generator(args.peers_dir, work / "neutron.json", "neutron 29.0.0",
                             PEER_KEYSTONE, PEER_PASSWORD, PEER_PIDS, args)
    own, peer = by_name(own_doc), by_name(peer_doc)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    notes = [f"- {side} note: {note}" for side, doc in (("ownstack", own_doc),
                                                        ("Neutron", peer_doc))
             for note in doc.get("notes", [])]
    text = "\n".join([
        f"\n## {now} ({machine})",
        f"\nload average at the start: {own_doc.get('environment', {}).get('loadavg')}; "
        f"concurrency levels {args.net_concurrency}; {args.ports} ports"
        + ("" if peer else "; **no Neutron peer in this run**"),
        "", table(own, peer), "", *verdicts(own, peer), *notes, *([AGENTS_NOTE] if peer else []),
        ""])
    print(text)
    if not args.no_record:
        append_results(RESULTS, HEADER, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
