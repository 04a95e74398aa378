"""The metadata proxy: one small process per ``qdhcp``/``qrouter`` namespace, listening on
169.254.169.254:80 there and passing each guest request to the metadata agent's unix socket
(:mod:`ownstack.network.agent.metadata`), as Neutron's haproxy does.

Run inside the namespace::

    ip netns exec qdhcp-<network> python -m ownstack.network.metadata_proxy \\
        --socket <state_dir>/network/metadata_proxy --network-id <network>

(or ``--router-id``). It binds with ``IP_FREEBIND``, so it may start before the address is
on an interface; it writes ``ready`` on its standard output once it listens, then closes it.
One request per connection: the request's head is read (at most 16 KiB), every header a
guest could use to pose as the proxy (``X-Forwarded-For``, ``X-Neutron-*``,
``X-Instance-ID*``, ``X-Tenant-ID``) is dropped, the proxy's own are added
(``X-Forwarded-For``: the peer's address; the network or router id) with
``Connection: close``, and exactly ``Content-Length`` bytes of body follow (no chunked
bodies: 411); the agent's answer streams back until it closes.

Standard library only (threads and ``socketserver``, not asyncio), and nothing of ownstack
is imported: a proxy runs per namespace, so its resident size is the interpreter's and
little more, about 12 MiB (``tests/e2e/test_metadata_proxy.py`` checks it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

AGENT_SOCKET_NAME = "metadata_proxy"       # Neutron's $state_path/metadata_proxy
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
MAX_HEAD = 16384
MAX_BODY = 1 << 20
HEAD_TIMEOUT = 30.0
ANSWER_TIMEOUT = 60.0
MAX_CONNECTIONS = 64
SPOOFABLE = (b"x-forwarded-for", b"x-neutron-network-id", b"x-neutron-router-id",
             b"x-instance-id", b"x-instance-id-signature", b"x-tenant-id", b"connection",
             b"keep-alive", b"proxy-connection")


def agent_socket_path(state_dir: Path) -> Path:
    """Where the network agent's metadata agent listens and every proxy of the host
    connects: ``<state_dir>/network/metadata_proxy``."""
    return state_dir / "network" / AGENT_SOCKET_NAME


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason
        super().__init__(reason)


def rewrite_head(head: bytes, peer: str, owner_header: bytes, owner_id: str
                 ) -> tuple[bytes, int]:
    """The request head to send on, and the body's length; :class:`Refused` for a
    request the proxy does not pass (bad head, chunked body, body too large)."""
    lines = head.split(b"\r\n")
    request_line = lines[0]
    if len(request_line.split(b" ")) != 3 or not request_line.endswith((b"HTTP/1.0",
                                                                       b"HTTP/1.1")):
        raise Refused(400, "Bad Request")
    kept = [request_line]
    length = 0
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise Refused(400, "Bad Request")
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            raise Refused(411, "Length Required")
        if lowered == b"content-length":
            text = value.strip()
            if not text.isdigit():
                raise Refused(400, "Bad Request")
            length = int(text)
            if length > MAX_BODY:
                raise Refused(413, "Payload Too Large")
        if lowered in SPOOFABLE:
            continue
        kept.append(line)
    kept += [b"X-Forwarded-For: " + peer.encode("ascii"),
             owner_header + b": " + owner_id.encode("ascii"), b"Connection: close"]
    return b"\r\n".join(kept) + b"\r\n\r\n", length


def _refusal(status: int, reason: str) -> bytes:
    body = f"{status} {reason}\n".encode("ascii")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii") + body


def _read_head(conn: socket.socket) -> tuple[bytes, bytes]:
    """The request's head (without its blank line) and what came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > MAX_HEAD:
            raise Refused(431, "Request Header Fields Too Large")
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the client left mid-request")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if len(head) > MAX_HEAD:
        raise Refused(431, "Request Header Fields Too Large")
    return head, rest


def _read_body(conn: socket.socket, start: bytes, length: int) -> bytes:
    body = start[:length]           # anything after it (a pipelined request) is dropped
    while len(body) < length:
        chunk = conn.recv(min(65536, length - len(body)))
        if not chunk:
            raise ConnectionError("the client left mid-body")
        body += chunk
    return body


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(HEAD_TIMEOUT)
        try:
            head, rest = _read_head(conn)
            head, length = rewrite_head(head, str(self.client_address[0]),
                                        self.server.owner_header, self.server.owner_id)
            body = _read_body(conn, rest, length)
        except Refused as refused:
            conn.sendall(_refusal(refused.status, refused.reason))
            return
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.settimeout(ANSWER_TIMEOUT)
        try:
            try:
                upstream.connect(self.server.agent_socket)
            except OSError:
                conn.sendall(_refusal(503, "Service Unavailable"))
                return
            upstream.sendall(head + body)
            while chunk := upstream.recv(65536):
                conn.sendall(chunk)
        except OSError:
            return
        finally:
            upstream.close()


class _Server(socketserver.ThreadingTCPServer):
    """A thread per connection, at most :data:`MAX_CONNECTIONS` at once: threads, not
    asyncio, because importing asyncio alone doubles the interpreter's resident size."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, bind: str, port: int, agent_socket: str, owner_header: bytes,
                 owner_id: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.agent_socket = agent_socket
        self.owner_header = owner_header
        self.owner_id = owner_id
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((bind, port), _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET:
            # Bind before the address is on an interface: the agent may start us first.
            self.socket.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)      # too many at once: this one is dropped
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def serve(args: argparse.Namespace) -> None:
    owner_header, owner_id = (b"X-Neutron-Network-ID", args.network_id) if args.network_id \
        else (b"X-Neutron-Router-ID", args.router_id)
    server = _Server(args.bind, args.port, args.socket, owner_header, owner_id)
    signal.signal(signal.SIGTERM, _exit)
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())     # whoever started us stops reading
    os.close(devnull)
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=3600)


def _exit(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _identifier(value: str) -> str:
    if not value or len(value) > 64 or not all(c.isalnum() or c == "-" for c in value):
        raise argparse.ArgumentTypeError(f"not an id: {value!r}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ownstack-metadata-proxy",
                                     description="Pass guests' metadata requests to the "
                                                 "metadata agent's unix socket.")
    owner = parser.add_mutually_exclusive_group(required=True)
    owner.add_argument("--network-id", type=_identifier)
    owner.add_argument("--router-id", type=_identifier)
    parser.add_argument("--socket", required=True, help="the metadata agent's socket")
    parser.add_argument("--bind", default="169.254.169.254")
    parser.add_argument("--port", type=int, default=80)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    serve(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
