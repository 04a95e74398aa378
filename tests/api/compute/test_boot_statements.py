"""A boot's plain statements (decision 82): the agent's spec read and reports, the
conductor's claim in Placement and the action events run on the session's connection
(``ownstack.common.db.core.run``), past the ORM's execute, and the boot ends as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session

from helpers.compute import boot_id, boot_setup, set_columns, show, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from ownstack.compute.conductor.build import load_to_place
from ownstack.compute.objects import block_devices

# What a boot now sends past the ORM: the API's project lock (decision 84), flavor, quota
# and insert; the scheduling pass's traits and claim (Placement's allocations, consumers
# and provider generations); the conductor's placing update; the agent's reports and events.
MOVED = ("compute_project_locks", "FROM compute_flavors", "compute_quota_classes",
         "INSERT INTO compute_instances", "compute_instance_actions",
         "compute_instance_action_events",
         "placement_resource_provider_traits", "placement_allocations", "placement_consumers",
         "UPDATE placement_resource_providers", "UPDATE compute_instances")


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path)):
        yield client


async def test_a_boot_sends_its_plain_statements_past_the_orm(cloud: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    warm = await boot_id(cloud, token, image_id, flavor_id, name="warm")
    await wait_status(cloud, token, warm, "ACTIVE")
    through_orm: list[str] = []

    def record(state: ORMExecuteState) -> None:
        through_orm.append(str(state.statement))

    event.listen(Session, "do_orm_execute", record)
    try:
        server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm")
        await wait_status(cloud, token, server_id, "ACTIVE")
    finally:
        event.remove(Session, "do_orm_execute", record)
    moved = [s for s in through_orm if any(name in s for name in MOVED)]
    assert moved == [], moved
    # The agent reads the new server's mappings as plain columns; the conductor, which read
    # them as objects, no longer reads them for a server without volumes (decision 86).
    mappings = [s for s in through_orm if "FROM compute_block_device_mappings" in s
                and "POSTCOMPILE_uuids" in s]
    assert mappings == [], mappings
    server = (await show(cloud, token, server_id))["server"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
    events = await _events(cloud, token, server_id)
    assert {"conductor_schedule_and_build_instances", "compute_build_and_run_instance",
            "compute_start"} <= events, events


# The conductor's read of what a placed instance asked of the network service.
NETWORK_ROWS = ("SELECT compute_instances.uuid, compute_instances.host, "
                "compute_instances.network_requests, compute_instances.security_groups")


async def test_a_pass_reads_networks_and_volumes_only_for_who_asked(cloud: CloudClient
                                                                    ) -> None:
    """The scheduling pass reads with the instance whether it asked for networks and has
    volumes still to attach (decision 86): a boot with neither opens no session in the
    conductor's commit for them (no mapping read, no network rows read)."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    warm = await boot_id(cloud, token, image_id, flavor_id, name="warm", v="2.37",
                         networks="none")
    await wait_status(cloud, token, warm, "ACTIVE")
    sent: list[str] = []
    through_orm: list[str] = []

    def cursor(conn: Any, cur: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    def orm(state: ORMExecuteState) -> None:
        through_orm.append(str(state.statement))

    event.listen(Engine, "before_cursor_execute", cursor)
    event.listen(Session, "do_orm_execute", orm)
    try:
        server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm", v="2.37",
                                  networks="none")
        await wait_status(cloud, token, server_id, "ACTIVE")
    finally:
        event.remove(Engine, "before_cursor_execute", cursor)
        event.remove(Session, "do_orm_execute", orm)
    assert [s for s in sent if s.startswith(NETWORK_ROWS)] == []
    assert [s for s in through_orm if "FROM compute_block_device_mappings" in s
            and "POSTCOMPILE_uuids" in s] == []
    # What a pass reads of it: nothing asked, nothing to attach; a mapping made with the
    # server and not attached yet, or a network request, is seen.
    assert await _flags(cloud, server_id) == (False, False)
    async with cloud.svc.write() as db:
        bdm = block_devices.add(db, server_id, volume_id="v-1", boot_index=None)
    assert await _flags(cloud, server_id) == (False, True)
    async with cloud.svc.write() as db:
        assert await block_devices.update_mapping(db, bdm.uuid, expected_state=None,
                                                  attach_state=block_devices.ATTACHED)
    await set_columns(cloud, server_id, network_requests=[{"uuid": "n-1"}])
    assert await _flags(cloud, server_id) == (True, False)


async def _flags(cloud: CloudClient, server_id: str) -> tuple[bool, bool]:
    async with cloud.svc.read() as db:
        row = (await load_to_place(db, [server_id]))[server_id]
    return row.networks_asked, row.volumes_pending


async def _events(cloud: CloudClient, token: str | None, server_id: str) -> set[str]:
    r = await cloud.call("GET", f"/v2.1/servers/{server_id}/os-instance-actions", token=token)
    [action] = r.json()["instanceActions"]
    detail: Any = (await cloud.call(
        "GET", f"/v2.1/servers/{server_id}/os-instance-actions/{action['request_id']}",
        token=token, headers={"OpenStack-API-Version": "compute 2.51"})).json()
    return {e["event"] for e in detail["instanceAction"]["events"]}
