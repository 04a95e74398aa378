"""The console proxies over real sockets: each proxy app served by uvicorn on a loopback
port, a Unix socket standing in for the guest's console, the websocket a browser (or
websockets' client) opens. Token rules: one use, expiry, the proxy's own console type, a
live server; Origin as Nova checks it; the noVNC page."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from helpers.compute import HOST, fake_agent, owner, server, set_columns, version
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects import console_tokens

NOVNC = Path("/usr/share/novnc")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[int]:
    """``app`` on a loopback port (returned) until the block ends."""
    sock = socket.create_server(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the proxy did not start"
        await asyncio.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def guest_dir() -> Iterator[Path]:
    """A short directory (a Unix socket path fits in 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="osc-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def guest(guest_dir: Path) -> AsyncIterator[Path]:
    """A guest's serial console: a login prompt for each newline, the rest echoed."""
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(b"\r\nvm1 login: " if data in (b"\n", b"\r", b"\r\n") else data)
            await writer.drain()
        writer.close()

    path = guest_dir / "console.sock"
    unix = await asyncio.start_unix_server(serve, path)
    yield path
    unix.close()


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def console_url(cloud: CloudClient, server_id: str, protocol: str) -> str:
    kind = "novnc" if protocol == "vnc" else "serial"
    r = await cloud.call("POST", f"/v2.1/servers/{server_id}/remote-consoles",
                         json={"remote_console": {"protocol": protocol, "type": kind}},
                         headers=version("2.6"), expect=200)
    return str(r.json()["remote_console"]["url"])


async def placed(cloud: CloudClient, socket_path: Path) -> str:
    agent = await fake_agent(cloud)
    agent.console_socket = {"host": HOST, "path": str(socket_path)}
    return await server(cloud, await owner(cloud))


async def refused(url: str, **kwargs: Any) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, **kwargs):
            pass
    return caught.value.response.status_code


async def login_prompt(url: str, **kwargs: Any) -> bytes:
    async with connect(url, **kwargs) as ws:
        await ws.send(b"\n")
        return bytes(await asyncio.wait_for(ws.recv(), 5))


async def test_a_serial_token_opens_the_console_once(cloud: CloudClient, guest: Path) -> None:
    server_id = await placed(cloud, guest)
    token = (await console_url(cloud, server_id, "serial")).split("token=")[1]
    async with serving(cloud.apps["serialproxy"]) as port:
        url = f"ws://127.0.0.1:{port}/?token={token}"
        async with connect(url, subprotocols=["binary"]) as ws:
            assert ws.subprotocol == "binary"
            await ws.send("echo\n")                                  # text frames too
            assert await asyncio.wait_for(ws.recv(), 5) == b"echo\n"
            await ws.send(b"\r")
            assert await asyncio.wait_for(ws.recv(), 5) == b"\r\nvm1 login: "
        assert await refused(url) == 403                             # used
        # The noVNC proxy does not open a serial token, nor the reverse.
        fresh = (await console_url(cloud, server_id, "serial")).split("token=")[1]
        async with serving(cloud.apps["novncproxy"]) as vnc_port:
            assert await refused(f"ws://127.0.0.1:{vnc_port}/?token={fresh}") == 403
        assert await login_prompt(f"ws://127.0.0.1:{port}/?token={fresh}") == (
            b"\r\nvm1 login: ")
        assert await refused(f"ws://127.0.0.1:{port}/") == 403       # no token
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/")
        assert r.status_code == 404 and "serial console proxy" in r.text


async def test_the_console_closes_with_the_guests_socket(
        cloud: CloudClient, guest_dir: Path) -> None:
    accepted = asyncio.Event()

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        await writer.drain()
        writer.close()
        accepted.set()

    path = guest_dir / "gone.sock"
    unix = await asyncio.start_unix_server(hang_up, path)
    server_id = await placed(cloud, path)
    token = (await console_url(cloud, server_id, "serial")).split("token=")[1]
    async with serving(cloud.apps["serialproxy"]) as port, \
            connect(f"ws://127.0.0.1:{port}/?token={token}") as ws:
        assert await asyncio.wait_for(ws.recv(), 5) == b"bye"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    unix.close()
    assert accepted.is_set()


