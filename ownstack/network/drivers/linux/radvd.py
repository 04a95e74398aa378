"""IPv6 router advertisements from a router's namespace: one radvd per router, as Neutron's
L3 agent runs it.

A router advertises on each interface leg (``qr-…``) that holds an address on a subnet
whose ``ipv6_ra_mode`` is set, and nowhere else (a subnet whose ``ipv6_ra_mode`` is unset
expects its advertisements from a router outside the cloud). Each advertisement carries,
as Neutron's radvd configuration does:

* the router as default router (radvd's router lifetime, three times the largest interval: 300 s);
* the network's MTU (from 1280, IPv6's least);
* the M flag when a subnet of the leg is ``dhcpv6-stateful``, the O flag when one is
  ``dhcpv6-stateless``;
* each subnet's prefix, on-link, autonomous (hosts make their SLAAC address in it) for
  ``slaac`` and ``dhcpv6-stateless``, not autonomous for ``dhcpv6-stateful``;
* the DNS servers of its ``slaac`` subnets (RDNSS, three at most), which get no DHCPv6.

The router's DHCP servers then send no advertisements of their own for those subnets
(:mod:`.dhcp`).

The files of router ``R`` are in ``<root>/R/``: ``radvd.conf``, ``pid`` (radvd's pid
file, which it writes itself once it runs in the background) and ``log``. radvd rereads its
configuration on SIGHUP, so a leg added or removed does not restart it. A restarted agent
adopts a radvd whose pid file names it; one without its pid file is found in ``/proc`` by
its command line (``-C <root>/R/radvd.conf``), so a stop or a reset ends it all the same.

:func:`radvd_config` is pure and validates every value it writes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import DriverError, RouterLeg, RouterSpec
from ownstack.network.drivers.linux import processes
from ownstack.network.drivers.linux.run import run

log = logging.getLogger(__name__)

SLAAC: Final = "slaac"
STATELESS: Final = "dhcpv6-stateless"
STATEFUL: Final = "dhcpv6-stateful"
RA_MODES: Final = (SLAAC, STATELESS, STATEFUL)
MIN_INTERVAL: Final = 30                # seconds between advertisements, Neutron's defaults
MAX_INTERVAL: Final = 100
IPV6_MIN_MTU: Final = 1280
MAX_RDNSS: Final = 3                     # radvd takes three servers in one RDNSS line
PROGRAM: Final = "radvd"
START_WAIT: Final = 5.0                  # seconds for radvd to write its pid file
STOP_WAIT: Final = 5.0                   # seconds radvd gets to send its last adverts
_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")


@dataclass(frozen=True, slots=True)
class AdvertisedLeg:
    """What one interface leg advertises."""

    interface: str
    mtu: int
    managed: bool                       # M: addresses from DHCPv6
    other: bool                         # O: other configuration from DHCPv6
    autonomous: tuple[str, ...]         # prefixes hosts make their addresses in
    on_link: tuple[str, ...]            # prefixes only on the link (dhcpv6-stateful)
    dns: tuple[str, ...]


def _prefix(address: str, prefixlen: int) -> str:
    try:
        net = ipaddress.ip_network(f"{address}/{int(prefixlen)}", strict=False)
    except ValueError:
        raise DriverError(f"invalid address {address}/{prefixlen}") from None
    return str(net)


def _dns(servers: tuple[str, ...]) -> list[str]:
    found = []
    for server in servers:
        try:
            value = ipaddress.ip_address(server)
        except ValueError:
            raise DriverError(f"invalid DNS server {server!r}") from None
        if value.version == 6:
            found.append(str(value))
    return found


def advertised_leg(leg: RouterLeg) -> AdvertisedLeg | None:
    """What ``leg`` advertises; None when none of its addresses is on a subnet with an
    ``ipv6_ra_mode``. :class:`DriverError` for a value that cannot be written."""
    if not _ID.match(leg.port_id):
        raise DriverError(f"invalid port id {leg.port_id!r}")
    modes: set[str] = set()
    autonomous: set[str] = set()
    on_link: set[str] = set()
    dns: list[str] = []
    for address in leg.addresses:
        mode = address.ipv6_ra_mode
        if mode is None:
            continue
        if mode not in RA_MODES:
            raise DriverError(f"invalid ipv6_ra_mode {mode!r}")
        prefix = _prefix(address.ip_address, address.prefixlen)
        if ipaddress.ip_network(prefix).version != 6:
            continue
        modes.add(mode)
        (on_link if mode == STATEFUL else autonomous).add(prefix)
        if mode == SLAAC:
            dns += [server for server in _dns(address.dns_nameservers) if server not in dns]
    if not modes:
        return None
    return AdvertisedLeg(naming.router_interface_name(leg.port_id), int(leg.mtu),
                         managed=STATEFUL in modes, other=STATELESS in modes,
                         autonomous=tuple(sorted(autonomous)), on_link=tuple(sorted(on_link)),
                         dns=tuple(dns[:MAX_RDNSS]))


def advertised_legs(spec: RouterSpec) -> list[AdvertisedLeg]:
    """The interface legs of ``spec`` that advertise (never the gateway leg)."""
    legs = (advertised_leg(leg) for leg in spec.interfaces)
    return [leg for leg in legs if leg is not None]


def radvd_config(spec: RouterSpec) -> str:
    """radvd's configuration for ``spec``; empty when no leg advertises."""
    blocks = []
    for leg in advertised_legs(spec):
        lines = [f"interface {leg.interface}", "{", "    AdvSendAdvert on;",
                 f"    MinRtrAdvInterval {MIN_INTERVAL};", f"    MaxRtrAdvInterval {MAX_INTERVAL};"]
        if leg.mtu >= IPV6_MIN_MTU:
            lines.append(f"    AdvLinkMTU {leg.mtu};")
        if leg.managed:
            lines.append("    AdvManagedFlag on;")
        if leg.other:
            lines.append("    AdvOtherConfigFlag on;")
        if leg.dns:
            lines.append(f"    RDNSS {' '.join(leg.dns)} {{}};")
        for prefix in leg.autonomous:
            lines += [f"    prefix {prefix}", "    {", "        AdvOnLink on;",
                      "        AdvAutonomous on;", "    };"]
        for prefix in leg.on_link:
            lines += [f"    prefix {prefix}", "    {", "        AdvOnLink on;",
                      "        AdvAutonomous off;", "    };"]
        lines.append("};")
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


