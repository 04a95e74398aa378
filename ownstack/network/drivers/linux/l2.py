"""Bridges, taps and VXLAN devices: the netlink calls behind the Linux driver's L2.

Each function takes the pyroute2 socket of the driver's namespace and runs on the
namespace's thread (:class:`~ownstack.network.drivers.linux.namespace.HostNamespace`). Each
is idempotent: it brings a device to what is asked, making it if it is missing, and
raises (a :class:`pyroute2.NetlinkError`, an :class:`OSError`) only when the kernel
refuses. :func:`links` reads every link of the namespace at once, so that one call tells
the driver what exists.

Only devices whose names follow :mod:`~ownstack.network.drivers.naming` with a UUID's first
11 characters (``brq1a2b3c4d-5e``, ``tap1a2b3c4d-5e``) or ``vxlan-<vni>`` are the
driver's: another ``tap0`` on the host is somebody else's and never touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ownstack.network.drivers import naming

if TYPE_CHECKING:
    from pyroute2 import IPRoute

__all__ = [
    "Link",
    "delete_link",
    "disable_ipv6",
    "ensure_bridge",
    "ensure_tap",
    "ensure_vxlan",
    "is_bridge_name",
    "is_tap_name",
    "link_of",
    "links",
    "set_mtu",
    "tap_mac",
    "vxlan_name",
]

IFF_UP = 0x1
VXLAN_PORT = 4789               # IANA's VXLAN port, as Neutron's linuxbridge agent uses
VXLAN_PREFIX = "vxlan-"
TUN_TYPE_TAP = 2                # IFLA_TUN_TYPE of a tap (1 is a tun)
# A tap made the way QEMU opens it: no packet information, virtio-net's header, one queue.
TAP_FLAGS = {"no_pi": True, "one_queue": False, "vnet_hdr": True, "multi_queue": False}
STATS = ("rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_dropped", "tx_dropped",
         "rx_errors", "tx_errors")

_ID_PART = r"[0-9a-f]{8}-[0-9a-f]{2}"
_BRIDGE = re.compile(naming.BRIDGE_PREFIX + _ID_PART)
_TAP = re.compile(naming.TAP_PREFIX + _ID_PART)


def is_bridge_name(name: str) -> bool:
    return bool(_BRIDGE.fullmatch(name))


def is_tap_name(name: str) -> bool:
    return bool(_TAP.fullmatch(name))


def vxlan_name(vni: int) -> str:
    """A network's VXLAN device: ``vxlan-`` and its VNI (at most 14 characters)."""
    return f"{VXLAN_PREFIX}{vni}"


def tap_mac(port_mac: str) -> str:
    """The tap's own MAC: the guest's with ``fe`` first, as libvirt sets it, so the bridge
    never takes the guest's address for its own and the two never collide."""
    return "fe" + port_mac[2:]


@dataclass(frozen=True, slots=True)
class Link:
    """One link of the namespace, as the kernel reports it."""

    index: int
    name: str
    kind: str | None
    master: int | None
    mtu: int
    up: bool                          # administratively (IFF_UP)
    operstate: str
    mac: str | None
    info: dict[str, Any] = field(default_factory=dict)   # IFLA_INFO_DATA, by attribute
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def is_tap(self) -> bool:
        return self.kind == "tun" and self.info.get("IFLA_TUN_TYPE") == TUN_TYPE_TAP


def _link(message: Any) -> Link:
    linkinfo = message.get_attr("IFLA_LINKINFO")
    kind = info = None
    if linkinfo is not None:
        kind = linkinfo.get_attr("IFLA_INFO_KIND")
        data = linkinfo.get_attr("IFLA_INFO_DATA")
        if data is not None and not isinstance(data, (str, bytes)):
            info = {name: value for name, value in data.get("attrs", ()) if name != "UNKNOWN"}
    stats = message.get_attr("IFLA_STATS64") or {}
    return Link(index=message["index"], name=message.get_attr("IFLA_IFNAME"), kind=kind,
                master=message.get_attr("IFLA_MASTER"), mtu=message.get_attr("IFLA_MTU"),
                up=bool(message["flags"] & IFF_UP),
                operstate=message.get_attr("IFLA_OPERSTATE") or "UNKNOWN",
                mac=message.get_attr("IFLA_ADDRESS"), info=info or {},
                stats={key: stats[key] for key in STATS if key in stats})


