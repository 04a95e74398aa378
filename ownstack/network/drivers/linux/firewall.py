"""Security groups on the wire: nftables chains per port, in tables that only ownstack owns.

Semantics are Neutron's (its iptables and OVS firewalls): per port, stateful, ingress (to
the guest) dropped unless a rule allows it, egress as the rules say, and anti-spoofing on
what the guest sends: only its own MAC and fixed IPs, its allowed address pairs, and for
IPv6 the link-local address of each of those MACs.

Why two tables
--------------
Conntrack in the ``bridge`` family needs ``nf_conntrack_bridge``, which kernels often lack
(this one does). So, as Neutron's iptables firewall does, the stateful half runs in the IP
hooks that bridged packets pass through with ``br_netfilter`` (``bridge-nf-call-iptables``
and ``-ip6tables``, set on by :meth:`Firewall.init`). There a packet's device is the bridge,
not the tap, so the ``bridge`` table stamps the tap's port *index* into the low 16 bits of
the packet mark (the high 16 are kept for others), and the ``inet`` table dispatches on it:

``table bridge ownstack``
    ``prerouting``: ``iifname vmap @from-ports`` jumps to ``l-<port>`` (from the guest): it
    stamps the index, drops a foreign MAC, and spoofed ARP, IPv4 and IPv6 source addresses
    (DHCP discovery from 0.0.0.0 and IPv6 DAD from ``::`` excepted), and other ethertypes.
    ``forward``: ``oifname vmap @to-ports`` jumps to ``t-<port>`` (to the guest): stamps the
    index, lets ARP, IPv4 and IPv6 on, drops the rest.
``table inet ownstack``
    ``zones`` (before conntrack): each bridge's packets get a conntrack zone of their own
    (``@bridge-zones``, one per bridge a filtered port is on), so that two networks with
    the same addresses never share a connection's state, as Neutron's zones per network.
    ``prerouting``: ``mark & 0xffff vmap @egress-chains`` jumps to ``o-<port>``, the egress
    rules; ``forward``: ``mark & 0xffff vmap @ingress-chains`` jumps to ``i-<port>``, the
    ingress rules. Each port chain returns when the packet may go on and drops otherwise.
    Remote groups are the sets ``sg-<group>-v4`` and ``sg-<group>-v6``.

A port's four chains and four map elements are replaced in one ``nft -f -`` transaction
(:meth:`Firewall.apply_port`): an incremental update that never reloads another port. Every
value written into a script is validated first (ids, MACs, addresses, ports, numbers).

Not filtered: packets the host itself sends to a tap through the bridge's own device (they
pass no IP forward hook); guests reach the host and each other only through bridged paths
(DHCP and router namespaces are bridge ports), which are filtered. Stateless groups
(``stateful: false``) are filtered statefully.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import DriverError, PortSpec, group_networks
from ownstack.network.sg_rules import (
    ICMP_PROTOCOL_NUMBERS,
    PORT_PROTOCOL_NUMBERS,
    RuleSpec,
    protocol_number,
)

TABLE: Final = "ownstack"
MARK_KEEP: Final = 0xFFFF0000      # the mark bits left to others
MAX_INDEX: Final = 0xFFFF          # port indexes are 1..MAX_INDEX, in the mark's low bits
NFT: Final = "nft"
SYSCTLS: Final = ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables")

# ICMPv6 a guest may always receive and send, as Neutron's firewalls let it (neutron/agent/
# firewall.py): MLD query, neighbour solicitation and advertisement in; MLD query, router
# solicitation, NS and NA out; MLD reports and NS from the unspecified address out (DAD).
ICMPV6_INGRESS: Final = (130, 135, 136)
ICMPV6_EGRESS: Final = (130, 133, 135, 136)
ICMPV6_UNSPECIFIED: Final = (131, 135, 143)
ICMPV6_RA: Final = 134

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_GROUP_SET = re.compile(r"sg-(.+)-v([46])")


class FirewallError(DriverError):
    """nft refused, or a value is not fit for a rule."""


# -- names ---------------------------------------------------------------------------------

def checked_id(value: str) -> str:
    """A port or group id fit for a chain or set name (letters, digits, ``-``, ``_``)."""
    if not _ID.fullmatch(value):
        raise FirewallError(f"{value!r} is not an id the firewall can name a chain after")
    return value


def from_guest_chain(port_id: str) -> str:
    return f"l-{checked_id(port_id)}"


def to_guest_chain(port_id: str) -> str:
    return f"t-{checked_id(port_id)}"


def egress_chain(port_id: str) -> str:
    return f"o-{checked_id(port_id)}"


def ingress_chain(port_id: str) -> str:
    return f"i-{checked_id(port_id)}"


def group_set(group_id: str, version: int) -> str:
    return f"sg-{checked_id(group_id)}-v{version}"


# -- values ----------------------------------------------------------------------------------

def checked_mac(value: str) -> str:
    mac = value.lower()
    if not _MAC.fullmatch(mac):
        raise FirewallError(f"{value!r} is not a MAC address")
    return mac


def network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address or CIDR as a network (host bits cleared)."""
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise FirewallError(f"{value!r} is not an IP address or CIDR") from None


