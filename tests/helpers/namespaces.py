"""Network namespaces for the data-path tests: a stand-in host, guests, and a way to run
commands in them. Everything a test makes lives in namespaces with fresh names, removed at
teardown, so no test touches the real host's links or addresses nothing outside them."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyroute2 import IPRoute, netns


def run_in(namespace: str, argv: Sequence[str], *, timeout: float = 10.0,
           check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", namespace, *argv], capture_output=True,
                          text=True, timeout=timeout, check=check)


def pings(namespace: str, address: str, *, count: int = 1, wait: int = 1) -> bool:
    """Whether ``address`` answers a ping from ``namespace`` (busybox's ping)."""
    done = run_in(namespace, ["busybox", "ping", "-c", str(count), "-W", str(wait), address],
                  timeout=count * wait + 5)
    return done.returncode == 0


@dataclass
class Namespaces:
    """The namespaces one test made, removed by :func:`namespaces`."""

    made: list[str] = field(default_factory=list)

    def new(self, prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        netns.create(name)
        self.made.append(name)
        with IPRoute(netns=name) as ipr:
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        return name

    def adopt(self, name: str) -> None:
        """Remove ``name`` at teardown too (a namespace the code under test made)."""
        self.made.append(name)

    def bridge(self, namespace: str, name: str, *, address: str | None = None,
               mtu: int = 1500) -> None:
        with IPRoute(netns=namespace) as ipr:
            ipr.link("add", ifname=name, kind="bridge")
            index = ipr.link_lookup(ifname=name)[0]
            ipr.link("set", index=index, mtu=mtu, state="up")
            if address is not None:
                value, prefixlen = address.split("/")
                ipr.addr("add", index=index, address=value, prefixlen=int(prefixlen))

    def guest(self, host: str, bridge: str, *, port_id: str, mac: str, address: str,
              gateway: str | None = None, mtu: int = 1500) -> str:
        """A namespace standing for a guest: ``eth0`` with ``mac`` and ``address``, joined by
        a veth whose host end is the port's tap (``tap`` + 11 of its id) on ``bridge``."""
        guest = self.new("osgst")
        tap = "tap" + port_id[:11]
        with IPRoute(netns=host) as ipr:
            ipr.link("add", ifname=tap, kind="veth", peer={"ifname": "eth0", "net_ns_fd": guest})
            ipr.link("set", index=ipr.link_lookup(ifname=tap)[0],
                     master=ipr.link_lookup(ifname=bridge)[0], mtu=mtu, state="up")
        with IPRoute(netns=guest) as ipr:
            index = ipr.link_lookup(ifname="eth0")[0]
            ipr.link("set", index=index, address=mac, mtu=mtu, state="up")
            value, prefixlen = address.split("/")
            ipr.addr("add", index=index, address=value, prefixlen=int(prefixlen))
            if gateway is not None:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateway)
        return guest

    def remove_all(self) -> None:
        existing = set(netns.listnetns())
        for name in reversed(self.made):
            if name in existing:
                netns.remove(name)
        self.made.clear()


@contextmanager
def namespaces() -> Iterator[Namespaces]:
    made = Namespaces()
    try:
        yield made
    finally:
        made.remove_all()
