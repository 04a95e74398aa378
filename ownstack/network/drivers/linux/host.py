"""The host's side of the external network, and the guard that keeps packets on the host.

The external network (``public`` in ``make up``) is a flat network on a host bridge
(``br-ex``) on which the host itself has an address (172.24.4.1/24), so that floating IPs
are reachable from the host, and from nothing beyond it. Two things make that hold by
construction, not by luck:

* **The forward guard**: an nftables table of ownstack's own (``inet ownstack_guard_br_ex``)
  drops everything the host would route from an ownstack bridge (the external bridge, or a
  network's ``brq`` bridge) to any other interface. The one way out is an explicit opt-in
  (``network.external_uplink``): then what comes from the external bridge may leave by that
  interface, masqueraded. It is off by default and never on in tests.
* **Unreachable routes**: for each range the host serves (the external subnet), a route of
  type ``unreachable`` with the worst metric sits below the bridge's own route, so that a
  packet to 172.24.4.x can never fall through to the default route when ``br-ex`` is down
  or gone (the kernel drops the bridge's connected route with it).

:class:`HostSide` is idempotent: the network agent calls :meth:`HostSide.ensure` at start-up
and at every resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyroute2 import IPRoute, NetlinkError

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import DriverError
from ownstack.network.drivers.linux.namespace import run_in
from ownstack.network.drivers.linux.run import run

GUARD_TABLE: Final = "ownstack_guard"       # + "_" + the first external bridge's name
UNREACHABLE_METRIC: Final = 4278198272     # worse than anything a connected route has
RTN_UNREACHABLE: Final = 7
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def _ifname(value: str) -> str:
    if not _IFNAME.match(value):
        raise DriverError(f"invalid interface name {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ExternalBridge:
    """A host bridge carrying a flat external network, and the host's address on it
    (``None``: the host takes no part in that network)."""

    bridge: str
    host_address: str | None = None        # "172.24.4.1/24"
    mtu: int = 1500

    @property
    def served(self) -> str | None:
        """The range the host serves on this bridge (the unreachable route's)."""
        if self.host_address is None:
            return None
        return str(ipaddress.ip_interface(self.host_address).network)


def guard_table(bridges: Sequence[str]) -> str:
    """The guard's table: one per external bridge set, so that two clouds on one machine
    (a test's beside ``make up``'s) never replace each other's guard."""
    suffix = re.sub(r"[^A-Za-z0-9_]", "_", _ifname(bridges[0])) if bridges else "none"
    return f"{GUARD_TABLE}_{suffix}"


def guard_ruleset(bridges: Sequence[str], uplink: str | None = None) -> str:
    """The nft script that replaces ownstack's forward guard in one transaction. Pure."""
    names = [_ifname(name) for name in bridges]
    table = guard_table(names)
    forward = []
    nat = []
    if uplink:
        uplink = _ifname(uplink)
        for name in names:
            forward.append(f'iifname "{name}" oifname "{uplink}" counter accept')
            forward.append(f'iifname "{uplink}" oifname "{name}" ct state established,related '
                           "counter accept")
            nat.append(f'iifname "{name}" oifname "{uplink}" counter masquerade')
    for name in names:
        forward.append(f'iifname "{name}" oifname != "{name}" counter drop')
    # (With br_netfilter loaded, frames bridged within one bridge pass this hook too, with
    # the bridge as both devices: those go on.)
    tenant = f'"{naming.BRIDGE_PREFIX}*"'
    forward.append(f"iifname {tenant} oifname != {tenant} counter drop")
    forward.append(f"oifname {tenant} iifname != {tenant} counter drop")
    body = "".join(f"\t\t{rule}\n" for rule in forward)
    script = (f"table inet {table}\ndelete table inet {table}\n"
              f"table inet {table} {{\n"
              f"\tchain forward {{\n\t\ttype filter hook forward priority filter - 10; "
              f"policy accept;\n{body}\t}}\n")
    if nat:
        rules = "".join(f"\t\t{rule}\n" for rule in nat)
        script += (f"\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; "
                   f"policy accept;\n{rules}\t}}\n")
    return script + "}\n"


class HostSide:
    """The external bridges and the guard of one host (``host_namespace``: where the host's
    links live; ``None`` is the host itself, tests pass a namespace they made)."""

    def __init__(self, externals: Sequence[ExternalBridge], *, uplink: str | None = None,
                 host_namespace: str | None = None) -> None:
        self.externals = tuple(externals)
        self.uplink = uplink or None
        self.host_namespace = host_namespace
        self.table = guard_table([e.bridge for e in self.externals])

    def _in_host(self, argv: list[str]) -> list[str]:
        if self.host_namespace is None:
            return argv
        return ["ip", "netns", "exec", self.host_namespace, *argv]

    async def ensure(self) -> None:
        """Postcondition: the guard table is :func:`guard_ruleset` of the external bridges;
        each external bridge exists, up, with its MTU and the host's address; each served
        range has its unreachable route."""
        script = guard_ruleset([e.bridge for e in self.externals], self.uplink)
        await run(self._in_host(["nft", "-f", "-"]), input=script)
        await asyncio.to_thread(self._ensure_links)

    def _ensure_links(self) -> None:
        run_in(self.host_namespace, self._ensure_in)

    def _ensure_in(self, ipr: IPRoute) -> None:
        for external in self.externals:
            name = _ifname(external.bridge)
            if not ipr.link_lookup(ifname=name):
                ipr.link("add", ifname=name, kind="bridge")
            index = ipr.link_lookup(ifname=name)[0]
            ipr.link("set", index=index, mtu=external.mtu, state="up")
            if external.host_address is not None:
                interface = ipaddress.ip_interface(external.host_address)
                have = {(a.get("address"), a["prefixlen"]) for a in ipr.get_addr(index=index)}
                if (str(interface.ip), interface.network.prefixlen) not in have:
                    ipr.addr("add", index=index, address=str(interface.ip),
                             prefixlen=interface.network.prefixlen)
            served = external.served
            if served is not None:
                self._ensure_unreachable(ipr, served)

    @staticmethod
    def _ensure_unreachable(ipr: IPRoute, cidr: str) -> None:
        network = ipaddress.ip_network(cidr)
        family = 2 if network.version == 4 else 10
        for route in ipr.get_routes(family=family, table=254):
            if (route["type"] == RTN_UNREACHABLE and route["dst_len"] == network.prefixlen
                    and route.get("dst") == str(network.network_address)):
                return
        try:
            ipr.route("add", dst=cidr, type="unreachable", priority=UNREACHABLE_METRIC)
        except NetlinkError as exc:
            if exc.code != 17:
                raise DriverError(f"unreachable route for {cidr}: {exc}") from exc

    async def remove(self) -> None:
        """Postcondition: no guard table, no unreachable route of a served range, and no
        external bridge this host side made (for ``ownstack reset``). Succeeds if gone."""
        await run(self._in_host(["nft", "delete", "table", "inet", self.table]), check=False)
        await asyncio.to_thread(run_in, self.host_namespace, self._remove_in)

    def _remove_in(self, ipr: IPRoute) -> None:
        for external in self.externals:
            served = external.served
            if served is not None:
                with contextlib.suppress(NetlinkError):
                    ipr.route("del", dst=served, type="unreachable",
                              priority=UNREACHABLE_METRIC)
            for index in ipr.link_lookup(ifname=_ifname(external.bridge)):
                ipr.link("del", index=index)

    async def describe(self) -> dict[str, Any]:
        """The guard's rules with their packet counters, and the unreachable routes."""
        out = await run(self._in_host(["nft", "-j", "list", "table", "inet", self.table]),
                         check=False)
        rules = []
        for item in json.loads(out or "{}").get("nftables", []):
            rule = item.get("rule")
            if rule is not None:
                packets = next((e["counter"]["packets"] for e in rule.get("expr", [])
                                if isinstance(e, dict) and "counter" in e), None)
                rules.append({"chain": rule.get("chain"), "handle": rule.get("handle"),
                              "packets": packets, "expr": rule.get("expr")})
        return {"guard": rules, "unreachable": await asyncio.to_thread(self._unreachable)}

    def _unreachable(self) -> list[str]:
        return run_in(self.host_namespace, lambda ipr: [
            f"{route.get('dst')}/{route['dst_len']}"
            for family in (2, 10) for route in ipr.get_routes(family=family, table=254)
            if route["type"] == RTN_UNREACHABLE])

    async def drops(self) -> int:
        """Packets the guard has dropped so far (for tests and ``ownstack show``)."""
        described = await self.describe()
        return sum(rule["packets"] or 0 for rule in described["guard"]
                   if any(isinstance(e, dict) and "drop" in e for e in rule["expr"] or ()))