def link_local(mac: str) -> str:
    """The IPv6 link-local address (EUI-64) a guest derives from ``mac``."""
    octets = [int(part, 16) for part in checked_mac(mac).split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    suffix = int.from_bytes(bytes(eui), "big")
    return str(ipaddress.IPv6Address((0xFE80 << 112) | suffix))


def collapse(addresses: Iterable[str], version: int) -> list[str]:
    """``addresses`` of one IP version as a group's set holds them
    (:func:`~ownstack.network.drivers.base.group_networks`)."""
    try:
        return group_networks(addresses, version)
    except ValueError as exc:
        raise FirewallError(str(exc)) from None


# -- rendering (pure) ------------------------------------------------------------------------

def render_init() -> str:
    """The tables, maps and base chains; flushes only the base chains, never a port's."""
    b, i = f"bridge {TABLE}", f"inet {TABLE}"
    clear = f"meta mark set meta mark and {MARK_KEEP:#x}"
    return "\n".join([
        f"add table {b}",
        f"add map {b} from-ports {{ type ifname : verdict; }}",
        f"add map {b} to-ports {{ type ifname : verdict; }}",
        f"add chain {b} prerouting {{ type filter hook prerouting priority -200; "
        "policy accept; }",
        f"flush chain {b} prerouting",
        f"add rule {b} prerouting {clear}",
        f"add rule {b} prerouting iifname vmap @from-ports",
        f"add chain {b} forward {{ type filter hook forward priority -200; policy accept; }}",
        f"flush chain {b} forward",
        f"add rule {b} forward {clear}",
        f"add rule {b} forward oifname vmap @to-ports",
        f"add table {i}",
        f"add map {i} bridge-zones {{ typeof iifname : ct zone; }}",
        f"add chain {i} zones {{ type filter hook prerouting priority raw; policy accept; }}",
        f"flush chain {i} zones",
        f"add rule {i} zones ct zone set iifname map @bridge-zones",
        f"add map {i} egress-chains {{ type mark : verdict; }}",
        f"add map {i} ingress-chains {{ type mark : verdict; }}",
        f"add chain {i} prerouting {{ type filter hook prerouting priority 0; policy accept; }}",
        f"flush chain {i} prerouting",
        f"add rule {i} prerouting meta mark and {MAX_INDEX:#x} vmap @egress-chains",
        f"add rule {i} prerouting {clear}",
        f"add chain {i} forward {{ type filter hook forward priority 0; policy accept; }}",
        f"flush chain {i} forward",
        f"add rule {i} forward meta mark and {MAX_INDEX:#x} vmap @ingress-chains",
        f"add rule {i} forward {clear}",
    ]) + "\n"


def _pairs(spec: PortSpec) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The (MAC, CIDR) pairs the port may send from, IPv4 and IPv6, as Neutron builds
    them: fixed IPs with the port's MAC, allowed address pairs with theirs, the link-local
    address of every such MAC; a port with no fixed IP may use any address from its MAC."""
    mac = checked_mac(spec.mac_address)
    entries = [(mac, str(network(ip.ip_address))) for ip in spec.fixed_ips]
    entries += [(checked_mac(pair.mac_address), str(network(pair.ip_address)))
                for pair in spec.allowed_address_pairs]
    if not spec.fixed_ips:
        entries += [(mac, "0.0.0.0/0"), (mac, "::/0")]
    macs = sorted({mac, *(m for m, _ in entries)})
    entries += [(m, f"{link_local(m)}/128") for m in macs]
    v4 = sorted({e for e in entries if network(e[1]).version == 4})
    v6 = sorted({e for e in entries if network(e[1]).version == 6})
    return v4, v6


def _pair_set(pairs: Sequence[tuple[str, str]]) -> str:
    return "{ " + ", ".join(f"{mac} . {cidr}" for mac, cidr in pairs) + " }"


def _from_guest_rules(spec: PortSpec, index: int) -> list[str]:
    v4, v6 = _pairs(spec)
    macs = sorted({checked_mac(spec.mac_address),
                   *(checked_mac(p.mac_address) for p in spec.allowed_address_pairs)})
    rules = [f"meta mark set meta mark and {MARK_KEEP:#x} or {index:#x}",
             "ether saddr != { " + ", ".join(macs) + " } counter drop comment \"mac spoofing\""]
    if v4:
        rules.append(f"ether type arp ether saddr . arp saddr ip != {_pair_set(v4)} counter "
                     "drop comment \"arp spoofing\"")
    else:
        rules.append("ether type arp counter drop comment \"arp spoofing\"")
    rules += [
        "ether type arp return",
        "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 "
        "return comment \"dhcp discovery\"",
    ]
    if v4:
        rules.append(f"ether type ip ether saddr . ip saddr != {_pair_set(v4)} counter drop "
                     "comment \"ip spoofing\"")
    else:
        rules.append("ether type ip counter drop comment \"ip spoofing\"")
    rules += [
        "ether type ip return",
        "ether type ip6 ip6 saddr :: ip6 daddr ff02::/16 icmpv6 type { "
        + ", ".join(map(str, ICMPV6_UNSPECIFIED)) + " } return comment \"duplicate address "
        "detection\"",
        f"ether type ip6 ether saddr . ip6 saddr != {_pair_set(v6)} counter drop "
        "comment \"ip spoofing\"",
        "ether type ip6 return",
        "counter drop comment \"not arp, ipv4 or ipv6\"",
    ]
    return rules


def _to_guest_rules(index: int) -> list[str]:
    return [f"meta mark set meta mark and {MARK_KEEP:#x} or {index:#x}",
            "ether type { arp, ip, ip6 } return",
            "counter drop comment \"not arp, ipv4 or ipv6\""]


def _types(types: Sequence[int]) -> str:
    return "{ " + ", ".join(map(str, types)) + " }"


def _egress_rules(spec: PortSpec) -> list[str]:
    return [
        "meta nfproto ipv4 udp sport 67 udp dport 68 counter drop comment \"dhcp server\"",
        "meta nfproto ipv6 udp sport 547 udp dport 546 counter drop comment \"dhcpv6 server\"",
        f"icmpv6 type {ICMPV6_RA} counter drop comment \"router advertisement\"",
        "meta nfproto ipv4 udp sport 68 udp dport 67 return comment \"dhcp client\"",
        "meta nfproto ipv6 udp sport 546 udp dport 547 return comment \"dhcpv6 client\"",
        f"icmpv6 type {_types(ICMPV6_EGRESS)} return comment \"neighbour discovery\"",
        f"ip6 saddr :: icmpv6 type {_types(ICMPV6_UNSPECIFIED)} return "
        "comment \"duplicate address detection\"",
        "ct state invalid counter drop",
        "ct state established,related return",
        *_group_rules(spec, "egress"),
        "counter drop comment \"no rule allows it\"",
    ]


def _ingress_rules(spec: PortSpec) -> list[str]:
    return [
        f"icmpv6 type {_types(ICMPV6_INGRESS)} return comment \"neighbour discovery\"",
        f"ip6 saddr fe80::/10 icmpv6 type {ICMPV6_RA} return comment \"router advertisement\"",
        "meta nfproto ipv4 udp sport 67 udp dport 68 return comment \"dhcp\"",
        "meta nfproto ipv6 udp sport 547 udp dport 546 return comment \"dhcpv6\"",
        "ct state invalid counter drop",
        "ct state established,related return",
        *_group_rules(spec, "ingress"),
        "counter drop comment \"no rule allows it\"",
    ]


def _group_rules(spec: PortSpec, direction: str) -> list[str]:
    rendered = []
    for group in spec.security_groups:
        comment = f"sg {checked_id(group.group_id)}"
        for rule in group.rules:
            if rule.direction == direction:
                rendered.append(f"{rule_match(rule)} counter return comment \"{comment}\"")
    return rendered


def rule_match(rule: RuleSpec) -> str:
    """The nft match of one security-group rule (the remote end is the source of ingress,
    the destination of egress)."""
    version = 6 if rule.ethertype == "IPv6" else 4
    ip = "ip6" if version == 6 else "ip"
    end = "saddr" if rule.direction == "ingress" else "daddr"
    parts = [f"meta nfproto ipv{version}"]
    if rule.remote_group_id:
        parts.append(f"{ip} {end} @{group_set(rule.remote_group_id, version)}")
    elif rule.remote_ip_prefix:
        prefix = network(rule.remote_ip_prefix)
        if prefix.version != version:
            raise FirewallError(f"{rule.remote_ip_prefix} is not an {rule.ethertype} prefix")
        if prefix.prefixlen:
            parts.append(f"{ip} {end} {prefix}")
    number = protocol_number(rule.protocol)
    if number:                      # None and 0 ("ip"): any protocol, as Neutron
        if not 0 < number <= 255:
            raise FirewallError(f"{rule.protocol!r} is not an IP protocol")
        low, high = rule.port_range_min, rule.port_range_max
        for value in (low, high):
            if value is not None and not 0 <= value <= 65535:
                raise FirewallError(f"{value!r} is not a port, ICMP type or code")
        if number in ICMP_PROTOCOL_NUMBERS and low is not None:
            icmp = "icmpv6" if version == 6 else "icmp"
            parts.append(f"{icmp} type {low}")
            if high is not None:
                parts.append(f"{icmp} code {high}")
        else:
            parts.append(f"meta l4proto {number}")
            if number in PORT_PROTOCOL_NUMBERS and low is not None:
                high = low if high is None else high
                parts.append(f"th dport {low}" if low == high else f"th dport {low}-{high}")
    return " ".join(parts)


def _replace_chain(family: str, chain: str, rules: Sequence[str]) -> list[str]:
    where = f"{family} {TABLE}"
    return [f"add chain {where} {chain}", f"flush chain {where} {chain}",
            *(f"add rule {where} {chain} {rule}" for rule in rules)]


def _group_sets(group_id: str) -> list[str]:
    return [f"add set inet {TABLE} {group_set(group_id, 4)} "
            "{ type ipv4_addr; flags interval; }",
            f"add set inet {TABLE} {group_set(group_id, 6)} "
            "{ type ipv6_addr; flags interval; }"]


def render_port(spec: PortSpec, index: int, zone: int) -> str:
    """The transaction that makes ``spec``'s chains exactly what it says: the port's four
    chains flushed and filled, the sets of its remote groups made if missing, its four
    map elements, and its bridge's conntrack zone (re-adding an identical element is a
    no-op)."""
    if not 0 < index <= MAX_INDEX:
        raise FirewallError(f"port index {index} is out of range")
    if not 0 < zone <= MAX_INDEX:
        raise FirewallError(f"conntrack zone {zone} is out of range")
    bridge = checked_id(spec.bridge)
    port, tap = spec.port_id, spec.tap
    lines: list[str] = []
    for group_id in sorted(spec.remote_group_ids):
        lines += _group_sets(group_id)
    lines += _replace_chain("bridge", from_guest_chain(port), _from_guest_rules(spec, index))
    lines += _replace_chain("bridge", to_guest_chain(port), _to_guest_rules(index))
    lines += _replace_chain("inet", egress_chain(port), _egress_rules(spec))
    lines += _replace_chain("inet", ingress_chain(port), _ingress_rules(spec))
    lines += [
        f"add element inet {TABLE} bridge-zones {{ \"{bridge}\" : {zone} }}",
        f"add element bridge {TABLE} from-ports {{ \"{tap}\" : jump {from_guest_chain(port)} }}",
        f"add element bridge {TABLE} to-ports {{ \"{tap}\" : jump {to_guest_chain(port)} }}",
        f"add element inet {TABLE} egress-chains {{ {index:#x} : jump {egress_chain(port)} }}",
        f"add element inet {TABLE} ingress-chains {{ {index:#x} : jump {ingress_chain(port)} }}",
    ]
    return "\n".join(lines) + "\n"


def render_remove(port_id: str, index: int) -> str:
    """The transaction that removes a port's chains and map elements. Each is added
    before it is deleted, so the transaction succeeds whatever was left of the port."""
    tap = naming.tap_name(checked_id(port_id))
    lines: list[str] = []
    for family, chain, map_name, key in (
            ("bridge", from_guest_chain(port_id), "from-ports", f"\"{tap}\""),
            ("bridge", to_guest_chain(port_id), "to-ports", f"\"{tap}\""),
            ("inet", egress_chain(port_id), "egress-chains", f"{index:#x}"),
            ("inet", ingress_chain(port_id), "ingress-chains", f"{index:#x}")):
        where = f"{family} {TABLE}"
        lines += [f"add chain {where} {chain}",
                  f"add element {where} {map_name} {{ {key} : jump {chain} }}",
                  f"delete element {where} {map_name} {{ {key} }}",
                  f"flush chain {where} {chain}", f"delete chain {where} {chain}"]
    return "\n".join(lines) + "\n"


def render_members(group_id: str, v4: Iterable[str], v6: Iterable[str]) -> str:
    """The transaction that makes a group's two sets hold exactly ``v4`` and ``v6``."""
    lines = _group_sets(group_id)
    for version, addresses in ((4, collapse(v4, 4)), (6, collapse(v6, 6))):
        name = group_set(group_id, version)
        lines.append(f"flush set inet {TABLE} {name}")
        if addresses:
            lines.append(f"add element inet {TABLE} {name} {{ {', '.join(addresses)} }}")
    return "\n".join(lines) + "\n"


