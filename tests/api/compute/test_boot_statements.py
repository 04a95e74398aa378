"""A boot's plain statements (decision 82): the agent's spec read and reports, the
conductor's claim in Placement and the action events run on the session's connection
(``ownstack.common.db.core.run``), past the ORM's execute, and the boot ends as before."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from helpers.compute import boot_id, boot_setup, instance, set_columns, show, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.sql_log import sent_statements
from ownstack.common.db.database import Database
from ownstack.compute.conductor.build import load_to_place
from ownstack.compute.objects import actions, block_devices, instances
from ownstack.compute.objects.instances import latest_request_ids
from ownstack.compute.objects.models import InstanceAction, InstanceActionEvent

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
    through_orm: list[str] = []

    def orm(state: ORMExecuteState) -> None:
        through_orm.append(str(state.statement))

    event.listen(Session, "do_orm_execute", orm)
    try:
        with sent_statements() as sent:
            server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm",
                                      v="2.37", networks="none")
            await wait_status(cloud, token, server_id, "ACTIVE")
    finally:
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


async def test_a_boot_hands_its_spec_to_the_agent_with_no_spec_read(cloud: CloudClient
                                                                     ) -> None:
    """Decision 94: the hand-off's compare-and-swap returns the spec, which its cast
    carries; the agent's build pass sends no spec read (``get_instance``) of its own."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    warm = await boot_id(cloud, token, image_id, flavor_id, name="warm")
    await wait_status(cloud, token, warm, "ACTIVE")
    with sent_statements() as sent:
        server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm")
        await wait_status(cloud, token, server_id, "ACTIVE")
    spec_reads = [s for s in sent if s.startswith("SELECT") and "metadata_key" in s]
    hand_offs = [s for s in sent if s.startswith("UPDATE compute_instances")
                 and "has_metadata" in s]
    assert (len(spec_reads), len(hand_offs)) == (0, 1), (spec_reads, hand_offs)
    events = await _events(cloud, token, server_id)
    assert {"compute_build_and_run_instance", "compute_start"} <= events, events


async def test_events_of_one_action_take_two_statements(cloud: CloudClient) -> None:
    """Decision 88: the events of one action are recorded by touching the latest action of
    their request id (which says whether there is one) and inserting them under its id:
    no read first. The touch is the last event's time, and ``Error`` marks it failed."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm", v="2.37",
                              networks="none")
    await wait_status(cloud, token, server_id, "ACTIVE")
    async with cloud.svc.read() as db:
        request_id = (await latest_request_ids(db, [server_id]))[server_id]
    events = [actions.Event(server_id, request_id, "first", 1000.0, 1001.0, actions.SUCCESS),
              actions.Event(server_id, request_id, "second", 1002.0, None, None)]
    with sent_statements() as sent:
        async with cloud.svc.write() as db:
            assert await actions.record_events(db, events) == [True, True]
        statements = len([s for s in sent if "compute_instance_action" in s])
        async with cloud.svc.write() as db:
            assert await actions.record_events(db, [actions.Event(
                server_id, "req-unknown", "lost", 1003.0, 1004.0, actions.ERROR)]) == [False]
        unknown = len([s for s in sent if "compute_instance_action" in s]) - statements
    # The touch and the insert; for an unknown request id the touch alone.
    assert (statements, unknown) == (2, 1), sent
    async with cloud.svc.read() as db:
        action = (await db.execute(select(InstanceAction).where(
            InstanceAction.instance_uuid == server_id,
            InstanceAction.request_id == request_id))).scalar_one()
        assert action.message is None
        assert action.updated_at.timestamp() == 1002.0
        names = set((await db.execute(select(InstanceActionEvent.event).where(
            InstanceActionEvent.action_id == action.id))).scalars())
        assert {"first", "second"} <= names and "lost" not in names
    async with cloud.svc.write() as db:
        assert await actions.record_events(db, [actions.Event(
            server_id, request_id, "broke", 1005.0, 1006.0, actions.ERROR)]) == [True]
    async with cloud.svc.read() as db:
        action = (await db.execute(select(InstanceAction).where(
            InstanceAction.id == action.id))).scalar_one()
    assert action.message == "Error" and action.updated_at.timestamp() == 1006.0


async def test_the_spec_read_reads_volumes_only_when_it_has_some(cloud: CloudClient) -> None:
    """Decision 88: the agent's spec read says whether the instance has a live mapping to
    a volume; without one the mappings are not read."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm", v="2.37",
                              networks="none")
    await wait_status(cloud, token, server_id, "ACTIVE")

    async def spec() -> tuple[list[Any], int]:
        with sent_statements(server_id) as sent:
            async with cloud.svc.read() as db:
                found = await instances.spec_of(db, server_id)
        assert found is not None
        return found["volumes"], len(sent)

    assert await spec() == ([], 1)
    async with cloud.svc.write() as db:
        local = block_devices.add(db, server_id, volume_id=None, boot_index=None,
                                  destination_type="local", source_type="blank")
    assert await spec() == ([], 1)
    async with cloud.svc.write() as db:
        bdm = block_devices.add(db, server_id, volume_id="v-1", boot_index=None)
    volumes, count = await spec()
    assert count == 2 and [v["volume_id"] for v in volumes] == ["v-1"], volumes
    assert local.uuid not in {v["bdm_uuid"] for v in volumes}
    async with cloud.svc.write() as db:
        assert await block_devices.remove_mapping(db, bdm.uuid, expected_state=None)
    assert await spec() == ([], 1)


