"""The metadata agent: Neutron's ``neutron-metadata-agent``, inside the network agent.

Each ``qdhcp``/``qrouter`` namespace runs a small proxy on 169.254.169.254:80
(:mod:`ownstack.network.metadata_proxy`) that passes a guest's request to this agent's
unix socket (``agent_socket_path``: ``<state_dir>/network/metadata_proxy``), adding
``X-Forwarded-For`` (the guest's address) and ``X-Neutron-Network-ID`` or
``X-Neutron-Router-ID`` (where the proxy runs). The agent asks the network service which
port holds that address there (``metadata_port`` on the ``network`` topic), signs the
port's ``device_id`` with the shared secret, and forwards the request to the metadata
service (``metadata.url``) with ``X-Instance-ID``, ``X-Tenant-ID`` and
``X-Instance-ID-Signature``, streaming the answer back. An address no port holds is a
404; a request without the proxy's headers a 400; a network service or metadata service
that does not answer a 503.

Only the proxy can reach the socket (it lives under the state directory, root's); the
headers the agent trusts are the proxy's, which drops any a guest sent of the same name.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
from collections.abc import Generator
from pathlib import Path
from typing import Final

import httpx
import uvicorn
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from ownstack.common.bus import BusError
from ownstack.common.metadata_signature import sign_instance_id
from ownstack.network.agent.server_api import NetworkServerAPI

log = logging.getLogger(__name__)

MAX_SOCKET_PATH: Final = 107                   # sun_path, less its NUL
FORWARDED_FOR: Final = "x-forwarded-for"
NETWORK_ID: Final = "x-neutron-network-id"
ROUTER_ID: Final = "x-neutron-router-id"
# Never passed on from the proxy's request: hop-by-hop, and the ones the agent sets.
_DROPPED: Final = frozenset({
    "host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
    "proxy-connection", FORWARDED_FOR, NETWORK_ID, ROUTER_ID, "x-instance-id",
    "x-tenant-id", "x-instance-id-signature"})
_HOP_BY_HOP: Final = frozenset({"connection", "keep-alive", "transfer-encoding", "te",
                                "upgrade", "proxy-connection"})


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status, media_type="text/plain")


class MetadataAgent:
    """An ASGI app on a unix socket; :meth:`start` listens, :meth:`stop` closes."""

    def __init__(self, *, server: NetworkServerAPI, path: Path, metadata_url: str,
                 secret: str, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 30.0) -> None:
        if len(os.fsencode(path)) > MAX_SOCKET_PATH:
            raise ValueError(f"the metadata agent's socket path {path} is longer than "
                             f"{MAX_SOCKET_PATH} bytes; use a shorter state directory")
        self.server = server
        self.path = path
        self.secret = secret
        self.http = httpx.AsyncClient(base_url=metadata_url, transport=transport,
                                      timeout=httpx.Timeout(timeout))
        self._uvicorn: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        self.path.unlink(missing_ok=True)     # a socket a killed agent left behind
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            os.chmod(self.path, 0o600)
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(self, log_config=None, access_log=False, lifespan="off",
                                loop="none", http="httptools", server_header=False,
                                timeout_keep_alive=5)
        self._uvicorn = _Server(config)
        self._task = asyncio.get_running_loop().create_task(
            self._uvicorn.serve(sockets=[sock]))
        while not self._uvicorn.started:
            if self._task.done():
                await self._task                  # raises what stopped it
                raise RuntimeError("the metadata agent stopped at start-up")
            await asyncio.sleep(0.005)
        log.info("metadata agent listening on %s", self.path)

    async def stop(self) -> None:
        if self._uvicorn is not None and self._task is not None:
            self._uvicorn.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)
        self._uvicorn = self._task = None
        await self.http.aclose()
        self.path.unlink(missing_ok=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._answer(request)
        await response(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        source = request.headers.get(FORWARDED_FOR, "")
        network_id = request.headers.get(NETWORK_ID) or None
        router_id = request.headers.get(ROUTER_ID) or None
        try:
            address = str(ipaddress.ip_address(source.strip()))
        except ValueError:
            return _text(400, "X-Forwarded-For is missing or not an address.")
        if (network_id is None) == (router_id is None):
            return _text(400, "Give one of X-Neutron-Network-ID and X-Neutron-Router-ID.")
        try:
            port = await self.server.metadata_port(address, network_id=network_id,
                                                   router_id=router_id)
        except BusError as exc:
            log.warning("metadata request from %s: the network service did not answer: %s",
                        address, exc)
            return _text(503, "The network service did not answer.")
        if port is None or not port["device_id"]:
            log.info("metadata request from %s (%s): no instance has that address", address,
                     network_id or f"router {router_id}")
            return _text(404, "No instance has this address.")
        return await self._forward(request, address, port["device_id"], port["tenant_id"])

    async def _forward(self, request: Request, address: str, instance_id: str,
                       tenant_id: str) -> Response:
        headers = [(k, v) for k, v in request.headers.items() if k not in _DROPPED]
        headers += [("X-Forwarded-For", address), ("X-Instance-ID", instance_id),
                    ("X-Tenant-ID", tenant_id),
                    ("X-Instance-ID-Signature", sign_instance_id(self.secret, instance_id))]
        upstream = self.http.build_request(
            request.method, request.url.path, params=request.url.query or None,
            headers=headers, content=await request.body())
        try:
            answer = await self.http.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            log.warning("metadata request of %s: the metadata service did not answer: %s",
                        instance_id, exc)
            return _text(503, "The metadata service did not answer.")
        return StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code,
            headers={k: v for k, v in answer.headers.items() if k not in _HOP_BY_HOP},
            background=BackgroundTask(answer.aclose))