def render_remove_group(group_id: str) -> str:
    lines = _group_sets(group_id)
    lines += [f"delete set inet {TABLE} {group_set(group_id, v)}" for v in (4, 6)]
    return "\n".join(lines) + "\n"


# -- reading nft's JSON ------------------------------------------------------------------------

def _items(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item[kind] for item in document.get("nftables", []) if kind in item]


def _element_address(element: Any) -> str:
    if isinstance(element, str):
        return element
    if isinstance(element, dict) and "prefix" in element:
        return f"{element['prefix']['addr']}/{element['prefix']['len']}"
    if isinstance(element, dict) and "range" in element:
        low, high = element["range"]
        nets = ipaddress.summarize_address_range(ipaddress.ip_address(low),
                                                 ipaddress.ip_address(high))
        return ",".join(str(net) for net in nets)
    if isinstance(element, dict) and "elem" in element:
        return _element_address(element["elem"]["val"])
    raise FirewallError(f"unexpected set element {element!r}")


def _rule_view(rule: dict[str, Any]) -> dict[str, Any]:
    counter = next((e["counter"] for e in rule.get("expr", []) if "counter" in e), None)
    view: dict[str, Any] = {"handle": rule.get("handle"), "comment": rule.get("comment"),
                            "expr": rule.get("expr", [])}
    if counter is not None:
        view.update(packets=counter["packets"], bytes=counter["bytes"])
    return view


