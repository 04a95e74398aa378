"""/servers/{id}/metadata: list, replace, merge, one item; key and value limits, the
metadata_items quota, locks and the states that allow changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.compute import act, fault, instance, owner, reader_token, server
from helpers.inprocess import CloudClient, quiet_cloud


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.quota.metadata_items=4"):
        yield client


async def _meta(cloud: CloudClient, token: str | None, method: str, server_id: str,
                key: str | None = None, body: Any = None,
                expect: int | None = None) -> httpx.Response:
    path = f"/v2.1/servers/{server_id}/metadata" + (f"/{key}" if key is not None else "")
    kwargs = {"json": body} if body is not None else {}
    return await cloud.call(method, path, token=token, expect=expect, **kwargs)


async def test_merge_replace_and_items(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    generation = (await instance(cloud, server_id)).generation
    r = await _meta(cloud, who.token, "GET", server_id, expect=200)
    assert r.json() == {"metadata": {}}
    r = await _meta(cloud, who.token, "POST", server_id,
                    body={"metadata": {"a": "1", "b": "2"}}, expect=200)
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = await _meta(cloud, who.token, "POST", server_id,
                    body={"metadata": {"b": "two", "c": ""}}, expect=200)
    assert r.json() == {"metadata": {"a": "1", "b": "two", "c": ""}}
    r = await _meta(cloud, who.token, "PUT", server_id,
                    body={"metadata": {"x": "9", "b": "two"}}, expect=200)
    assert r.json() == {"metadata": {"x": "9", "b": "two"}}
    assert (await _meta(cloud, who.token, "GET", server_id)).json() == {
        "metadata": {"x": "9", "b": "two"}}
    r = await _meta(cloud, who.token, "PUT", server_id, "new key",
                    body={"meta": {"new key": "v"}}, expect=200)
    assert r.json() == {"meta": {"new key": "v"}}
    r = await _meta(cloud, who.token, "GET", server_id, "new key", expect=200)
    assert r.json() == {"meta": {"new key": "v"}}
    await _meta(cloud, who.token, "DELETE", server_id, "x", expect=204)
    r = await _meta(cloud, who.token, "GET", server_id, "x", expect=404)
    assert fault(r, "itemNotFound") == "Metadata item was not found"
    r = await _meta(cloud, who.token, "DELETE", server_id, "x", expect=404)
    assert fault(r, "itemNotFound") == "Metadata item was not found"
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}", token=who.token, expect=200)
    assert r.json()["server"]["metadata"] == {"b": "two", "new key": "v"}
    assert (await instance(cloud, server_id)).generation > generation
    await _meta(cloud, who.token, "PUT", server_id, body={"metadata": {}}, expect=200)
    assert (await _meta(cloud, who.token, "GET", server_id)).json() == {"metadata": {}}


BAD_BODIES: list[tuple[str, str | None, Any, str]] = [
    ("PUT", "a", {"meta": {"b": "1"}}, "Request body and URI mismatch"),
    ("PUT", "a", {"meta": {"a": "1", "b": "2"}}, "meta"),
    ("PUT", "a", {"meta": {}}, "meta"),
    ("PUT", None, {"metadata": {"k" * 256: "v"}}, "metadata"),
    ("POST", None, {"metadata": {"k": "v" * 256}}, "metadata.k"),
    ("POST", None, {"metadata": {"": "v"}}, "metadata"),
    ("POST", None, {"metadata": {"bad/key": "v"}}, "metadata"),
    ("POST", None, {"metadata": {"k": 1}}, "metadata.k"),
    ("POST", None, {"metadata": ["k"]}, "metadata"),
    ("POST", None, {"meta": {"k": "v"}}, "meta"),
]


async def test_bad_bodies_are_400(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    for method, key, body, message in BAD_BODIES:
        r = await _meta(cloud, who.token, method, server_id, key, body, expect=400)
        assert message in fault(r, "badRequest"), body
    assert (await _meta(cloud, who.token, "GET", server_id)).json() == {"metadata": {}}


async def test_metadata_items_quota(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    four = {str(i): "v" for i in range(4)}
    await _meta(cloud, who.token, "PUT", server_id, body={"metadata": four}, expect=200)
    r = await _meta(cloud, who.token, "POST", server_id, body={"metadata": {"5": "v"}},
                    expect=403)
    assert fault(r, "forbidden").startswith("Quota exceeded for metadata_items: Requested 5")
    await _meta(cloud, who.token, "PUT", server_id, "9", {"meta": {"9": "v"}}, expect=403)
    # Changing an existing key or replacing with as many is within the quota.
    await _meta(cloud, who.token, "PUT", server_id, "0", {"meta": {"0": "w"}}, expect=200)
    await cloud.call("PUT", f"/v2.1/os-quota-sets/{who.project_id}", expect=200,
                     json={"quota_set": {"metadata_items": 5}})
    await _meta(cloud, who.token, "POST", server_id, body={"metadata": {"5": "v"}},
                expect=200)
    assert len((await _meta(cloud, who.token, "GET", server_id)).json()["metadata"]) == 5


async def test_locked_servers_and_states(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who)
    await act(cloud, who.token, server_id, {"lock": None}, expect=202)
    for method, key, body in (("POST", None, {"metadata": {"a": "1"}}),
                              ("PUT", None, {"metadata": {}}),
                              ("PUT", "a", {"meta": {"a": "1"}})):
        r = await _meta(cloud, who.token, method, server_id, key, body, expect=409)
        assert fault(r, "conflictingRequest") == f"Instance {server_id} is locked"
    await _meta(cloud, None, "POST", server_id, body={"metadata": {"a": "1"}}, expect=200)
    await _meta(cloud, who.token, "DELETE", server_id, "a", expect=409)
    await _meta(cloud, who.token, "GET", server_id, "a", expect=200)   # reading is fine
    building = await server(cloud, who, vm_state="building", task_state="scheduling",
                            host=None)
    r = await _meta(cloud, who.token, "POST", building, body={"metadata": {"a": "1"}},
                    expect=409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot 'update metadata' instance {building} while it is in vm_state building")
    busy = await server(cloud, who, task_state="rebooting")
    r = await _meta(cloud, who.token, "PUT", busy, body={"metadata": {}}, expect=409)
    assert "task_state rebooting" in fault(r, "conflictingRequest")
    for vm_state in ("paused", "suspended"):           # Nova's other changeable states
        resting = await server(cloud, who, vm_state=vm_state)
        await _meta(cloud, who.token, "POST", resting, body={"metadata": {"a": "1"}},
                    expect=200)
    shelved = await server(cloud, who, vm_state="shelved")
    r = await _meta(cloud, who.token, "PUT", shelved, body={"metadata": {}}, expect=409)
    assert "vm_state shelved" in fault(r, "conflictingRequest")


async def test_who_may_read_and_write(cloud: CloudClient) -> None:
    who, other = await owner(cloud), await owner(cloud)
    server_id = await server(cloud, who)
    await _meta(cloud, who.token, "POST", server_id, body={"metadata": {"a": "1"}},
                expect=200)
    for method, key, body in (("GET", None, None), ("GET", "a", None),
                              ("POST", None, {"metadata": {"b": "1"}}),
                              ("PUT", None, {"metadata": {}}),
                              ("PUT", "a", {"meta": {"a": "2"}}), ("DELETE", "a", None)):
        r = await _meta(cloud, other.token, method, server_id, key, body, expect=404)
        assert fault(r, "itemNotFound") == f"Instance {server_id} could not be found."
    token = await reader_token(cloud, who)
    await _meta(cloud, token, "GET", server_id, "a", expect=200)
    r = await _meta(cloud, token, "POST", server_id, body={"metadata": {"b": "1"}},
                    expect=403)
    assert "server-metadata:create" in fault(r, "forbidden")
    await _meta(cloud, token, "DELETE", server_id, "a", expect=403)
