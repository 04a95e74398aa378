#!/usr/bin/env python3
"""Network benchmark: ownstack's network service beside the real Neutron 29, in one run.

Both sides meet the same client: the load generator of ``/work/shared/peers``
(``bench_compute_network_peers.py --suites network``), which creates networks and
subnets, ports (on one /16), security group rules, routers, router interfaces and
floating IPs at each ``--net-concurrency`` level, lists the ports, and deletes it all,
timing every operation and reading the server's CPU from ``/proc``.

* ownstack: its own ``ownstack up`` on a temporary state directory and free ports
  (SQLite, the in-process bus, the fake compute driver), as the admin, in one or both
  shapes (``--shape``): ``no-agent``, every role but the network agent (``roles_alone``),
  as the peer runs Neutron's API and RPC server without agents; and ``agent``, the
  all-in-one cloud with its network agent (fake driver), which makes a DHCP port with
  each subnet and reads the network after each burst of port changes;
* Neutron 29: the peer that ``setup-openstack-compute-peers.sh`` starts (neutron-api in
  uWSGI with 2 workers and neutron-rpc-server, on MariaDB and RabbitMQ), when its
  Keystone answers on 127.0.0.1:35357; ``--no-peer`` skips it.

The targets (issue 13): port create at concurrency 8 at 50 times Neutron's throughput or
more, listing 500 ports with a p50 under 20 ms, server CPU per port create under 5 ms, and
every other operation measured at least 20 times faster than Neutron's in the same run.
A dated section with both sides' figures and the ratios goes to bench/results/network.md.

    .venv/bin/python bench/bench_network.py [--net-concurrency 1,8] [--ports 500]
                                            [--shape both|no-agent|agent]
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
    MachineRecord,
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


# ownstack's shapes: the roles its process runs. The peer runs Neutron's API and RPC
# server beside Keystone, Glance, Placement and Nova, and no Neutron agent.
ROLES = "api,conductor,compute,network,volume"
SHAPES: dict[str, list[str]] = {
    "no-agent": ["roles=api,conductor,compute,volume", "roles_alone=true"],
    "agent": [f"roles={ROLES}"],
}
SHAPE_NOTES = {
    "no-agent": "every role but the network agent (roles_alone), as the Neutron peer runs "
                "no agent: no DHCP port, no DHCP scheduling",
    "agent": "the all-in-one cloud with its in-process network agent (fake driver): a "
             "DHCP port made with each subnet, one read of the network per burst of port "
             "changes",
}


def generator(peers: Path, out: Path, label: str, keystone: str, password: str,
              server_pids: str, args: argparse.Namespace) -> dict[str, Any]:
    """One run of the load generator's network suite; its JSON document."""
    return peer_generator(peers, out, label, keystone, password, server_pids,
                          ["--suites", "network", "--net-concurrency", args.net_concurrency,
                           "--ports", str(args.ports)])


def table(shapes: dict[str, dict[str, dict[str, Any]]],
          peer: dict[str, dict[str, Any]]) -> str:
    """One row per operation: each ownstack shape's figures, Neutron's, and the ratios
    of the first shape (the one compared with Neutron) to Neutron's."""
    heads = "".join(f" ownstack {shape} ops/s | p50 ms | CPU ms/op |" for shape in shapes)
    rows = [f"| operation |{heads} Neutron ops/s | p50 ms | CPU ms/op | throughput | p50 |",
            "| --- |" + " ---: |" * (3 * len(shapes) + 5)]
    first = next(iter(shapes.values()))
    for name, mine in first.items():
        theirs = peer.get(name, {})
        cells = "".join(
            f" {doc.get(name, {}).get('ops_per_s', '-')} | {doc.get(name, {}).get('p50_ms', '-')}"
            f" | {doc.get(name, {}).get('server_cpu_ms_per_op', '-')} |"
            for doc in shapes.values())
        rows.append(
            f"| {name.removeprefix('network.')} |{cells} "
            f"{theirs.get('ops_per_s', '-')} | {theirs.get('p50_ms', '-')} | "
            f"{theirs.get('server_cpu_ms_per_op', '-')} | "
            f"{ratio(mine.get('ops_per_s'), theirs.get('ops_per_s'))} | "
            f"{ratio(theirs.get('p50_ms'), mine.get('p50_ms'))} |")
    return "\n".join(rows)