class RouterAdvertisements:
    """The radvd of each router of one host, its files under ``root`` (see the module's
    docstring). Calls for one router must not overlap (:class:`~.l3.LinuxRouters` holds
    the router's lock)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def state(self, router_id: str) -> Path:
        if not _ID.match(router_id):
            raise DriverError(f"invalid router id {router_id!r}")
        return self.root / router_id

    def _config_path(self, router_id: str) -> Path:
        return self.state(router_id) / "radvd.conf"

    def argv(self, router_id: str) -> list[str]:
        state = self.state(router_id)
        return [PROGRAM, "-C", str(state / "radvd.conf"), "-p", str(state / "pid"),
                "-m", "logfile", "-l", str(state / "log")]

    # -- the contract ------------------------------------------------------------------

    async def ensure(self, spec: RouterSpec) -> int | None:
        """Postcondition: when a leg of ``spec`` advertises, one radvd runs in the router's
        namespace with :func:`radvd_config` (started, or told to reread it); otherwise none
        does. Its pid, or None. :class:`DriverError` when radvd does not stay up."""
        config = radvd_config(spec)
        if not config:
            await self.stop(spec.router_id)
            return None
        state = self.state(spec.router_id)
        path = self._config_path(spec.router_id)
        changed = await asyncio.to_thread(_write_if_changed, state, path, config)
        pid = self.running(spec.router_id, spec.namespace)
        if pid is not None:
            if changed:
                os.kill(pid, signal.SIGHUP)      # rereads its configuration, keeps running
                log.info("router %s: radvd %d rereads its configuration", spec.router_id, pid)
            return pid
        # Ours but in a namespace since made anew, or half started: ended first (radvd
        # refuses to start beside a live one that holds its pid file).
        await self._end_all(spec.router_id)
        try:
            await run(["ip", "netns", "exec", spec.namespace, *self.argv(spec.router_id)])
        except DriverError as exc:
            raise DriverError(f"radvd of router {spec.router_id} did not start: {exc} "
                              f"{_tail(state / 'log')}") from exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WAIT
        # It daemonized: the pid file it writes is all there is to wait on.
        while (pid := self.running(spec.router_id, spec.namespace)) is None \
                and loop.time() < deadline:                                  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if pid is None:
            raise DriverError(f"radvd of router {spec.router_id} did not stay up: "
                              f"{_tail(state / 'log')}")
        log.info("router %s: radvd %d advertises", spec.router_id, pid)
        return pid

    async def stop(self, router_id: str) -> None:
        """Postcondition: no radvd of the router runs and its files are gone. Succeeds if
        there was none."""
        await self._end_all(router_id)
        await asyncio.to_thread(shutil.rmtree, self.state(router_id), True)

    def running(self, router_id: str, namespace: str | None = None) -> int | None:
        """The pid of the router's radvd (in ``namespace``, when given), if one runs: the
        one its pid file names, else one found in ``/proc``."""
        state = self.state(router_id)
        try:
            pid: int | None = int((state / "pid").read_text().strip())
        except (OSError, ValueError):
            pid = None
        if pid is None or not self._is_ours(pid, router_id):
            pid = self._found().get(router_id)
        if pid is None or (namespace is not None and not processes.same_namespace(pid,
                                                                                  namespace)):
            return None
        return pid

    def recorded(self) -> list[str]:
        """Every router with files here or a radvd of ours in ``/proc``."""
        found = set(self._found())
        if self.root.is_dir():
            found |= {path.name for path in self.root.iterdir() if _ID.match(path.name)}
        return sorted(found)

    def describe(self, router_id: str) -> dict[str, Any] | None:
        """For ``ownstack show router``: the radvd's pid, command line, configuration and
        last log lines; None when the router advertises nothing."""
        state = self.state(router_id)
        if not state.is_dir():
            return None
        pid = self.running(router_id)
        return {"pid": pid, "running": pid is not None,
                "cmdline": processes.cmdline(pid) if pid else None,
                "config": _lines(state / "radvd.conf"), "log": _lines(state / "log")[-5:]}

    # -- pieces ------------------------------------------------------------------------

    def _is_ours(self, pid: int, router_id: str) -> bool:
        argv = processes.cmdline(pid)
        return argv is not None and _owner(argv, self.root) == router_id

    def _found(self) -> dict[str, int]:
        """The main radvd of each router of this root, as ``/proc`` has them (radvd forks
        a helper with the same command line: the main one is its parent)."""
        matched: dict[int, str] = {}
        for pid in processes.pids():
            argv = processes.cmdline(pid)
            owner = _owner(argv, self.root) if argv else None
            if owner is not None:
                matched[pid] = owner
        return {owner: pid for pid, owner in sorted(matched.items())
                if processes.parent(pid) not in matched}

    async def _end_all(self, router_id: str) -> None:
        """End every radvd process of the router: the main one, then what is left."""
        main = self.running(router_id)
        if main is not None:
            await processes.end(main, STOP_WAIT)
        for pid in processes.pids():
            argv = processes.cmdline(pid)
            if argv is not None and _owner(argv, self.root) == router_id:
                await processes.end(pid, STOP_WAIT)


def _owner(argv: list[str], root: Path) -> str | None:
    """The router whose radvd ``argv`` is, when it is one of ``root``'s."""
    if not argv or os.path.basename(argv[0]) != PROGRAM or "-C" not in argv:
        return None
    index = argv.index("-C")
    if index + 1 >= len(argv):
        return None
    path = Path(argv[index + 1])
    if path.name != "radvd.conf" or path.parent.parent != root:
        return None
    owner = path.parent.name
    return owner if _ID.match(owner) else None


def _write_if_changed(state: Path, path: Path, text: str) -> bool:
    state.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)                     # radvd refuses a configuration others may write
    os.replace(tmp, path)
    return True


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def _tail(path: Path) -> str:
    return " / ".join(_lines(path)[-3:])
