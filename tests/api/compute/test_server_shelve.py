"""shelve, shelveOffload, unshelve at the API (no conductor, no agent): what each writes,
Nova's 409s, the image `<name>-shelved`, offload for admins, unshelve's bodies by
microversion, another project's 404."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import (
    act,
    fake_agent,
    fault,
    instance,
    next_cast,
    owner,
    server,
    show,
)
from helpers.inprocess import CloudClient, quiet_cloud


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


@pytest.mark.parametrize("vm_state", ["active", "stopped", "paused", "suspended"])
async def test_shelve_makes_the_image_and_sets_the_task(cloud: CloudClient, vm_state: str
                                                        ) -> None:
    who = await owner(cloud)
    agent = await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    await act(cloud, who.token, server_id, {"shelve": None}, expect=202)
    stored = await instance(cloud, server_id)
    assert stored.task_state == "shelving"
    image = (await cloud.on("image", "GET", f"/v2/images/{stored.task_args['image_id']}",
                            expect=200)).json()
    assert image["name"] == f"{stored.display_name}-shelved"
    assert (image["status"], image["image_type"], image["instance_uuid"]) == (
        "queued", "snapshot", server_id)
    assert (await next_cast(agent))[0] == "reconcile_instance"


@pytest.mark.parametrize(("body", "vm_state", "message"), [
    ({"shelve": None}, "error", "Cannot 'shelve' instance {id} while it is in vm_state error"),
    ({"shelve": None}, "shelved",
     "Cannot 'shelve' instance {id} while it is in vm_state shelved"),
    ({"shelveOffload": None}, "active",
     "Cannot 'shelve_offload' instance {id} while it is in vm_state active"),
    ({"unshelve": None}, "stopped",
     "Cannot 'unshelve' instance {id} while it is in vm_state stopped"),
])
async def test_wrong_state_is_a_409(cloud: CloudClient, body: dict[str, Any], vm_state: str,
                                    message: str) -> None:
    who = await owner(cloud)
    server_id = await server(cloud, who, vm_state=vm_state)
    token = None if "shelveOffload" in body else who.token      # offload: admins
    r = await act(cloud, token, server_id, body, expect=409)
    assert fault(r, "conflictingRequest") == message.format(id=server_id)


async def test_offload_is_for_admins(cloud: CloudClient) -> None:
    who = await owner(cloud)
    await fake_agent(cloud)
    server_id = await server(cloud, who, vm_state="shelved")
    r = await act(cloud, who.token, server_id, {"shelveOffload": None}, expect=403)
    assert "os_compute_api:os-shelve:shelve_offload" in fault(r, "forbidden")
    await act(cloud, None, server_id, {"shelveOffload": None}, expect=202)
    assert (await instance(cloud, server_id)).task_state == "shelving_offloading"


async def test_unshelve_of_an_offloaded_server_asks_the_conductor(cloud: CloudClient) -> None:
    who = await owner(cloud)
    casts: list[tuple[str, dict[str, Any]]] = []

    async def conductor(method: str, payload: dict[str, Any]) -> None:
        casts.append((method, payload))
    await cloud.svc.bus.serve("conductor", conductor)
    server_id = await server(cloud, who, vm_state="shelved_offloaded", host=None)
    bad = await act(cloud, who.token, server_id, {"unshelve": {"zone": "nova"}}, v="2.77",
                    expect=400)
    assert "zone" in fault(bad, "badRequest")
    await act(cloud, who.token, server_id, {"unshelve": {"availability_zone": "nova"}},
              v="2.77", expect=202)
    shown = (await show(cloud, who.token, server_id, v="2.77"))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("SHELVED_OFFLOADED",
                                                                "unshelving")
    assert (await instance(cloud, server_id)).availability_zone == "nova"
    for _ in range(200):
        if ("unshelve_instance", {"uuid": server_id}) in casts:
            break
        await asyncio.sleep(0.01)
    assert ("unshelve_instance", {"uuid": server_id}) in casts


async def test_unshelve_to_a_host_is_for_admins_and_offloaded_servers(
        cloud: CloudClient) -> None:
    who = await owner(cloud)
    offloaded = await server(cloud, who, vm_state="shelved_offloaded", host=None)
    body = {"unshelve": {"host": "test-node"}}
    await act(cloud, who.token, offloaded, body, v="2.77", expect=400)   # no host at 2.77
    r = await act(cloud, who.token, offloaded, body, v="2.91", expect=403)
    assert "unshelve_to_host" in fault(r, "forbidden")
    r = await act(cloud, None, offloaded, {"unshelve": {"host": "nowhere"}}, v="2.91",
                  expect=400)
    assert fault(r, "badRequest") == "Compute host nowhere could not be found."
    shelved = await server(cloud, who, vm_state="shelved")
    await act(cloud, None, shelved, {"unshelve": {"availability_zone": "nova"}}, v="2.91",
              expect=409)


async def test_another_projects_server_is_404(cloud: CloudClient) -> None:
    who = await owner(cloud)
    other = await owner(cloud)
    server_id = await server(cloud, who)
    for body in ({"shelve": None}, {"unshelve": None}):
        await act(cloud, other.token, server_id, body, expect=404)
