"""Routers on a Linux host, as Neutron's L3 agent builds them.

A router is a network namespace ``qrouter-<router id>``. Each of its ports is a veth pair:
the host end (``tap`` + the port id) sits on its network's bridge, the other end (``qr-``
for an interface, ``qg-`` for the gateway) is in the namespace with the port's MAC and
addresses. The namespace forwards between its legs; nftables inside it does the NAT:

* the router's own SNAT: what leaves by the gateway leg gets the gateway address;
* each floating IP: DNAT of the floating address to the fixed one, and SNAT of the fixed
  address to the floating one on the way out (the floating address sits on the gateway leg
  as a /32, so the router answers ARP for it on the external network);
* hairpin: traffic that was DNATed but did not come in by the gateway (a guest reaching a
  neighbour's floating IP) is source-NATed to the gateway address, so replies come back
  through the router;
* metadata: ``169.254.169.254:80`` asked from an interface is redirected to the metadata
  proxy on :data:`METADATA_PORT`, which nothing outside the interfaces may reach.

IPv4 and IPv6 forwarding are on in the namespace (and nowhere else), and a radvd in it sends
the router advertisements of its IPv6 subnets that have an ``ipv6_ra_mode``
(:mod:`.radvd`).

Everything is level-triggered: :meth:`LinuxRouters.ensure` brings a namespace to its spec
(legs added and removed, addresses and routes synchronised, the NAT table replaced in one
nft transaction) and is idempotent. Which routers are this driver's is recorded under its
state directory, so a restarted agent adopts them and another agent's namespaces on the
same machine are never touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from pyroute2 import IPRoute, NetlinkError, netns

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    DriverError,
    ExtraRoute,
    FloatingIpSpec,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)
from ownstack.network.drivers.linux import l2
from ownstack.network.drivers.linux.namespace import create_namespace, run_in
from ownstack.network.drivers.linux.radvd import RouterAdvertisements, radvd_config
from ownstack.network.drivers.linux.run import run, run_sync

log = logging.getLogger(__name__)

METADATA_ADDRESS: Final = "169.254.169.254"
METADATA_PORT: Final = 9697            # the proxy's port inside a router, as Neutron's
NAT_TABLE: Final = "ownstack_nat"
FILTER_TABLE: Final = "ownstack_router"
RTPROT_STATIC: Final = 4               # routes this module adds carry this protocol
_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class RouterMissing(DriverError):
    def __init__(self, router_id: str) -> None:
        self.router_id = router_id
        super().__init__(f"router {router_id} is not on this host")


def _check_id(value: str, what: str) -> str:
    if not _ID.match(value):
        raise DriverError(f"invalid {what} {value!r}")
    return value


def _ip(value: str) -> str:
    """``value`` as a canonical IP address; :class:`DriverError` if it is not one."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise DriverError(f"invalid IP address {value!r}") from None


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise DriverError(f"invalid CIDR {value!r}") from None


def _leg_name(leg: RouterLeg, *, gateway: bool) -> str:
    _check_id(leg.port_id, "port id")
    if gateway:
        return naming.router_gateway_name(leg.port_id)
    return naming.router_interface_name(leg.port_id)


def _leg_addresses(spec: RouterSpec, leg: RouterLeg, *, gateway: bool) -> set[tuple[str, int]]:
    addresses = {(_ip(a.ip_address), a.prefixlen) for a in leg.addresses}
    if gateway:
        addresses |= {(_ip(f.floating_ip_address), 32) for f in spec.floating_ips}
    return addresses


def _v4(address: str) -> bool:
    return ipaddress.ip_address(address).version == 4


# -- the NAT ruleset -----------------------------------------------------------------------