def verdicts(own: dict[str, dict[str, Any]], peer: dict[str, dict[str, Any]]) -> list[str]:
    """The targets, judged on one ownstack shape's figures."""
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
    parser.add_argument("--shape", choices=["both", *SHAPES], default="both",
                        help="ownstack without its network agent (no-agent: as the peer, "
                             "the shape judged against the targets), with it (agent), or "
                             "both, one after the other (default)")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--peers-dir", type=Path, default=default_peers_dir())
    parser.add_argument("--no-record", action="store_true", help="print, do not append")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-network-"))
    shapes = list(SHAPES) if args.shape == "both" else [args.shape]
    machine_record = MachineRecord()
    own_docs = {shape: run_ownstack(work / shape, shape, args) for shape in shapes}
    peer_doc: dict[str, Any] = {}
    if not args.no_peer and peer_answers():
        peer_doc = generator(args.peers_dir, work / "neutron.json", "neutron 29.0.0",
                             PEER_KEYSTONE, PEER_PASSWORD, PEER_PIDS, args)
    own_by_shape = {shape: by_name(doc) for shape, doc in own_docs.items()}
    judged = shapes[0]
    peer = by_name(peer_doc)
    own_doc = own_docs[judged]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    notes = [f"- {side} note: {note}" for side, doc in (
        *((f"ownstack {shape}", doc) for shape, doc in own_docs.items()),
        ("Neutron", peer_doc)) for note in doc.get("notes", [])]
    others = [f"- the same targets for ownstack {shape}: " + "; ".join(
        line.removeprefix("- ") for line in verdicts(own_by_shape[shape], peer)[:3])
        for shape in shapes[1:]]
    text = "\n".join([
        f"\n## {now} ({machine})",
        f"\nload average at the start: {own_doc.get('environment', {}).get('loadavg')}; "
        f"concurrency levels {args.net_concurrency}; {args.ports} ports"
        + ("" if peer else "; **no Neutron peer in this run**"),
        machine_record.line(),
        "", "ownstack's shapes: " + "; ".join(
            f"**{shape}**: {SHAPE_NOTES[shape]}" for shape in shapes)
        + f". The ratios and the targets below are {judged}'s.",
        "", table(own_by_shape, peer), "", *verdicts(own_by_shape[judged], peer), *others,
        *notes, ""])
    print(text)
    if not args.no_record:
        append_results(RESULTS, HEADER, text)
    return 0


def run_ownstack(work: Path, shape: str, args: argparse.Namespace) -> dict[str, Any]:
    """The load generator's document for a fresh ownstack of ``shape``."""
    work.mkdir(parents=True, exist_ok=True)
    state = work / "state"
    base = free_ports()
    # Unlimited quotas, as the Neutron peer is configured ([quotas] quota_* = -1): the
    # load generator makes more networks than the default quota of 100.
    settings = ["compute.driver=fake", "log.access_log=false", *SHAPES[shape],
                *(f"network.quota.{name}=-1" for name in (
                    "network", "subnet", "port", "router", "floatingip", "security_group",
                    "security_group_rule"))]
    try:
        ownstack(state, base, PASSWORD, "up", "--no-user-clouds-yaml", settings=settings)
        pid = ownstack_pid(state, base, PASSWORD, settings)
        return generator(args.peers_dir, work / "ownstack.json", f"ownstack {shape}",
                         f"http://127.0.0.1:{base}/v3", PASSWORD, f"ownstack={pid}", args)
    finally:
        stop_ownstack(state)


if __name__ == "__main__":
    raise SystemExit(main())
