"""Browser consoles' API: POST /servers/{id}/remote-consoles (2.6+), the console actions
(2.1 to 2.5) and GET /os-console-auth-tokens/{token}; the URLs, the tokens behind them,
and every refusal with Nova's status and message."""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from helpers.compute import (
    HOST,
    Owner,
    act,
    fake_agent,
    fault,
    owner,
    reader_token,
    server,
    set_columns,
    version,
)
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.api.handlers import remote_consoles as handler
from ownstack.compute.drivers.base import (
    ConsoleUnavailable,
    GuestNotFound,
    InvalidGuestState,
    Unsupported,
)
from ownstack.compute.objects import console_tokens
from ownstack.compute.objects.models import ConsoleAuthToken
from ownstack.compute.states import PowerState

SOCKET = "/run/ownstack/abc/server.vnc"


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def remote(cloud: CloudClient, token: str | None, server_id: str, body: Any, *,
                 v: str = "2.6", expect: int | None = None) -> httpx.Response:
    return await cloud.call("POST", f"/v2.1/servers/{server_id}/remote-consoles",
                            token=token, json=body, headers=version(v), expect=expect)


def console(protocol: str, kind: str) -> dict[str, Any]:
    return {"remote_console": {"protocol": protocol, "type": kind}}


def token_of(url: str) -> str:
    """The token a console URL carries (noVNC's inside its ``path`` parameter)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    if "path" in query:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(query["path"][0]).query)
    return query["token"][0]


async def token_rows(cloud: CloudClient) -> list[ConsoleAuthToken]:
    async with cloud.svc.read() as db:
        return list((await db.execute(select(ConsoleAuthToken))).scalars())


async def show_token(cloud: CloudClient, token: str, *, as_: str | None = None,
                     v: str = "2.31", expect: int) -> httpx.Response:
    return await cloud.call("GET", f"/v2.1/os-console-auth-tokens/{token}", token=as_,
                            headers=version(v), expect=expect)


async def placed(cloud: CloudClient) -> tuple[Owner, str]:
    who = await owner(cloud)
    return who, await server(cloud, who)


# --- the URLs and their tokens ------------------------------------------------------------

async def test_a_novnc_url_as_nova_makes_it_with_a_hashed_token(cloud: CloudClient) -> None:
    agent = await fake_agent(cloud)
    agent.console_socket = {"host": HOST, "path": SOCKET}
    who, server_id = await placed(cloud)
    before = int(time.time())
    r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=200)
    body = r.json()["remote_console"]
    assert (body["protocol"], body["type"]) == ("vnc", "novnc")
    token = token_of(body["url"])
    assert body["url"] == ("http://127.0.0.1:6080/vnc_lite.html?path=%3Ftoken%3D" + token)
    assert agent.casts == [("console_socket", {"uuid": server_id, "kind": "vnc"})]
    [row] = await token_rows(cloud)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(getattr(row, c.key)) for c in ConsoleAuthToken.__table__.c}
    assert (row.instance_uuid, row.host, row.port, row.internal_access_path,
            row.console_type) == (server_id, HOST, 0, SOCKET, "novnc")
    assert before + 600 <= row.expires <= int(time.time()) + 600
    # Every request makes a new token; the old one stays valid until used or expired.
    r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=200)
    assert token_of(r.json()["remote_console"]["url"]) != token
    assert len(await token_rows(cloud)) == 2


async def test_a_serial_url_is_the_serial_proxys_websocket(cloud: CloudClient) -> None:
    agent = await fake_agent(cloud)
    who, server_id = await placed(cloud)
    r = await remote(cloud, who.token, server_id, console("serial", "serial"), expect=200)
    url = r.json()["remote_console"]["url"]
    assert url == f"ws://127.0.0.1:6083/?token={token_of(url)}"
    assert agent.casts == [("console_socket", {"uuid": server_id, "kind": "serial"})]
    [row] = await token_rows(cloud)
    assert row.console_type == "serial"


async def test_the_console_actions_before_26_and_404_after(cloud: CloudClient) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    r = await act(cloud, who.token, server_id, {"os-getVNCConsole": {"type": "novnc"}},
                  v="2.5", expect=200)
    assert r.json()["console"]["type"] == "novnc"
    assert "/vnc_lite.html?path=%3Ftoken%3D" in r.json()["console"]["url"]
    r = await act(cloud, who.token, server_id, {"os-getSerialConsole": {"type": "serial"}},
                  expect=200)
    assert r.json()["console"]["url"].startswith("ws://127.0.0.1:6083/?token=")
    for name, kind in (("os-getVNCConsole", "novnc"), ("os-getSerialConsole", "serial"),
                       ("os-getSPICEConsole", "spice-html5"),
                       ("os-getRDPConsole", "rdp-html5")):
        await act(cloud, who.token, server_id, {name: {"type": kind}}, v="2.6", expect=404)
    await remote(cloud, who.token, server_id, console("vnc", "novnc"), v="2.5", expect=404)


async def test_the_base_urls_come_from_config(tmp_path: Path) -> None:
    async for cloud in quiet_cloud(
            tmp_path, "console.novncproxy_base_url=https://consoles.example/vnc.html?x=1",
            "console.serialproxy_base_url=wss://consoles.example:443/serial"):
        await fake_agent(cloud)
        who, server_id = await placed(cloud)
        r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=200)
        url = r.json()["remote_console"]["url"]
        assert url == ("https://consoles.example/vnc.html?x=1&path=%3Ftoken%3D"
                       + token_of(url))
        r = await remote(cloud, who.token, server_id, console("serial", "serial"),
                         expect=200)
        url = r.json()["remote_console"]["url"]
        assert url == f"wss://consoles.example:443/serial?token={token_of(url)}"


# --- refusals -----------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "v", "message"), [
    (console("spice", "spice-html5"), "2.6", "Unavailable console type spice-html5."),
    (console("rdp", "rdp-html5"), "2.6", "Unavailable console type rdp."),
    (console("mks", "webmks"), "2.8", "Unavailable console type webmks."),
    (console("vnc", "serial"), "2.6", "Invalid console type serial"),
    (console("vnc", "xvpvnc"), "2.6", "Invalid console type xvpvnc"),
    (console("serial", "novnc"), "2.6", "Invalid console type novnc"),
])
async def test_types_ownstack_does_not_serve_are_400(
        cloud: CloudClient, body: dict[str, Any], v: str, message: str) -> None:
    agent = await fake_agent(cloud)
    who, server_id = await placed(cloud)
    r = await remote(cloud, who.token, server_id, body, v=v, expect=400)
    assert fault(r, "badRequest") == message
    assert agent.casts == []
    assert await token_rows(cloud) == []


@pytest.mark.parametrize(("body", "v"), [
    ({}, "2.6"),
    ({"remote_console": {"protocol": "vnc"}}, "2.6"),
    ({"remote_console": {"type": "novnc"}}, "2.6"),
    ({"remote_console": {"protocol": "vnc", "type": "novnc", "extra": 1}}, "2.6"),
    ({"remote_console": {"protocol": "telnet", "type": "novnc"}}, "2.6"),
    (console("mks", "webmks"), "2.7"),          # mks arrives at 2.8
    ({"remote_console": "vnc"}, "2.6"),
    ([], "2.6"),
])
async def test_malformed_bodies_are_400(cloud: CloudClient, body: Any, v: str) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    r = await remote(cloud, who.token, server_id, body, v=v, expect=400)
    fault(r, "badRequest")


@pytest.mark.parametrize("body", [
    {"os-getVNCConsole": {}}, {"os-getVNCConsole": {"type": "spice-html5"}},
    {"os-getVNCConsole": {"type": "novnc", "x": 1}}, {"os-getSerialConsole": None},
    {"os-getSPICEConsole": {"type": "novnc"}},
])
async def test_malformed_action_bodies_are_400(cloud: CloudClient, body: Any) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    fault(await act(cloud, who.token, server_id, body, expect=400), "badRequest")


async def test_spice_and_rdp_actions_are_400(cloud: CloudClient) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    r = await act(cloud, who.token, server_id, {"os-getSPICEConsole": {"type": "spice-html5"}},
                  expect=400)
    assert fault(r, "badRequest") == "Unavailable console type spice-html5."
    r = await act(cloud, who.token, server_id, {"os-getRDPConsole": {"type": "rdp-html5"}},
                  expect=400)
    assert fault(r, "badRequest").startswith("Unavailable console type rdp-html5.")
    r = await act(cloud, who.token, server_id, {"os-getVNCConsole": {"type": "xvpvnc"}},
                  expect=400)
    assert fault(r, "badRequest") == "Invalid console type xvpvnc"


async def test_a_console_type_turned_off_is_400(tmp_path: Path) -> None:
    async for cloud in quiet_cloud(tmp_path, "console.vnc_enabled=false",
                                   "console.serial_enabled=false"):
        agent = await fake_agent(cloud)
        who, server_id = await placed(cloud)
        r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=400)
        assert fault(r, "badRequest") == "Unavailable console type novnc."
        r = await act(cloud, who.token, server_id, {"os-getSerialConsole": {"type": "serial"}},
                      expect=400)
        assert fault(r, "badRequest") == "Unavailable console type serial."
        assert agent.casts == []


@pytest.mark.parametrize(("refusal", "status", "message"), [
    (Unsupported("supports_vnc_console"), 400,
     "Unavailable console type novnc. The server's compute driver gives guests no vnc "
     "console."),
    (ConsoleUnavailable("u", "vnc", "the guest was started before its driver gave guests "
                        "this console; rebuild the server to give it one"), 400,
     "Unavailable console type novnc. Guest u has no vnc console: the guest was started "
     "before its driver gave guests this console; rebuild the server to give it one."),
    (InvalidGuestState("u", PowerState.SHUTDOWN, "open a console of"), 409,
     "Cannot 'get_vnc_console' instance {id} while it is in vm_state active"),
    (GuestNotFound("u"), 409, "Instance {id} is not ready"),
    (RuntimeError("disk on fire"), 409, "The console is not available: disk on fire"),
])
async def test_the_hosts_refusal_is_novas_answer(
        cloud: CloudClient, refusal: Exception, status: int, message: str) -> None:
    agent = await fake_agent(cloud)
    agent.console_socket = refusal
    who, server_id = await placed(cloud)
    r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=status)
    name = "badRequest" if status == 400 else "conflictingRequest"
    assert fault(r, name) == message.format(id=server_id)
    assert await token_rows(cloud) == []


async def test_a_host_that_does_not_answer_is_409(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "CONSOLE_TIMEOUT", 0.05)
    who = await owner(cloud)
    server_id = await server(cloud, who, host="silent-node")
    r = await remote(cloud, who.token, server_id, console("serial", "serial"), expect=409)
    assert "did not answer in time" in fault(r, "conflictingRequest")


async def test_a_server_without_a_host_or_being_deleted_is_409(cloud: CloudClient) -> None:
    agent = await fake_agent(cloud)
    who = await owner(cloud)
    unplaced = await server(cloud, who, vm_state="building", task_state="scheduling",
                            host=None)
    r = await remote(cloud, who.token, unplaced, console("vnc", "novnc"), expect=409)
    assert fault(r, "conflictingRequest") == f"Instance {unplaced} is not ready"
    deleting = await server(cloud, who, task_state="deleting")
    r = await remote(cloud, who.token, deleting, console("vnc", "novnc"), expect=409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'get_vnc_console' instance {deleting} while it is in task_state deleting")
    assert agent.casts == []


async def test_another_projects_server_is_404_and_a_reader_403(cloud: CloudClient) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    stranger = await owner(cloud)
    r = await remote(cloud, stranger.token, server_id, console("vnc", "novnc"), expect=404)
    fault(r, "itemNotFound")
    r = await act(cloud, stranger.token, server_id, {"os-getVNCConsole": {"type": "novnc"}},
                  expect=404)
    fault(r, "itemNotFound")
    reader = await reader_token(cloud, who)
    r = await remote(cloud, reader, server_id, console("vnc", "novnc"), expect=403)
    assert "os_compute_api:os-remote-consoles" in fault(r, "forbidden")
    await remote(cloud, None, server_id, console("vnc", "novnc"), expect=200)   # admin
    await remote(cloud, who.token, "not-a-uuid", console("vnc", "novnc"), expect=404)


# --- GET /os-console-auth-tokens/{token} --------------------------------------------------

async def test_an_admin_sees_what_a_token_opens_without_using_it(cloud: CloudClient) -> None:
    agent = await fake_agent(cloud)
    agent.console_socket = {"host": HOST, "path": SOCKET}
    who, server_id = await placed(cloud)
    r = await remote(cloud, who.token, server_id, console("vnc", "novnc"), expect=200)
    token = token_of(r.json()["remote_console"]["url"])
    for _ in range(2):
        r = await show_token(cloud, token, expect=200)
        assert r.json() == {"console": {"instance_uuid": server_id, "host": HOST, "port": 0,
                                        "internal_access_path": SOCKET}}
    r = await show_token(cloud, token, v="2.30", expect=400)
    fault(r, "badRequest")
    r = await show_token(cloud, token, as_=who.token, expect=403)
    assert "os_compute_api:os-console-auth-tokens" in fault(r, "forbidden")
    r = await show_token(cloud, "no-such-token", expect=404)
    assert fault(r, "itemNotFound") == "Token not found"
    assert len(await token_rows(cloud)) == 1


async def test_an_expired_or_used_token_is_gone(cloud: CloudClient) -> None:
    _, server_id = await placed(cloud)
    async with cloud.svc.write() as db:
        old = await console_tokens.authorize(
            db, console_type="novnc", instance_uuid=server_id, host=HOST, path=SOCKET,
            access_url_base="http://h/vnc_lite.html", ttl=600, now=time.time() - 601)
        fresh = await console_tokens.authorize(
            db, console_type="serial", instance_uuid=server_id, host=HOST, path=SOCKET,
            access_url_base="ws://h/", ttl=600)
    await show_token(cloud, old, expect=404)
    await show_token(cloud, fresh, expect=200)
    async with cloud.svc.write() as db:
        assert await console_tokens.consume(db, fresh, ("novnc",)) is None   # other type
        used = await console_tokens.consume(db, fresh, ("serial",))
        assert used is not None and used.internal_access_path == SOCKET
        assert await console_tokens.consume(db, fresh, ("serial",)) is None  # used
    await show_token(cloud, fresh, expect=404)


async def test_deleting_a_server_removes_its_tokens(cloud: CloudClient) -> None:
    await fake_agent(cloud)
    who, server_id = await placed(cloud)
    other_id = await server(cloud, who)
    tokens = [token_of((await remote(cloud, who.token, sid, console("vnc", "novnc"),
                                     expect=200)).json()["remote_console"]["url"])
              for sid in (server_id, other_id)]
    await cloud.call("DELETE", f"/v2.1/servers/{server_id}", token=who.token, expect=204)
    await show_token(cloud, tokens[0], expect=404)
    await show_token(cloud, tokens[1], expect=200)
    # A token the delete missed (made meanwhile) opens nothing once the server is gone.
    async with cloud.svc.write() as db:
        late = await console_tokens.authorize(
            db, console_type="novnc", instance_uuid=other_id, host=HOST, path=SOCKET,
            access_url_base="http://h/vnc_lite.html", ttl=600)
    await set_columns(cloud, other_id, task_state="deleting")
    async with cloud.svc.write() as db:
        assert await console_tokens.consume(db, late, ("novnc",)) is None