def nat_ruleset(spec: RouterSpec) -> str:
    """The nft script that replaces the router's NAT and filter tables, in one transaction.
    Pure: every value in it is validated or canonicalised first."""
    pre: list[str] = []
    out: list[str] = []
    post: list[str] = []
    inp: list[str] = []
    if spec.interfaces:
        pre.append(f'iifname "{naming.ROUTER_INTERFACE_PREFIX}*" ip daddr {METADATA_ADDRESS} '
                   f"tcp dport 80 counter redirect to :{METADATA_PORT}")
    inp.append(f'tcp dport {METADATA_PORT} iifname != "{naming.ROUTER_INTERFACE_PREFIX}*" '
               "counter drop")
    gateway = spec.gateway
    if gateway is not None:
        qg = _leg_name(gateway.leg, gateway=True)
        gw_v4 = [_ip(a.ip_address) for a in gateway.leg.addresses if _v4(a.ip_address)]
        for fip in sorted(spec.floating_ips, key=lambda f: f.floating_ip_address):
            floating, fixed = _ip(fip.floating_ip_address), _ip(fip.fixed_ip_address)
            if not (_v4(floating) and _v4(fixed)):
                raise DriverError(f"floating IP {floating} -> {fixed}: IPv4 only")
            pre.append(f"ip daddr {floating} counter dnat to {fixed}")
            out.append(f"ip daddr {floating} counter dnat to {fixed}")
            post.append(f'oifname "{qg}" ip saddr {fixed} counter snat to {floating}')
        if gw_v4:
            post.insert(0, f'iifname != "{qg}" ct status dnat counter snat to {gw_v4[0]}')
            if gateway.enable_snat:
                post.append(f'oifname "{qg}" counter snat to {gw_v4[0]}')

    def chain(name: str, hook: str, priority: str, rules: list[str], kind: str = "nat") -> str:
        body = "".join(f"\t\t{rule}\n" for rule in rules)
        return (f"\tchain {name} {{\n\t\ttype {kind} hook {hook} priority {priority}; "
                f"policy accept;\n{body}\t}}\n")

    return (
        f"table ip {NAT_TABLE}\ndelete table ip {NAT_TABLE}\n"
        f"table ip {NAT_TABLE} {{\n"
        + chain("prerouting", "prerouting", "dstnat", pre)
        + chain("output", "output", "-100", out)
        + chain("postrouting", "postrouting", "srcnat", post)
        + "}\n"
        f"table inet {FILTER_TABLE}\ndelete table inet {FILTER_TABLE}\n"
        f"table inet {FILTER_TABLE} {{\n"
        + chain("input", "input", "filter", inp, kind="filter")
        + "}\n")


# -- the driver part ---------------------------------------------------------------------


