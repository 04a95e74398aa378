"""/servers/{id}/tags (2.26+): replace, add, check, delete; their limits and states."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.compute import act, fault, instance, owner, reader_token, server, show, version
from helpers.inprocess import CloudClient, quiet_cloud

V = "2.26"


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


async def _tags(cloud: CloudClient, token: str | None, method: str, server_id: str,
                tag: str | None = None, body: Any = None, *, v: str = V,
                expect: int | None = None) -> httpx.Response:
    path = f"/v2.1/servers/{server_id}/tags" + (f"/{tag}" if tag is not None else "")
    kwargs = {"json": body} if body is not None else {}
    return await cloud.call(method, path, token=token, headers=version(v), expect=expect,
                            **kwargs)


async def test_replace_add_check_and_delete(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    assert (await _tags(cloud, who.token, "GET", server_id, expect=200)).json() == {
        "tags": []}
    r = await _tags(cloud, who.token, "PUT", server_id,
                    body={"tags": ["web", "prod", "web", "a b"]}, expect=200)
    assert r.json() == {"tags": ["a b", "prod", "web"]}
    r = await _tags(cloud, who.token, "PUT", server_id, "db", expect=201)
    assert r.headers["location"].endswith(f"/v2.1/servers/{server_id}/tags/db")
    await _tags(cloud, who.token, "PUT", server_id, "db", expect=204)
    await _tags(cloud, who.token, "GET", server_id, "db", expect=204)
    r = await _tags(cloud, who.token, "GET", server_id, "nope", expect=404)
    assert fault(r, "itemNotFound") == f"Server {server_id} has no tag 'nope'"
    shown = (await show(cloud, who.token, server_id, V))["server"]
    assert shown["tags"] == ["a b", "db", "prod", "web"]
    await _tags(cloud, who.token, "DELETE", server_id, "prod", expect=204)
    await _tags(cloud, who.token, "DELETE", server_id, "prod", expect=404)
    assert (await _tags(cloud, who.token, "GET", server_id)).json() == {
        "tags": ["a b", "db", "web"]}
    generation = (await instance(cloud, server_id)).generation
    await _tags(cloud, who.token, "DELETE", server_id, expect=204)
    assert (await _tags(cloud, who.token, "GET", server_id)).json() == {"tags": []}
    assert (await instance(cloud, server_id)).generation > generation


async def test_every_method_is_404_below_226(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    for method, tag, body in (("GET", None, None), ("PUT", None, {"tags": []}),
                              ("DELETE", None, None), ("GET", "t", None), ("PUT", "t", None),
                              ("DELETE", "t", None)):
        r = await _tags(cloud, who.token, method, server_id, tag, body, v="2.25",
                        expect=404)
        fault(r, "itemNotFound")
    assert (await _tags(cloud, who.token, "GET", server_id)).json() == {"tags": []}


BAD_TAG_LISTS: list[Any] = [
    {"tags": ["a,b"]}, {"tags": ["a/b"]}, {"tags": [""]}, {"tags": ["x" * 61]},
    {"tags": [str(i) for i in range(51)]}, {"tags": "web"}, {"tags": [1]}, {},
    {"tags": [], "extra": 1},
]


async def test_bad_tag_lists_are_400(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await _tags(cloud, who.token, "PUT", server_id, "kept", expect=201)
    for body in BAD_TAG_LISTS:
        r = await _tags(cloud, who.token, "PUT", server_id, body=body, expect=400)
        assert "tags" in fault(r, "badRequest") or "body" in fault(r, "badRequest"), body
    assert (await _tags(cloud, who.token, "GET", server_id)).json() == {"tags": ["kept"]}


async def test_bad_tags_and_the_limit_of_50(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    for bad in ("a,b", "x" * 61):
        r = await _tags(cloud, who.token, "PUT", server_id, bad, expect=400)
        assert fault(r, "badRequest").startswith(f"Tag '{bad}' is invalid.")
    fifty = [f"t{i:02d}" for i in range(50)]
    await _tags(cloud, who.token, "PUT", server_id, body={"tags": fifty}, expect=200)
    r = await _tags(cloud, who.token, "PUT", server_id, "one-more", expect=400)
    assert fault(r, "badRequest") == "The number of tags exceeded the per-server limit 50"
    await _tags(cloud, who.token, "PUT", server_id, "t07", expect=204)


async def test_tags_change_only_on_novas_states(cloud: CloudClient) -> None:
    who = await owner(cloud)
    locked = await server(cloud, who, vm_state="stopped", task_state="powering-on")
    await act(cloud, None, locked, {"lock": None}, expect=202)
    # Tags ignore the lock and the task, as in Nova.
    await _tags(cloud, who.token, "PUT", locked, "ok", expect=201)
    for vm_state in ("paused", "suspended"):
        resting = await server(cloud, who, vm_state=vm_state)
        await _tags(cloud, who.token, "PUT", resting, "ok", expect=201)
    for vm_state in ("building", "error", "shelved", "rescued"):
        server_id = await server(cloud, who, vm_state=vm_state)
        for method, tag, body, name in (("PUT", None, {"tags": []}, "update tags"),
                                        ("PUT", "t", None, "update tag"),
                                        ("DELETE", "t", None, "delete tag"),
                                        ("DELETE", None, None, "delete tags")):
            r = await _tags(cloud, who.token, method, server_id, tag, body, expect=409)
            assert fault(r, "conflictingRequest") == (
                f"Cannot '{name}' instance {server_id} while it is in vm_state {vm_state}")
        await _tags(cloud, who.token, "GET", server_id, expect=200)


async def test_who_may_read_and_change_tags(cloud: CloudClient) -> None:
    who, other = await owner(cloud), await owner(cloud)
    server_id = await server(cloud, who)
    await _tags(cloud, who.token, "PUT", server_id, "t", expect=201)
    for method, tag, body in (("GET", None, None), ("GET", "t", None),
                              ("PUT", None, {"tags": []}), ("PUT", "u", None),
                              ("DELETE", "t", None), ("DELETE", None, None)):
        r = await _tags(cloud, other.token, method, server_id, tag, body, expect=404)
        assert fault(r, "itemNotFound") == f"Instance {server_id} could not be found."
    token = await reader_token(cloud, who)
    await _tags(cloud, token, "GET", server_id, "t", expect=204)
    r = await _tags(cloud, token, "PUT", server_id, "u", expect=403)
    assert "os-server-tags:update" in fault(r, "forbidden")
