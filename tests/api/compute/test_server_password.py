"""GET and DELETE /servers/{id}/os-server-password: the password the guest posted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from helpers.compute import fault, instance, owner, reader_token, server, set_columns
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects import guest_metadata


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


def _url(server_id: str) -> str:
    return f"/v2.1/servers/{server_id}/os-server-password"


async def test_the_owner_reads_and_clears_what_the_guest_posted(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state="suspended")     # any state will do
    r = await cloud.call("GET", _url(server_id), token=who.token, expect=200)
    assert r.json() == {"password": ""}                             # none posted yet
    await set_columns(cloud, server_id, password="ZW5jcnlwdGVk")
    r = await cloud.call("GET", _url(server_id), token=who.token, expect=200)
    assert r.json() == {"password": "ZW5jcnlwdGVk"}
    r = await cloud.call("DELETE", _url(server_id), token=who.token, expect=204)
    assert r.content == b""
    assert (await instance(cloud, server_id)).password is None
    assert (await cloud.call("GET", _url(server_id), token=who.token,
                             expect=200)).json() == {"password": ""}
    await cloud.call("DELETE", _url(server_id), token=who.token, expect=204)  # idempotent
    # Cleared, the guest may post a new one to the metadata service.
    async with cloud.svc.write() as db:
        assert await guest_metadata.set_password_once(db, server_id, "bmV3")
    assert (await cloud.call("GET", _url(server_id), token=who.token,
                             expect=200)).json() == {"password": "bmV3"}


async def test_a_reader_reads_but_may_not_clear(cloud: CloudClient) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, password="c2VjcmV0")
    token = await reader_token(cloud, who)
    r = await cloud.call("GET", _url(server_id), token=token, expect=200)
    assert r.json() == {"password": "c2VjcmV0"}
    r = await cloud.call("DELETE", _url(server_id), token=token, expect=403)
    assert "os_compute_api:os-server-password:clear" in fault(r, "forbidden")
    assert (await instance(cloud, server_id)).password == "c2VjcmV0"


async def test_another_projects_server_and_a_bad_id_are_404(cloud: CloudClient) -> None:
    who, other = await owner(cloud), await owner(cloud)
    server_id = await server(cloud, who, password="c2VjcmV0")
    for method in ("GET", "DELETE"):
        r = await cloud.call(method, _url(server_id), token=other.token, expect=404)
        assert fault(r, "itemNotFound") == f"Instance {server_id} could not be found."
        await cloud.call(method, _url("not-a-uuid"), token=who.token, expect=404)
    assert (await instance(cloud, server_id)).password == "c2VjcmV0"
    r = await cloud.call("PUT", _url(server_id), token=who.token, expect=405)
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "DELETE"}