async def test_novnc_serves_its_page_and_takes_the_token_from_a_cookie(
        cloud: CloudClient, guest: Path) -> None:
    assert (NOVNC / "vnc_lite.html").is_file(), "tools/install-system-deps.sh installs novnc"
    server_id = await placed(cloud, guest)
    url = await console_url(cloud, server_id, "vnc")
    assert "/vnc_lite.html?path=%3Ftoken%3D" in url
    token = url.split("%3Ftoken%3D")[1]
    async with serving(cloud.apps["novncproxy"]) as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            page = await http.get("/vnc_lite.html")
            assert page.status_code == 200 and "noVNC" in page.text
            assert (await http.get("/core/rfb.js")).status_code == 200
            assert (await http.get("/../etc/passwd")).status_code == 404
        origin = f"http://127.0.0.1:{port}"
        assert await login_prompt(f"ws://127.0.0.1:{port}/", origin=origin,
                                  additional_headers={"Cookie": f"token={token}"}) == (
            b"\r\nvm1 login: ")


async def test_a_foreign_origin_is_refused_and_does_not_burn_the_token(
        cloud: CloudClient, guest: Path) -> None:
    server_id = await placed(cloud, guest)
    token = (await console_url(cloud, server_id, "vnc")).split("%3Ftoken%3D")[1]
    async with serving(cloud.apps["novncproxy"]) as port:
        url = f"ws://127.0.0.1:{port}/?token={token}"
        for origin in ("http://evil.example", "null", "https://127.0.0.1"):
            assert await refused(url, origin=origin) == 403
        forwarded = {"X-Forwarded-Proto": "https"}
        assert await refused(url, origin=f"http://127.0.0.1:{port}",
                             additional_headers=forwarded) == 403
        assert await login_prompt(url, origin=f"http://127.0.0.1:{port}") == (
            b"\r\nvm1 login: ")


async def test_allowed_origins_are_accepted(tmp_path: Path, guest: Path) -> None:
    async for cloud in quiet_cloud(tmp_path, "console.allowed_origins=console.example, other"):
        server_id = await placed(cloud, guest)
        token = (await console_url(cloud, server_id, "vnc")).split("%3Ftoken%3D")[1]
        async with serving(cloud.apps["novncproxy"]) as port:
            url = f"ws://127.0.0.1:{port}/?token={token}"
            assert await refused(url, origin="http://elsewhere.example") == 403
            assert await login_prompt(url, origin="http://console.example") == (
                b"\r\nvm1 login: ")


async def test_an_expired_token_or_a_deleted_server_opens_nothing(
        cloud: CloudClient, guest: Path) -> None:
    server_id = await placed(cloud, guest)
    async with cloud.svc.write() as db:
        expired = await console_tokens.authorize(
            db, console_type="serial", instance_uuid=server_id, host=HOST,
            path=str(guest), access_url_base="ws://h/", ttl=600, now=time.time() - 600)
    live = (await console_url(cloud, server_id, "serial")).split("token=")[1]
    async with serving(cloud.apps["serialproxy"]) as port:
        assert await refused(f"ws://127.0.0.1:{port}/?token={expired}") == 403
        await set_columns(cloud, server_id, deleted=True)
        assert await refused(f"ws://127.0.0.1:{port}/?token={live}") == 403


async def test_a_console_this_proxy_cannot_reach_is_refused(
        cloud: CloudClient, guest_dir: Path) -> None:
    agent = await fake_agent(cloud)
    server_id = await server(cloud, await owner(cloud))
    agent.console_socket = {"host": HOST, "path": str(guest_dir / "no-such.sock")}
    missing = (await console_url(cloud, server_id, "serial")).split("token=")[1]
    agent.console_socket = {"host": "another-host", "path": str(guest_dir / "x.sock")}
    elsewhere = (await console_url(cloud, server_id, "serial")).split("token=")[1]
    async with serving(cloud.apps["serialproxy"]) as port:
        for token in (missing, elsewhere):
            assert await refused(f"ws://127.0.0.1:{port}/?token={token}") == 403
