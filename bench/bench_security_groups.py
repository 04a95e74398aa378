#!/usr/bin/env python3
"""Security-group scale: one rule change applied on a loaded host, as an incremental nft
update (issue 14's target: under 1 s, never a reload of everything).

In a network namespace of its own (the "host"; removed at the end) the Linux firewall
(:mod:`ownstack.network.drivers.linux.firewall`) is given ``--ports`` ports and ``--rules``
rules among them: each port is in its own group with ``rules / ports`` rules (TCP ports,
ICMP, prefixes, and one remote-group rule), and every fifth port in a shared group ``web``
too. Then, each ``--repeat`` times, timed:

* ``one port``: a rule added to one port's group, that port re-applied (one transaction);
* ``shared group``: a rule added to ``web``, each of its ports re-applied at once, as the
  agent does on ``security_groups_changed`` (one nudge per port, run concurrently; the
  firewall applies the calls that wait together in one transaction);
* ``members``: the remote group's set rewritten (a port joined it), no rule touched.

No packet is sent; no device is needed (chains are keyed by tap names). Results are
appended to bench/results/network.md with the date and machine.

    .venv/bin/python bench/bench_security_groups.py [--ports 100] [--rules 1000]
                                                    [--repeat 20] [--no-record]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import append_results

from ownstack.network.drivers.base import (
    FixedIp,
    NetworkSpec,
    PortSpec,
    SecurityGroupSpec,
)
from ownstack.network.drivers.linux.firewall import Firewall
from ownstack.network.sg_rules import RuleSpec

RESULTS = Path(__file__).resolve().parent / "results" / "network.md"
NETWORK = NetworkSpec("bench", "vxlan", 1)


def group_rules(count: int, remote: str, seed: int) -> tuple[RuleSpec, ...]:
    rules = [RuleSpec("egress", "IPv4"), RuleSpec("egress", "IPv6"),
             RuleSpec("ingress", "IPv4", remote_group_id=remote)]
    n = 0
    while len(rules) < count:
        kind = n % 4
        port = 1000 + seed * 10 + n
        if kind == 0:
            rules.append(RuleSpec("ingress", "IPv4", "tcp", port, port))
        elif kind == 1:
            rules.append(RuleSpec("ingress", "IPv4", "udp", port, port + 10,
                                  f"10.{n % 250}.0.0/16"))
        elif kind == 2:
            rules.append(RuleSpec("ingress", "IPv6", "tcp", port, port, "fd00::/8"))
        else:
            rules.append(RuleSpec("ingress", "IPv4", "icmp", n % 40, 0))
        n += 1
    return tuple(rules[:count])


def ports(count: int, rules: int, web: str) -> list[PortSpec]:
    specs = []
    per_port = max(3, rules // count)
    for i in range(count):
        group = str(uuid.uuid4())
        groups = [SecurityGroupSpec(group, group_rules(per_port, web, i))]
        if i % 5 == 0:
            groups.append(SecurityGroupSpec(web, (RuleSpec("ingress", "IPv4", "tcp", 80, 80),)))
        specs.append(PortSpec(
            port_id=str(uuid.uuid4()), network=NETWORK,
            mac_address=f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x}",
            fixed_ips=(FixedIp("s", f"10.0.{i // 250}.{i % 250 + 2}"),),
            security_group_ids=tuple(g.group_id for g in groups),
            security_groups=tuple(groups)))
    return specs


def add_rule(spec: PortSpec, group_id: str, rule: RuleSpec) -> PortSpec:
    return replace(spec, security_groups=tuple(
        replace(g, rules=(*g.rules, rule)) if g.group_id == group_id else g
        for g in spec.security_groups))


def ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(samples) * 1000:.1f} | {p95 * 1000:.1f} | {max(samples) * 1000:.1f}"


async def bench(namespace: str, port_count: int, rule_count: int, repeat: int
                ) -> tuple[list[str], dict[str, float]]:
    fw = Firewall(namespace)
    await fw.init()
    web = str(uuid.uuid4())
    specs = ports(port_count, rule_count, web)
    started = time.perf_counter()
    for spec in specs:
        await fw.apply_port(spec)
    load = time.perf_counter() - started
    await fw.set_members(web, [ip.ip_address for s in specs[::5] for ip in s.fixed_ips], [])
    total = sum(len(g.rules) for s in specs for g in s.security_groups)
    listing = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", namespace, "nft", "list", "ruleset",
        stdout=asyncio.subprocess.PIPE)
    rendered = (await listing.communicate())[0].decode()
    nft_rules = sum(1 for line in rendered.splitlines()
                    if "return" in line or "drop" in line)

    one, shared, members = [], [], []
    for n in range(repeat):
        spec = specs[1]
        own = spec.security_groups[0].group_id
        specs[1] = add_rule(spec, own, RuleSpec("ingress", "IPv4", "tcp", 20000 + n, 20000 + n))
        started = time.perf_counter()
        await fw.apply_port(specs[1])
        one.append(time.perf_counter() - started)

        rule = RuleSpec("ingress", "IPv4", "tcp", 30000 + n, 30000 + n)
        for i in range(0, len(specs), 5):
            specs[i] = add_rule(specs[i], web, rule)
        started = time.perf_counter()
        await asyncio.gather(*(fw.apply_port(specs[i]) for i in range(0, len(specs), 5)))
        shared.append(time.perf_counter() - started)

        started = time.perf_counter()
        await fw.set_members(web, [f"10.1.{n}.{k}" for k in range(1, 40)], [])
        members.append(time.perf_counter() - started)
    lines = [
        f"- {port_count} ports, {total} security-group rules among them "
        f"({nft_rules} nft rules with the fixed ones); all applied in {load:.2f} s",
        "",
        "| change | p50 ms | p95 ms | max ms |",
        "| --- | --- | --- | --- |",
        f"| a rule in one port's group (1 port re-applied) | {ms(one)} |",
        f"| a rule in a group of {len(specs[::5])} ports (all re-applied at once) | "
        f"{ms(shared)} |",
        f"| a remote group's members (one set rewritten) | {ms(members)} |",
    ]
    worst = max(max(one), max(shared))
    return lines, {"worst": worst}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", type=int, default=100)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (a network namespace and nft)", file=sys.stderr)
        return 2
    namespace = f"sgbench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", namespace], check=True)
    try:
        lines, figures = asyncio.run(bench(namespace, args.ports, args.rules, args.repeat))
    finally:
        subprocess.run(["ip", "netns", "del", namespace], check=False)
    verdict = "met" if figures["worst"] < 1.0 else "missed"
    machine = f"{platform.node()}, {os.cpu_count()} cores, {platform.platform()}"
    nft = subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip()
    text = "\n".join([
        "", f"## Security-group scale, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} "
        "UTC", "", f"Machine: {machine}; {nft}; `bench/bench_security_groups.py --ports "
        f"{args.ports} --rules {args.rules} --repeat {args.repeat}`.", "", *lines, "",
        f"- a rule change applied in under 1 s, incrementally (only the ports of the "
        f"changed group re-applied, their chains replaced whole): {verdict} (worst "
        f"{figures['worst'] * 1000:.0f} ms)", ""])
    print(text)
    if not args.no_record:
        append_results(RESULTS, "", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