# -- the firewall of one host ------------------------------------------------------------------

class Firewall:
    """The security groups of one host: the real host (``namespace=None``) or a network
    namespace standing for one. One instance per host writes its tables; it learns the
    ports' indexes from the kernel in :meth:`init`, so a new one adopts an old one's."""

    def __init__(self, namespace: str | None = None) -> None:
        if namespace is not None and not _NAMESPACE.fullmatch(namespace):
            raise FirewallError(f"{namespace!r} is not a network namespace name")
        self.namespace = namespace
        self._prefix = ["ip", "netns", "exec", namespace] if namespace else []
        self._indexes: dict[str, int] = {}
        self._zones: dict[str, int] = {}
        self._pending: list[tuple[PortSpec, asyncio.Future[None]]] = []
        self._lock = asyncio.Lock()         # one transaction of this host's at a time

    async def _run(self, *command: str, script: str | None = None) -> str:
        proc = await asyncio.create_subprocess_exec(
            *self._prefix, *command,
            stdin=asyncio.subprocess.PIPE if script is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(script.encode() if script is not None else None)
        if proc.returncode != 0:
            raise FirewallError(f"{' '.join(command[:3])} failed in "
                                f"{self.namespace or 'the host'}: "
                                f"{err.decode(errors='replace').strip()[:2000]}")
        return out.decode()

    async def _apply(self, script: str) -> None:
        await self._run(NFT, "-f", "-", script=script)

    async def _json(self, *what: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(await self._run(NFT, "-j", "list", *what))
        return document

    async def init(self) -> None:
        """Make or adopt the tables (other tables are never touched), let bridged packets
        through the IP hooks, and learn the indexes of the ports already filtered."""
        for name in SYSCTLS:
            await self._run("sysctl", "-q", "-w", f"{name}=1")
        await self._apply(render_init())
        await self._load_indexes()
        await self._load_zones()

    async def _load_zones(self) -> None:
        document = await self._json("map", "inet", TABLE, "bridge-zones")
        self._zones = {str(bridge): int(zone) for found in _items(document, "map")
                       for bridge, zone in found.get("elem", [])}

    def _zone_for(self, bridge: str) -> int:
        zone = self._zones.get(bridge)
        if zone is None:
            used = set(self._zones.values())
            zone = next((z for z in range(1, MAX_INDEX + 1) if z not in used), None)
            if zone is None:
                raise FirewallError(f"no conntrack zone left for {bridge}")
            self._zones[bridge] = zone
        return zone

    async def _load_indexes(self) -> dict[str, int]:
        document = await self._json("map", "inet", TABLE, "egress-chains")
        indexes: dict[str, int] = {}
        for found in _items(document, "map"):
            for key, verdict in found.get("elem", []):
                target = str(verdict.get("jump", {}).get("target", ""))
                if target.startswith("o-"):
                    indexes[target[2:]] = int(key)
        self._indexes = indexes
        return indexes

    def _index_for(self, port_id: str) -> int:
        index = self._indexes.get(port_id)
        if index is not None:
            return index
        used = set(self._indexes.values())
        index = next((i for i in range(1, MAX_INDEX + 1) if i not in used), None)
        if index is None:
            raise FirewallError(f"no port index left for {port_id}: {MAX_INDEX} in use")
        self._indexes[port_id] = index
        return index

    async def apply_port(self, spec: PortSpec) -> None:
        """Make the port's filtering exactly ``spec``'s, in one transaction; with port
        security off, the port has no filtering at all. Idempotent.

        Calls that arrive while a transaction runs are applied together in the next one
        (the agent re-wires every port of a group at once when a rule changes), each
        port's chains still replaced whole; if that transaction fails, each port is tried
        on its own, so one bad port never holds the others back."""
        if not spec.port_security_enabled:
            await self.remove_port(spec.port_id)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((spec, done))
        async with self._lock:
            if not done.done():
                batch, self._pending = self._pending, []
                try:
                    await self._apply_batch(batch)
                finally:        # cut short: the ports not done go to the next caller
                    self._pending[:0] = [item for item in batch if not item[1].done()]
        await done

    async def _apply_batch(self, batch: list[tuple[PortSpec, asyncio.Future[None]]]
                           ) -> None:
        try:
            await self._apply("".join(self._render(spec) for spec, _ in batch))
        except Exception as exc:
            await self._load_indexes()      # what the kernel has is the truth
            await self._load_zones()
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for spec, done in batch:
                await self._apply_batch([(spec, done)])
            return
        for _, done in batch:
            done.set_result(None)

    def _render(self, spec: PortSpec) -> str:
        return render_port(spec, self._index_for(checked_id(spec.port_id)),
                           self._zone_for(checked_id(spec.bridge)))

    async def remove_port(self, port_id: str) -> None:
        """Remove the port's chains and map entries; succeeds if it has none."""
        async with self._lock:
            index = (await self._load_indexes()).get(checked_id(port_id))
            if index is None:
                return
            await self._apply(render_remove(port_id, index))
            self._indexes.pop(port_id, None)

    async def remove_tables(self) -> None:
        """Remove both of ownstack's tables (``ownstack reset``, once every port's filtering
        is gone); other tables are never touched. Succeeds if they are gone already."""
        async with self._lock:
            tables = await self._run(NFT, "list", "tables")
            script = "".join(f"delete table {family} {TABLE}\n" for family in ("bridge", "inet")
                             if f"table {family} {TABLE}\n" in tables + "\n")
            if script:
                await self._apply(script)
            self._indexes.clear()
            self._zones.clear()

    async def remove_bridge(self, bridge: str) -> None:
        """Forget a bridge's conntrack zone (its network is gone from the host); call it
        once no filtered port is on the bridge. Succeeds if it has none."""
        async with self._lock:
            await self._load_zones()
            zone = self._zones.get(checked_id(bridge))
            if zone is None:
                return
            await self._apply(f"delete element inet {TABLE} bridge-zones "
                              f"{{ \"{bridge}\" }}\n")
            self._zones.pop(bridge, None)

    async def zones(self) -> dict[str, int]:
        """Each bridge's conntrack zone, as the kernel has them."""
        await self._load_zones()
        return dict(self._zones)

    async def ports(self) -> set[str]:
        """The ids of the ports filtered on this host, as the kernel has them."""
        return set(await self._load_indexes())

    async def set_members(self, group_id: str, v4: Sequence[str], v6: Sequence[str]) -> None:
        """Make the group's sets hold exactly ``v4`` and ``v6`` (addresses or CIDRs)."""
        await self._apply(render_members(group_id, v4, v6))

    async def remove_group(self, group_id: str) -> None:
        """Remove the group's sets; :class:`FirewallError` while a port's rule uses them."""
        await self._apply(render_remove_group(group_id))

    async def members(self) -> dict[str, tuple[list[str], list[str]]]:
        """Every group's (IPv4, IPv6) members, as the kernel has them."""
        document = await self._json("sets", "inet")
        found: dict[str, tuple[list[str], list[str]]] = {}
        for item in _items(document, "set"):
            match = _GROUP_SET.fullmatch(str(item.get("name", "")))
            if item.get("table") != TABLE or match is None:
                continue
            v4, v6 = found.setdefault(match.group(1), ([], []))
            elements = await self._json("set", "inet", TABLE, item["name"])
            addresses = [address for s in _items(elements, "set")
                         for element in s.get("elem", [])
                         for address in _element_address(element).split(",")]
            (v4 if match.group(2) == "4" else v6).extend(addresses)
        return found

    async def groups(self) -> set[str]:
        """The ids of the groups whose sets exist."""
        document = await self._json("sets", "inet")
        return {match.group(1) for item in _items(document, "set")
                if item.get("table") == TABLE
                and (match := _GROUP_SET.fullmatch(str(item.get("name", ""))))}

    async def describe_port(self, port_id: str) -> dict[str, Any]:
        """The port's chains, each rule with its comment, nft's JSON expression and its
        packet and byte counters; ``{}`` for a port with no filtering."""
        if checked_id(port_id) not in await self.ports():
            return {}
        chains: dict[str, Any] = {}
        for role, family, chain in (("from_guest", "bridge", from_guest_chain(port_id)),
                                    ("to_guest", "bridge", to_guest_chain(port_id)),
                                    ("egress", "inet", egress_chain(port_id)),
                                    ("ingress", "inet", ingress_chain(port_id))):
            document = await self._json("chain", family, TABLE, chain)
            chains[role] = {"table": f"{family} {TABLE}", "chain": chain,
                            "rules": [_rule_view(rule) for rule in _items(document, "rule")]}
        return {"index": self._indexes.get(port_id), "chains": chains}