async def test_one_expected_state_is_compared_with_equals(cloud: CloudClient) -> None:
    """Decision 88: a compare-and-swap expecting one task or vm state, and a pass's read
    of one instance, bind it with ``=``; several still make an IN list; both match as
    before."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm", v="2.37",
                              networks="none")
    await wait_status(cloud, token, server_id, "ACTIVE")
    with sent_statements(server_id) as sent:
        async with cloud.svc.write() as db:
            assert not await instances.update_instance(
                db, server_id, expected_task_state="spawning", expected_vm_state="active",
                display_description="no")
            assert await instances.update_instance(
                db, server_id, expected_task_state=None, expected_vm_state="active",
                display_description="one")
            assert await instances.update_instance(
                db, server_id, expected_task_state=["deleting", None],
                expected_vm_state=["stopped", "active"], display_description="many")
            assert not await instances.update_instance(
                db, server_id, expected_task_state=["deleting", "spawning"],
                display_description="no")
            assert await instances.update_instance(
                db, server_id, expected_task_state=[None], expected_vm_state=[],
                display_description="none") is False
        async with cloud.svc.read() as db:
            assert set(await load_to_place(db, [server_id])) == {server_id}
            assert await load_to_place(db, [server_id, "nope"]) == \
                await load_to_place(db, [server_id])
    updates = [s for s in sent if s.startswith("UPDATE compute_instances")]
    assert len(updates) == 5
    assert "IN (" not in updates[0] and "IN (" not in updates[1]
    assert "task_state = ?" in updates[2] and "vm_state IN (" in updates[2]
    assert "task_state IN (" in updates[3]
    reads = [s for s in sent if "FROM compute_instances" in s and "network_requests" in s]
    assert len(reads) == 3 and "uuid IN (" not in reads[0] and "uuid IN (" in reads[1]
    assert (await instance(cloud, server_id)).display_description == "many"


# The readers and writers of a boot that send Core statements alone (decision 99): the
# status poll, the scheduling pass's reads, Placement's candidates and claim, the
# conductor's hand-off and the agent's reports.
PLAIN = ("show_server", "_schedule_queued", "host_view", "list_allocation_candidates",
         "set_consumer_allocations", "commit", "apply_agent_update")
PLAIN_WRITES = ("set_consumer_allocations", "commit", "apply_agent_update")


async def test_a_boots_core_readers_and_writers_open_no_orm_session(
        cloud: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decision 99: they run on a plain pooled connection (``Database.plain_read`` and
    ``plain_write``), with no ORM session; the create, which may add mappings as objects,
    still opens a session. The boot ends as before."""
    image_id, flavor_id = await boot_setup(cloud)
    _, token = await cloud.project_user_token()
    warm = await boot_id(cloud, token, image_id, flavor_id, name="warm")
    await wait_status(cloud, token, warm, "ACTIVE")
    opened: list[tuple[str, str]] = []
    kinds = ("read", "write", "plain_read", "plain_write")
    real = {kind: getattr(Database, kind) for kind in kinds}

    def opener(kind: str) -> Any:
        def open_(db: Any) -> Any:
            # The opener's callers are on the stack (a coroutine runs inside its awaiters):
            # the innermost of those named here opened it (the image and network services'
            # handlers, which the create calls in process, open their own).
            for frame in reversed(traceback.extract_stack()):
                if frame.name in (*PLAIN, "create_server", "show_image", "list_networks"):
                    opened.append((kind, frame.name))
                    break
            return real[kind](db)
        return open_

    for kind in kinds:
        monkeypatch.setattr(Database, kind, opener(kind))
    server_id = await boot_id(cloud, token, image_id, flavor_id, name="vm")
    await wait_status(cloud, token, server_id, "ACTIVE")
    monkeypatch.undo()
    by = {name: {kind for kind, caller in opened if caller == name}
          for name in (*PLAIN, "create_server")}
    assert by == {**{name: {"plain_write" if name in PLAIN_WRITES else "plain_read"}
                     for name in PLAIN}, "create_server": {"write"}}, by
    server = (await show(cloud, token, server_id))["server"]
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:power_state"] == 1
    events = await _events(cloud, token, server_id)
    assert {"conductor_schedule_and_build_instances", "compute_build_and_run_instance",
            "compute_start"} <= events, events
