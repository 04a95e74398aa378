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

Standard library only, and nothing of ownstack is imported: a proxy runs per namespace,
so its resident size is the interpreter's and little more (``bench/`` measures it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

AGENT_SOCKET_NAME = "metadata_proxy"       # Neutron's $state_path/metadata_proxy
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
MAX_HEAD = 16384
MAX_BODY = 1 << 20
HEAD_TIMEOUT = 30.0
ANSWER_TIMEOUT = 60.0
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


class Proxy:
    def __init__(self, socket_path: str, owner_header: bytes, owner_id: str) -> None:
        self.socket_path = socket_path
        self.owner_header = owner_header
        self.owner_id = owner_id

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        try:
            await self._handle(reader, writer)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        peer = writer.get_extra_info("peername")[0]
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            head, length = rewrite_head(head[:-4], peer, self.owner_header, self.owner_id)
        except asyncio.LimitOverrunError:
            writer.write(_refusal(431, "Request Header Fields Too Large"))
            return
        except Refused as refused:
            writer.write(_refusal(refused.status, refused.reason))
            return
        body = await asyncio.wait_for(reader.readexactly(length), HEAD_TIMEOUT)
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            writer.write(_refusal(503, "Service Unavailable"))
            return
        try:
            up_writer.write(head + body)
            await up_writer.drain()
            while chunk := await asyncio.wait_for(up_reader.read(65536), ANSWER_TIMEOUT):
                writer.write(chunk)
                await writer.drain()
        finally:
            up_writer.close()


async def serve(args: argparse.Namespace) -> None:
    owner_header, owner_id = (b"X-Neutron-Network-ID", args.network_id) if args.network_id \
        else (b"X-Neutron-Router-ID", args.router_id)
    proxy = Proxy(args.socket, owner_header, owner_id)
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
    sock.bind((args.bind, args.port))
    server = await asyncio.start_server(proxy.handle, sock=sock, limit=MAX_HEAD)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())     # whoever started us stops reading
    os.close(devnull)
    async with server:
        await stop.wait()


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
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
