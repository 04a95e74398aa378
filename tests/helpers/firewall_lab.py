"""A host and its guests made of network namespaces, for filtering tests with real packets.

The *host* is a namespace with a bridge; each *guest* is a namespace joined to it by a veth
pair whose bridge-side end is named as the port's tap (``tap`` + 11 characters of the port
id), so the firewall sees it exactly as it sees a guest's tap. Traffic goes only between
these namespaces; everything is removed at teardown, failed test or not.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass, field

from ownstack.network.drivers import naming

NETWORK_ID = "net-lab"      # the lab's first network; its bridge is named as ownstack's


def run(*command: str, check: bool = True, timeout: float = 10
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, check=check,
                          timeout=timeout)


@dataclass
class Guest:
    namespace: str
    port_id: str
    mac: str
    ip: str

    def exec(self, *command: str, check: bool = False, timeout: float = 10
             ) -> subprocess.CompletedProcess[str]:
        return run("ip", "netns", "exec", self.namespace, *command, check=check,
                   timeout=timeout)

    def ping(self, address: str) -> bool:
        return self.exec("busybox", "ping", "-c1", "-W1", address).returncode == 0

    def tcp(self, address: str, port: int, server: Guest) -> bool:
        """Whether a TCP connection from this guest to ``server`` carries a line."""
        listener = subprocess.Popen(
            ["ip", "netns", "exec", server.namespace, "busybox", "nc", "-l", "-p", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            for _ in range(50):       # until the listener is bound
                if f":{port:04X}" in server.exec("cat", "/proc/net/tcp").stdout:
                    break
                run("sleep", "0.02")
            sent = subprocess.run(
                ["ip", "netns", "exec", self.namespace, "busybox", "nc", "-w1", address,
                 str(port)], input="hello\n", capture_output=True, text=True, timeout=10)
            if sent.returncode != 0:
                return False
            try:
                out, _ = listener.communicate(timeout=2)
            except subprocess.TimeoutExpired:
                return False
            return "hello" in out
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()

    def ping6(self, address: str) -> bool:
        return self.exec("busybox", "ping", "-6", "-c1", "-W1", address).returncode == 0

    def udp(self, address: str, source_port: int, port: int, receiver: Guest, *,
            echo: bool = False) -> bool:
        """Whether one UDP datagram from ``source_port`` reaches ``receiver``'s ``port``
        (and, with ``echo``, its answer comes back)."""
        listen = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                  f"s.bind(('0.0.0.0', {port})); s.settimeout(2); print('ready', flush=True)"
                  "; data, peer = s.recvfrom(100); print(data.decode(), flush=True)"
                  + ("; s.sendto(b'answer', peer)" if echo else ""))
        listener = subprocess.Popen(
            ["ip", "netns", "exec", receiver.namespace, sys.executable, "-c", listen],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert listener.stdout is not None and listener.stdout.readline() == "ready\n"
            send = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
                    f"s.bind(('0.0.0.0', {source_port})); s.sendto(b'offer', "
                    f"('{address}', {port}))"
                    + ("; s.settimeout(2); print(s.recv(100).decode())" if echo else ""))
            sent = self.exec(sys.executable, "-c", send)
            out, _ = listener.communicate(timeout=5)
            return "offer" in out and (not echo or "answer" in sent.stdout)
        finally:
            if listener.poll() is None:
                listener.kill()
                listener.wait()

    def set_address(self, cidr: str) -> None:
        self.exec("ip", "address", "flush", "dev", "eth0", check=True)
        self.exec("ip", "address", "add", cidr, "dev", "eth0", check=True)
        self.exec("ip", "neigh", "flush", "dev", "eth0")

    def set_mac(self, mac: str) -> None:
        self.exec("ip", "link", "set", "eth0", "address", mac, check=True)


@dataclass
class Lab:
    host: str = field(default_factory=lambda: f"sgh-{uuid.uuid4().hex[:10]}")
    guests: list[Guest] = field(default_factory=list)

    def start(self) -> None:
        run("ip", "netns", "add", self.host)
        run("ip", "-n", self.host, "link", "set", "lo", "up")
        self.network(NETWORK_ID)

    def network(self, network_id: str) -> None:
        """A network's bridge, named as ownstack names it."""
        bridge = naming.bridge_name(network_id)
        run("ip", "-n", self.host, "link", "add", bridge, "type", "bridge")
        run("ip", "-n", self.host, "link", "set", bridge, "up")

    def guest(self, ip: str, mac: str, prefix: int = 24, ip6: str | None = None,
              network_id: str = NETWORK_ID) -> Guest:
        """A guest with ``ip`` (and ``ip6``/64 with its link-local address, else no IPv6)."""
        port_id = str(uuid.uuid4())
        guest = Guest(f"sgg-{uuid.uuid4().hex[:10]}", port_id, mac, ip)
        self.guests.append(guest)
        tap = naming.tap_name(port_id)
        run("ip", "netns", "add", guest.namespace)
        run("ip", "-n", self.host, "link", "add", tap, "type", "veth", "peer", "name", "eth0",
            "netns", guest.namespace)
        run("ip", "-n", self.host, "link", "set", tap, "master",
            naming.bridge_name(network_id), "up")
        guest.exec("ip", "link", "set", "lo", "up", check=True)
        guest.set_mac(mac)
        if ip6 is None:
            guest.exec("sysctl", "-q", "-w", "net.ipv6.conf.eth0.disable_ipv6=1", check=True)
        else:       # no duplicate address detection: addresses usable at once
            guest.exec("sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0", check=True)
            guest.exec("ip", "-6", "address", "add", f"{ip6}/64", "dev", "eth0", "nodad",
                       check=True)
        guest.exec("ip", "address", "add", f"{ip}/{prefix}", "dev", "eth0", check=True)
        guest.exec("ip", "link", "set", "eth0", "up", check=True)
        return guest

    def stop(self) -> None:
        for name in [guest.namespace for guest in self.guests] + [self.host]:
            run("ip", "netns", "del", name, check=False)