def link_of(message: Any) -> Link:
    """A link from an RTM_NEWLINK/RTM_DELLINK message (the monitor's)."""
    return _link(message)


def links(ipr: IPRoute) -> dict[str, Link]:
    """Every link of the namespace, by name."""
    return {link.name: link for link in map(_link, ipr.get_links())}


def _index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def ensure_bridge(ipr: IPRoute, name: str, mtu: int) -> int:
    """The bridge ``name`` exists with ``mtu`` and is up; its index."""
    index = _index(ipr, name)
    if index is None:
        ipr.link("add", ifname=name, kind="bridge")
        index = _index(ipr, name)
    if index is None:
        raise OSError(f"bridge {name} vanished as it was made")
    (link,) = [_link(m) for m in ipr.link("get", index=index)]
    if link.kind != "bridge":
        raise ValueError(f"{name} exists and is a {link.kind or 'plain'} link, not a bridge")
    if link.mtu != mtu or not link.up:
        ipr.link("set", index=index, mtu=mtu, state="up")
    return index


def ensure_vxlan(ipr: IPRoute, name: str, vni: int, local: str, bridge: int,
                 mtu: int) -> None:
    """The VXLAN device ``name`` exists with ``vni`` from ``local`` on UDP 4789, learning,
    on ``bridge`` with ``mtu`` and up. One with another VNI or address is made again (the
    kernel cannot change either in place)."""
    index = _index(ipr, name)
    if index is not None:
        (link,) = [_link(m) for m in ipr.link("get", index=index)]
        address = link.info.get("IFLA_VXLAN_LOCAL") or link.info.get("IFLA_VXLAN_LOCAL6")
        if link.kind != "vxlan" or link.info.get("IFLA_VXLAN_ID") != vni or \
                address != local or link.info.get("IFLA_VXLAN_PORT") != VXLAN_PORT:
            ipr.link("del", index=index)
            index = None
    if index is None:
        local_attr = "vxlan_local6" if ":" in local else "vxlan_local"
        ipr.link("add", ifname=name, kind="vxlan", vxlan_id=vni, vxlan_port=VXLAN_PORT,
                 vxlan_learning=1, **{local_attr: local})
        index = _index(ipr, name)
    ipr.link("set", index=index, mtu=mtu, master=bridge, state="up")


def ensure_tap(ipr: IPRoute, name: str, mac: str, mtu: int, bridge: int, up: bool) -> None:
    """The persistent tap ``name`` exists with ``mac`` and ``mtu``, on ``bridge``, up or
    down as asked. A tap of that name that exists (QEMU makes a passing one when it starts
    before the network side) is taken as it is."""
    index = _index(ipr, name)
    if index is None:
        ipr.link("add", ifname=name, kind="tuntap", mode="tap", ifr=TAP_FLAGS)
        index = _index(ipr, name)
        if index is None:
            raise OSError(f"tap {name} vanished as it was made")
    else:
        (link,) = [_link(m) for m in ipr.link("get", index=index)]
        if not link.is_tap:
            raise ValueError(f"{name} exists and is a {link.kind or 'plain'} link, not a tap")
    ipr.link("set", index=index, address=mac, mtu=mtu, master=bridge,
             state="up" if up else "down")


def disable_ipv6(name: str) -> None:
    """No IPv6 on the link ``name`` of the calling thread's namespace, as Neutron's Linux
    bridge agent has its bridges and the host ends of its veths: the host then takes no
    address or default route from the router advertisements of a tenant network, and
    sends nothing of its own into it. (A host with IPv6 off has nothing to do.)"""
    try:
        Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1")
    except FileNotFoundError:
        return


def set_mtu(ipr: IPRoute, index: int, mtu: int) -> None:
    ipr.link("set", index=index, mtu=mtu)


def delete_link(ipr: IPRoute, name: str) -> bool:
    """Remove the link ``name``; False if there was none."""
    index = _index(ipr, name)
    if index is None:
        return False
    try:
        ipr.link("del", index=index)
    except OSError as exc:
        if getattr(exc, "code", None) == 19:       # ENODEV: gone meanwhile
            return False
        raise
    return True