class LinuxRouters:
    """The routers of one host. ``host_namespace`` is the namespace the bridges live in
    (``None``: the host itself); ``state_dir`` records which routers are this driver's."""

    def __init__(self, state_dir: Path, host_namespace: str | None = None) -> None:
        self.state_dir = state_dir / "routers"
        self.host_namespace = host_namespace
        self.advertisements = RouterAdvertisements(state_dir / "radvd")
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, router_id: str) -> asyncio.Lock:
        return self._locks.setdefault(router_id, asyncio.Lock())

    # -- records -------------------------------------------------------------------------

    def _record(self, router_id: str) -> Path:
        return self.state_dir / f"{_check_id(router_id, 'router id')}.json"

    def _write_record(self, spec: RouterSpec) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self._record(spec.router_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(spec)))
        tmp.replace(path)

    def _recorded(self) -> list[str]:
        if not self.state_dir.is_dir():
            return []
        return sorted(p.stem for p in self.state_dir.glob("*.json"))

    def _read_record(self, router_id: str) -> RouterSpec | None:
        """The spec last applied to the router, or None (no record, or an unreadable one:
        then the router is taken as absent and made again)."""
        try:
            return spec_from_record(json.loads(self._record(router_id).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- the contract ------------------------------------------------------------------

    async def ensure(self, spec: RouterSpec) -> None:
        """Postcondition: namespace ``qrouter-<id>`` exists with exactly ``spec``'s legs
        (each with its MAC, MTU and addresses, the gateway's with the floating IPs as /32),
        IPv4 and IPv6 forwarding on, a default route by the gateway's next hop, the extra
        routes, the NAT of :func:`nat_ruleset`, and a radvd when a leg advertises
        (:mod:`.radvd`). Raises :class:`DriverError` if a leg's bridge does not exist on
        the host (its network is not here yet), or radvd does not stay up."""
        script = nat_ruleset(spec)              # validates the spec before anything changes
        radvd_config(spec)
        async with self._lock(spec.router_id):
            await asyncio.to_thread(self._write_record, spec)
            await asyncio.to_thread(self._ensure_links, spec)
            await run(["ip", "netns", "exec", spec.namespace, "nft", "-f", "-"],
                       input=script)
            await self.advertisements.ensure(spec)

    async def remove(self, router_id: str) -> None:
        """Postcondition: no namespace, leg, radvd or record of the router. Succeeds if
        gone."""
        async with self._lock(router_id):
            namespace = naming.router_namespace(_check_id(router_id, "router id"))
            await self.advertisements.stop(router_id)
            await asyncio.to_thread(self._remove, router_id, namespace)
        self._locks.pop(router_id, None)

    async def routers(self) -> list[RouterSpec]:
        """The routers this driver made whose namespace exists, each with the spec last
        applied to it. (A router whose namespace vanished, or whose radvd should run and
        does not, is absent: made again.)"""
        return await asyncio.to_thread(self._routers)

    def _routers(self) -> list[RouterSpec]:
        existing = set(netns.listnetns())
        specs = []
        for router_id in self._recorded():
            spec = self._read_record(router_id)
            if spec is not None and naming.router_namespace(router_id) in existing \
                    and self._advertising_as_wanted(spec):
                specs.append(spec)
        return specs

    def _advertising_as_wanted(self, spec: RouterSpec) -> bool:
        try:
            wanted = bool(radvd_config(spec))
        except DriverError:
            return False
        return not wanted or self.advertisements.running(spec.router_id,
                                                         spec.namespace) is not None

    async def recorded(self) -> list[str]:
        """Every router this driver has a record of, whether its namespace exists or not,
        and every router with a radvd of this driver (running or not)."""
        return await asyncio.to_thread(
            lambda: sorted({*self._recorded(), *self.advertisements.recorded()}))

    async def describe(self, router_id: str) -> dict[str, Any]:
        """The host objects behind a router: its namespace, legs, routes, NAT rules with
        their packet counters, and its radvd (None when it advertises nothing). Raises
        :class:`RouterMissing`."""
        namespace = naming.router_namespace(_check_id(router_id, "router id"))
        if namespace not in await asyncio.to_thread(netns.listnetns):
            raise RouterMissing(router_id)
        links, routes = await asyncio.to_thread(self._describe_links, namespace)
        ruleset = await run(["ip", "netns", "exec", namespace, "nft", "-j", "list", "table",
                              "ip", NAT_TABLE], check=False)
        radvd = await asyncio.to_thread(self.advertisements.describe, router_id)
        return {"namespace": namespace, "legs": links, "routes": routes,
                "nat": _nat_rules(ruleset), "radvd": radvd}

    # -- the work (blocking; run in threads) --------------------------------------------

    def _ensure_links(self, spec: RouterSpec) -> None:
        namespace = spec.namespace
        if namespace not in netns.listnetns():
            create_namespace(namespace)
            log.info("router %s: namespace %s created", spec.router_id, namespace)
        # ARP answered for a leg's own addresses only, from the best one (Neutron's values):
        # a network with an IPv4 and an IPv6 leg must not learn the gateway's MAC from the
        # IPv6 one, which has no IPv4 address to redirect metadata requests to. No
        # duplicate address detection on the legs made from here on: their addresses are
        # the cloud's own (unique by IPAM, guarded by anti-spoofing), and a link-local
        # address still tentative keeps radvd from advertising until a host solicits.
        _sysctl(namespace, {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1",
                            "net.ipv4.conf.all.arp_ignore": "1",
                            "net.ipv4.conf.all.arp_announce": "2",
                            "net.ipv6.conf.default.accept_dad": "0"})
        legs = [(leg, False) for leg in spec.interfaces]
        if spec.gateway is not None:
            legs.append((spec.gateway.leg, True))
        wanted = {_leg_name(leg, gateway=gw): (leg, gw) for leg, gw in legs}
        for leg, _ in legs:
            if not _MAC.match(leg.mac_address.lower()):
                raise DriverError(f"invalid MAC address {leg.mac_address!r}")
        # Inside: lo up, legs nobody wants gone (their host ends go with them); the
        # wanted legs the namespace lacks. Then the host ends, on their bridges. Then the
        # legs' MACs, addresses and the routes, inside again.
        missing = run_in(namespace, lambda inner: _prune_legs(inner, spec.router_id, wanted))
        run_in(self.host_namespace, lambda host: _host_ends(host, namespace, wanted, missing))
        run_in(namespace, lambda inner: _configure_legs(inner, spec, wanted))

    def _remove(self, router_id: str, namespace: str) -> None:
        if namespace in netns.listnetns():
            run_in(namespace, lambda inner: _prune_legs(inner, router_id, {}))
            netns.remove(namespace)
            log.info("router %s: namespace %s removed", router_id, namespace)
        self._record(router_id).unlink(missing_ok=True)

    def _describe_links(self, namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
        def describe(inner: IPRoute) -> tuple[list[dict[str, Any]], list[str]]:
            legs = []
            for link in inner.get_links():
                name = link.get("ifname") or ""
                if name == "lo":
                    continue
                addresses = [f"{a.get('address')}/{a['prefixlen']}"
                             for a in inner.get_addr(index=link["index"])]
                legs.append({"name": name, "mac": link.get("address"),
                             "mtu": link.get("mtu"), "state": link.get("operstate"),
                             "addresses": addresses})
            routes = [_route_text(route) for family in (2, 10)
                      for route in inner.get_routes(family=family)
                      if route.get("table") == 254]
            return legs, routes
        return run_in(namespace, describe)


def _prune_legs(inner: IPRoute, router_id: str,
                wanted: dict[str, tuple[RouterLeg, bool]]) -> set[str]:
    """Inside a router: lo up, every leg not in ``wanted`` deleted; the wanted legs that
    are missing."""
    lo = inner.link_lookup(ifname="lo")
    if lo:
        inner.link("set", index=lo[0], state="up")
    present = set()
    for link in inner.get_links():
        name = link.get("ifname") or ""
        if not name.startswith((naming.ROUTER_INTERFACE_PREFIX, naming.ROUTER_GATEWAY_PREFIX)):
            continue
        if name in wanted:
            present.add(name)
        else:
            inner.link("del", index=link["index"])
            log.info("router %s: leg %s removed", router_id, name)
    return set(wanted) - present


def _host_ends(host: IPRoute, namespace: str, wanted: dict[str, tuple[RouterLeg, bool]],
               missing: set[str]) -> None:
    """On the host: each leg's veth (made with its other end in the router's namespace
    where that end is missing), on its bridge with its MTU, up."""
    for name, (leg, _) in wanted.items():
        bridge = host.link_lookup(ifname=leg.bridge)
        if not bridge:
            raise DriverError(f"bridge {leg.bridge} of port {leg.port_id} does not exist")
        outer = naming.tap_name(leg.port_id)
        if name in missing:
            for index in host.link_lookup(ifname=outer):      # half of an earlier attempt
                host.link("del", index=index)
            host.link("add", ifname=outer, kind="veth",
                      peer={"ifname": name, "net_ns_fd": namespace})
        outer_index = host.link_lookup(ifname=outer)
        if not outer_index:
            raise DriverError(f"the host end {outer} of router leg {name} is missing")
        l2.disable_ipv6(outer)
        host.link("set", index=outer_index[0], master=bridge[0], mtu=leg.mtu, state="up")


def _configure_legs(inner: IPRoute, spec: RouterSpec,
                    wanted: dict[str, tuple[RouterLeg, bool]]) -> None:
    for name, (leg, gateway) in wanted.items():
        found = inner.link_lookup(ifname=name)
        if not found:
            raise DriverError(f"router leg {name} vanished from {spec.namespace}")
        inner.link("set", index=found[0], address=leg.mac_address.lower(), mtu=leg.mtu,
                   state="up")
        _sync_addresses(inner, name, _leg_addresses(spec, leg, gateway=gateway))
    _sync_routes(inner, spec)


def spec_from_record(record: dict[str, Any]) -> RouterSpec:
    """A :class:`RouterSpec` from its ``dataclasses.asdict`` form."""
    def leg(value: dict[str, Any]) -> RouterLeg:
        return RouterLeg(value["port_id"], value["mac_address"], value["bridge"],
                         tuple(RouterAddress(a["ip_address"], int(a["prefixlen"]),
                                             a.get("ipv6_ra_mode"), a.get("ipv6_address_mode"),
                                             tuple(a.get("dns_nameservers") or ()))
                               for a in value["addresses"]), int(value["mtu"]),
                         str(value.get("network_id", "")))
    gateway = record.get("gateway")
    return RouterSpec(
        router_id=record["router_id"],
        interfaces=tuple(leg(value) for value in record["interfaces"]),
        gateway=None if gateway is None else RouterGateway(
            leg(gateway["leg"]), tuple(gateway["next_hops"]), bool(gateway["enable_snat"])),
        routes=tuple(ExtraRoute(r["destination"], r["nexthop"]) for r in record["routes"]),
        floating_ips=tuple(FloatingIpSpec(f["floating_ip_address"], f["fixed_ip_address"])
                           for f in record["floating_ips"]),
        admin_state_up=bool(record.get("admin_state_up", True)))


def _sync_addresses(inner: IPRoute, name: str, wanted: set[tuple[str, int]]) -> None:
    index = inner.link_lookup(ifname=name)[0]
    have = set()
    for address in inner.get_addr(index=index):
        value, prefixlen = address.get("address"), address["prefixlen"]
        if value is None or ipaddress.ip_address(value).is_link_local:
            continue
        have.add((str(ipaddress.ip_address(value)), prefixlen))
    for value, prefixlen in have - wanted:
        inner.addr("del", index=index, address=value, prefixlen=prefixlen)
    for value, prefixlen in wanted - have:
        try:
            inner.addr("add", index=index, address=value, prefixlen=prefixlen)
        except NetlinkError as exc:
            if exc.code != 17:                  # EEXIST: a race with ourselves, fine
                raise DriverError(f"{name}: cannot add {value}/{prefixlen}: {exc}") from exc


def _wanted_routes(spec: RouterSpec) -> dict[tuple[str, str], str | None]:
    """(destination, gateway) -> the leg it leaves by (``None``: the kernel chooses)."""
    routes: dict[tuple[str, str], str | None] = {}
    if spec.gateway is not None:
        qg = _leg_name(spec.gateway.leg, gateway=True)
        for hop in spec.gateway.next_hops:
            hop = _ip(hop)
            default = "0.0.0.0/0" if _v4(hop) else "::/0"
            routes.setdefault((default, hop), qg)
    for route in spec.routes:
        routes[(_network(route.destination), _ip(route.nexthop))] = None
    return routes


def _sync_routes(inner: IPRoute, spec: RouterSpec) -> None:
    wanted = _wanted_routes(spec)
    have: dict[tuple[str, str], dict[str, Any]] = {}
    for family in (2, 10):
        for route in inner.get_routes(family=family, table=254):
            if route["proto"] != RTPROT_STATIC:
                continue
            dst = route.get("dst") or ("0.0.0.0" if family == 2 else "::")
            key = (_network(f"{dst}/{route['dst_len']}"), _ip(route.get("gateway") or dst))
            have[key] = route
    for key in set(have) - set(wanted):
        destination, gateway = key
        inner.route("del", dst=destination, gateway=gateway, proto=RTPROT_STATIC)
    for (destination, gateway), device in wanted.items():
        if (destination, gateway) in have:
            continue
        kwargs: dict[str, Any] = {"dst": destination, "gateway": gateway,
                                  "proto": RTPROT_STATIC}
        if device is not None:
            kwargs["oif"] = inner.link_lookup(ifname=device)[0]
        try:
            inner.route("replace", **kwargs)
        except NetlinkError as exc:
            # A next hop on no connected subnet yet (its interface not added): the API
            # refuses those, so this is a transient state the next pass repairs.
            raise DriverError(f"route {destination} via {gateway}: {exc}") from exc


def _route_text(route: Any) -> str:
    family = route["family"]
    dst = route.get("dst") or ("0.0.0.0" if family == 2 else "::")
    dst = "default" if route["dst_len"] == 0 else f"{dst}/{route['dst_len']}"
    gateway = route.get("gateway")
    return f"{dst} via {gateway}" if gateway else f"{dst} (connected)"


def _nat_rules(ruleset: str) -> list[dict[str, Any]]:
    """The NAT rules of ``nft -j list table`` output, each with its chain, its text and
    its packet counter."""
    try:
        document = json.loads(ruleset or "{}")
    except ValueError:
        return []
    rules = []
    for item in document.get("nftables", []):
        rule = item.get("rule")
        if rule is None:
            continue
        packets = next((e["counter"]["packets"] for e in rule.get("expr", [])
                        if isinstance(e, dict) and "counter" in e), None)
        rules.append({"chain": rule.get("chain"), "packets": packets,
                      "rule": _expr_text(rule.get("expr", []))})
    return rules


def _expr_text(expressions: Iterable[Any]) -> str:
    words = []
    for expression in expressions:
        if not isinstance(expression, dict) or "counter" in expression:
            continue
        (kind, value), = expression.items()
        if kind == "match":
            left = value.get("left", {})
            field = left.get("payload", {}).get("field") or left.get("meta", {}).get("key") \
                or next(iter(left), "?")
            words.append(f"{field} {value.get('op', '==')} {value.get('right')}")
        else:
            words.append(f"{kind} {json.dumps(value)}")
    return " ".join(words)


def _sysctl(namespace: str, values: dict[str, str]) -> None:
    run_sync(["ip", "netns", "exec", namespace, "sysctl", "-q", "-w",
              *(f"{key}={value}" for key, value in values.items())])
