"""Each task the agent carries out, against a fake conductor: what it reports, which
events it records, and what the guest looks like afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

from helpers.agent import IMAGE_DATA, agent_env, make_spec, until
from ownstack.compute import states
from ownstack.compute.agent.reconcile import Reconciler
from ownstack.compute.drivers.base import Capability, Phase, PowerState
from ownstack.compute.drivers.fake import FakeComputeDriver, FakeHypervisor
from ownstack.compute.rpc import compute_topic


async def test_a_cast_spawns_the_guest_and_reports_active(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node, user_data="aGVsbG8=",
                                           key_name="k", key_data="ssh-ed25519 AAAA",
                                           config_drive=True))
        uuid = spec["uuid"]
        await env.bus.cast(compute_topic(env.node), "reconcile_instance",
                           {"uuid": uuid, "request_id": spec["request_id"]})
        await until(lambda: spec["vm_state"] == states.ACTIVE)
        assert spec["task_state"] is None and spec["power_state"] == PowerState.RUNNING
        assert spec["admin_pass"] is None and uuid in env.conductor.launched
        guest = env.hypervisor.guests[uuid]
        assert guest.power_state == PowerState.RUNNING and guest.boots == 1
        assert guest.spec.user_data == b"hello" and guest.spec.image.id == "img-1"
        assert guest.spec.image.path.read_bytes() == IMAGE_DATA
        assert "ownstack: hostname vm1" in guest.console.decode()
        await until(lambda: "compute_build_and_run_instance" in
                    env.conductor.event_names(uuid))
        assert env.conductor.event_names(uuid) == [
            "compute_image_fetch", "compute_disks", "compute_config_drive", "compute_start",
            "compute_build_and_run_instance"]
        for event in env.conductor.events:
            assert event["result"] == "Success" and event["host"] == env.node
            assert event["request_id"] == spec["request_id"]
            assert event["finish"] >= event["start"]
        # The phases and the ACTIVE report are one conductor call (one transaction).
        assert env.conductor.count("record_events") == 0
        (report,) = [p for name, p in env.conductor.calls if name == "update_instance"]
        assert [e["event"] for e in report["events"]] == env.conductor.event_names(uuid)


async def test_a_retryable_spawn_failure_reschedules(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        driver = env.agent.driver
        assert isinstance(driver, FakeComputeDriver)
        driver.fail_next_spawn("out of hugepages")
        spec = await env.boot()
        assert env.conductor.rescheduled == [
            {"uuid": spec["uuid"], "host": env.node, "reason": "out of hugepages"}]
        assert spec["uuid"] not in env.hypervisor.guests
        build = env.conductor.event(spec["uuid"], "compute_build_and_run_instance")
        assert build["result"] == "Error" and build["details"] == "out of hugepages"
        start = env.conductor.event(spec["uuid"], "compute_start")
        assert start["result"] == "Error" and "out of hugepages" in start["details"]


async def test_a_final_spawn_failure_sets_error_with_a_fault(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        driver = env.agent.driver
        assert isinstance(driver, FakeComputeDriver)
        driver.fail_next_spawn("no bootable disk", phase=Phase.DISKS, retryable=False)
        spec = await env.boot()
        assert spec["vm_state"] == states.ERROR and spec["task_state"] is None
        assert spec["fault"] == {"code": 500, "message": "no bootable disk",
                                     "details": None}
        assert env.conductor.rescheduled == [] and not env.hypervisor.guests


async def test_a_missing_image_is_a_final_failure(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot(image_ref="gone")
        assert spec["vm_state"] == states.ERROR
        assert "No image found with ID gone" in spec["fault"]["message"]
        fetch = env.conductor.event(spec["uuid"], "compute_image_fetch")
        assert fetch["result"] == "Error"


async def test_an_unbootable_image_is_a_final_failure(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        env.glance.add("junk", data=b"not a qcow2 file")
        spec = await env.boot(image_ref="junk")
        assert spec["vm_state"] == states.ERROR
        assert spec["fault"]["message"] == "image junk is not a qcow2 disk"


async def test_an_image_service_outage_reschedules(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        env.glance.broken = True
        spec = await env.boot()
        assert len(env.conductor.rescheduled) == 1
        assert spec["task_state"] == states.SCHEDULING


async def test_delete_destroys_the_guest_then_tells_the_conductor(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec["task_state"] = states.DELETING
        await env.agent.reconcile(spec["uuid"])
        assert spec["uuid"] not in env.hypervisor.guests
        assert env.conductor.destroyed == [spec["uuid"]]
        assert "compute_terminate_instance" in env.conductor.event_names(spec["uuid"])
        # Deleting twice (a killed agent, a repeated cast) is fine.
        env.conductor.add(spec)
        await env.agent.reconcile(spec["uuid"])
        assert env.conductor.destroyed == [spec["uuid"]] * 2


async def test_stop_and_start(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec["task_state"] = states.POWERING_OFF
        await env.agent.reconcile(spec["uuid"])
        assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
            states.STOPPED, None, PowerState.SHUTDOWN)
        guest = env.hypervisor.guests[spec["uuid"]]
        assert guest.power_state == PowerState.SHUTDOWN and guest.last_stop == "acpi"
        spec["task_state"] = states.POWERING_ON
        await env.agent.reconcile(spec["uuid"])
        assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
            states.ACTIVE, None, PowerState.RUNNING)
        assert guest.boots == 2
        names = env.conductor.event_names(spec["uuid"])
        assert "compute_stop_instance" in names and "compute_start_instance" in names


async def test_pause_and_unpause_keep_the_boot(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        spec["task_state"] = states.PAUSING
        await env.agent.reconcile(uuid)
        assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
            states.PAUSED, None, PowerState.PAUSED)
        guest = env.hypervisor.guests[uuid]
        assert guest.power_state == PowerState.PAUSED
        await env.agent.reconcile(uuid)                 # at rest: nothing to do
        assert spec["vm_state"] == states.PAUSED and guest.boots == 1
        spec["task_state"] = states.UNPAUSING
        await env.agent.reconcile(uuid)
        assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
            states.ACTIVE, None, PowerState.RUNNING)
        assert guest.boots == 1                         # on where it was, no boot
        names = env.conductor.event_names(uuid)
        assert "compute_pause_instance" in names and "compute_unpause_instance" in names


async def test_suspend_and_resume_twice_each_keep_the_boot(tmp_path: Path) -> None:
    """A repeated task (an agent killed before its report) is done again harmlessly."""
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        guest = env.hypervisor.guests[uuid]
        for _ in range(2):
            spec["vm_state"], spec["task_state"] = states.ACTIVE, states.SUSPENDING
            await env.agent.reconcile(uuid)
            assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
                states.SUSPENDED, None, PowerState.SUSPENDED)
        assert guest.power_state == PowerState.SUSPENDED
        for _ in range(2):
            spec["vm_state"], spec["task_state"] = states.SUSPENDED, states.RESUMING
            await env.agent.reconcile(uuid)
            assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
                states.ACTIVE, None, PowerState.RUNNING)
        assert guest.boots == 1
        suspend = env.conductor.event(uuid, "compute_suspend_instance")
        resume = env.conductor.event(uuid, "compute_resume_instance")
        assert suspend["result"] == resume["result"] == "Success"


async def test_suspending_a_stopped_guest_fails_and_keeps_the_state(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        env.hypervisor.stop_behind_back(uuid)
        spec["task_state"] = states.SUSPENDING
        await env.agent.reconcile(uuid)
        assert spec["task_state"] is None and spec["vm_state"] == states.ACTIVE
        assert "cannot suspend guest" in spec["fault"]["message"]
        assert env.conductor.event(uuid, "compute_suspend_instance")["result"] == "Error"
        await env.agent.reconcile(uuid)                 # then the power sync: SHUTOFF
        assert spec["vm_state"] == states.STOPPED


async def test_a_suspended_server_whose_save_is_gone_is_shutoff(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        spec["task_state"] = states.SUSPENDING
        await env.agent.reconcile(uuid)
        env.hypervisor.stop_behind_back(uuid)            # save file lost: SHUTDOWN
        await env.agent.reconcile(uuid)
        assert (spec["vm_state"], spec["power_state"]) == (states.STOPPED,
                                                           PowerState.SHUTDOWN)


async def test_a_hard_reboot_boots_a_paused_or_suspended_guest_afresh(tmp_path: Path
                                                                     ) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        guest = env.hypervisor.guests[uuid]
        for task, resting in ((states.PAUSING, states.PAUSED),
                              (states.SUSPENDING, states.SUSPENDED)):
            spec["vm_state"], spec["task_state"] = states.ACTIVE, task
            await env.agent.reconcile(uuid)
            assert spec["vm_state"] == resting
            boots = guest.boots
            spec["task_state"] = states.REBOOTING_HARD
            await env.agent.reconcile(uuid)
            assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
                states.ACTIVE, None, PowerState.RUNNING)
            assert guest.boots == boots + 1


async def test_a_snapshot_of_a_paused_or_suspended_server_keeps_it_so(tmp_path: Path
                                                                    ) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        uuid = spec["uuid"]
        for task, resting, power in ((states.PAUSING, states.PAUSED, PowerState.PAUSED),
                                     (states.SUSPENDING, states.SUSPENDED,
                                      PowerState.SUSPENDED)):
            spec["vm_state"], spec["task_state"] = states.ACTIVE, task
            await env.agent.reconcile(uuid)
            env.glance.add(f"snap-{resting}", data=None, status="queued")
            spec["task_state"] = states.IMAGE_SNAPSHOT
            spec["task_args"] = {"image_id": f"snap-{resting}"}
            await env.agent.reconcile(uuid)
            assert (spec["vm_state"], spec["task_state"]) == (resting, None)
            assert env.hypervisor.guests[uuid].power_state == power
            snap = env.glance.images[f"snap-{resting}"]
            assert snap.status == "active" and snap.data == IMAGE_DATA


async def test_pausing_a_guest_that_is_gone_is_a_fault(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        del env.hypervisor.guests[spec["uuid"]]
        spec["task_state"] = states.PAUSING
        await env.agent.reconcile(spec["uuid"])
        assert spec["task_state"] is None and spec["vm_state"] == states.ACTIVE
        assert "disks are gone" in spec["fault"]["message"]


async def test_rescue_boots_the_rescue_image_then_unrescue_its_own(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        env.glance.add("img-rescue", b"rescue image bytes")
        spec = await env.boot()
        uuid = spec["uuid"]
        guest = env.hypervisor.guests[uuid]
        spec["task_state"], spec["admin_pass"] = states.RESCUING, "rescue-pw"
        spec["task_args"] = {"rescue_image_ref": "img-rescue"}
        for _ in range(2):                  # a repeated task changes nothing more
            spec["vm_state"], spec["task_state"] = states.ACTIVE, states.RESCUING
            await env.agent.reconcile(uuid)
            assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
                states.RESCUED, None, PowerState.RUNNING)
        assert guest.rescue_image is not None and guest.rescue_image.id == "img-rescue"
        assert guest.boots == 2 and spec["admin_pass"] is None
        await env.agent.reconcile(uuid)                 # at rest: nothing to do
        assert spec["vm_state"] == states.RESCUED
        spec["task_state"] = states.UNRESCUING
        await env.agent.reconcile(uuid)
        assert (spec["vm_state"], spec["task_state"]) == (states.ACTIVE, None)
        assert guest.rescue_image is None and guest.boots == 3
        names = env.conductor.event_names(uuid)
        assert "compute_rescue_instance" in names and "compute_unrescue_instance" in names


async def test_rescue_with_an_image_that_cannot_be_had_is_a_fault(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec["task_state"] = states.RESCUING
        spec["task_args"] = {"rescue_image_ref": "gone"}
        await env.agent.reconcile(spec["uuid"])
        assert (spec["vm_state"], spec["task_state"]) == (states.ACTIVE, None)
        assert "No image found with ID gone" in spec["fault"]["message"]
        assert env.hypervisor.guests[spec["uuid"]].rescue_image is None


async def test_stop_forces_a_guest_that_ignores_acpi(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        env.hypervisor.ignore_acpi(spec["uuid"])
        spec["task_state"] = states.POWERING_OFF
        await env.agent.reconcile(spec["uuid"])
        assert env.hypervisor.guests[spec["uuid"]].last_stop == "forced"
        assert spec["vm_state"] == states.STOPPED


async def test_stopping_a_guest_that_is_gone_ends_shutoff(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        del env.hypervisor.guests[spec["uuid"]]
        spec["task_state"] = states.POWERING_OFF
        await env.agent.reconcile(spec["uuid"])
        assert (spec["vm_state"], spec["power_state"]) == (states.STOPPED,
                                                           PowerState.NOSTATE)


async def test_starting_a_guest_whose_disks_are_gone_is_an_error(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot(vm_state=states.STOPPED, task_state=states.POWERING_ON,
                              power_state=PowerState.SHUTDOWN)
        assert spec["vm_state"] == states.ERROR and spec["task_state"] is None
        assert "disks are gone from host node-a" in spec["fault"]["message"]
        assert env.conductor.event(spec["uuid"], "compute_start_instance")["result"] == \
            "Error"
        assert not env.hypervisor.guests      # no silent respawn


async def test_soft_reboot_asks_the_guest(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec["task_state"] = states.REBOOTING
        await env.agent.reconcile(spec["uuid"])
        guest = env.hypervisor.guests[spec["uuid"]]
        assert guest.boots == 2 and "reboot: Restarting system" in guest.console.decode()
        assert (spec["vm_state"], spec["task_state"]) == (states.ACTIVE, None)
        assert "compute_reboot_instance" in env.conductor.event_names(spec["uuid"])


async def test_soft_reboot_of_a_stopped_guest_is_hard(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        env.hypervisor.crash(spec["uuid"])
        spec["task_state"] = states.REBOOTING
        await env.agent.reconcile(spec["uuid"])
        guest = env.hypervisor.guests[spec["uuid"]]
        assert guest.power_state == PowerState.RUNNING and guest.boots == 2
        assert spec["power_state"] == PowerState.RUNNING and spec["task_state"] is None


async def test_soft_reboot_without_the_capability_is_hard(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        # A reconciler of its own over a machine the running agent does not watch.
        driver = FakeComputeDriver(FakeHypervisor(env.node), capabilities={
            Capability.REBOOT_SOFT.value: False})
        reconciler = Reconciler(
            host=env.node, driver=driver, conductor=env.agent.conductor,
            images=env.group.images, image_client=env.group.image_client,
            snapshot_dir=tmp_path / "snaps", shutdown_timeout=0.05)
        spec = env.conductor.add(make_spec(env.node))
        await reconciler.reconcile(spec["uuid"])
        spec["task_state"] = states.REBOOTING
        await reconciler.reconcile(spec["uuid"])
        guest = driver.hypervisor.guests[spec["uuid"]]
        assert "Restarting system" not in guest.console.decode()    # no ACPI: a reset
        assert guest.boots == 2 and spec["task_state"] is None


async def test_rebooting_a_guest_that_is_gone_is_an_error(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        del env.hypervisor.guests[spec["uuid"]]
        spec["task_state"] = states.REBOOTING_HARD
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.ERROR
        assert "disks are gone" in spec["fault"]["message"]


async def test_rebuild_replaces_the_guest_with_the_new_image(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        env.glance.add("img-2")
        spec = await env.boot()
        spec.update(task_state=states.REBUILDING, task_args={"image_ref": "img-2"},
                    image_ref="img-2", admin_pass="new-pass")
        await env.agent.reconcile(spec["uuid"])
        guest = env.hypervisor.guests[spec["uuid"]]
        assert guest.spec.image.id == "img-2" and guest.boots == 1
        assert (spec["vm_state"], spec["task_state"], spec["power_state"]) == (
            states.ACTIVE, None, PowerState.RUNNING)
        assert spec["admin_pass"] is None
        names = env.conductor.event_names(spec["uuid"])
        assert names[-1] == "compute_rebuild_instance"
        assert names.count("compute_image_fetch") == 2


async def test_rebuilding_a_stopped_server_leaves_it_stopped(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec["task_state"] = states.POWERING_OFF
        await env.agent.reconcile(spec["uuid"])
        spec.update(task_state=states.REBUILDING, task_args={"image_ref": "img-1"})
        await env.agent.reconcile(spec["uuid"])
        assert (spec["vm_state"], spec["power_state"]) == (states.STOPPED,
                                                           PowerState.SHUTDOWN)
        assert env.hypervisor.guests[spec["uuid"]].power_state == PowerState.SHUTDOWN


async def test_a_failed_rebuild_is_an_error_with_a_fault(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec.update(task_state=states.REBUILDING, task_args={"image_ref": "missing"})
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.ERROR and spec["task_state"] is None
        assert "missing" in spec["fault"]["message"]
        assert spec["uuid"] not in env.hypervisor.guests


async def test_snapshot_uploads_the_root_disk_into_the_queued_image(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        env.glance.add("snap-1", data=None, status="queued")
        spec.update(task_state=states.IMAGE_SNAPSHOT, task_args={"image_id": "snap-1"})
        await env.agent.reconcile(spec["uuid"])
        snap = env.glance.images["snap-1"]
        assert snap.status == "active" and snap.data == IMAGE_DATA
        assert (spec["vm_state"], spec["task_state"]) == (states.ACTIVE, None)
        assert env.conductor.event(spec["uuid"], "compute_snapshot_instance")["result"] == \
            "Success"
        assert not list((tmp_path / "compute" / "snapshots").iterdir())
        # Done already (an agent killed before reporting): nothing is uploaded twice.
        spec.update(task_state=states.IMAGE_SNAPSHOT)
        snap.data = b"kept"
        await env.agent.reconcile(spec["uuid"])
        assert snap.data == b"kept" and spec["task_state"] is None


async def test_a_failed_snapshot_clears_the_task_and_deletes_the_image(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        del env.hypervisor.guests[spec["uuid"]]
        env.glance.add("snap-1", data=None, status="queued")
        spec.update(task_state=states.IMAGE_SNAPSHOT, task_args={"image_id": "snap-1"})
        await env.agent.reconcile(spec["uuid"])
        assert spec["task_state"] is None and spec["vm_state"] == states.ACTIVE
        assert env.glance.deleted == ["snap-1"]
        event = env.conductor.event(spec["uuid"], "compute_snapshot_instance")
        assert event["result"] == "Error" and "disks are gone" in event["details"]


async def test_a_user_action_that_wins_the_race_is_left_alone(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node))

        def user_deletes(uuid: str) -> None:
            env.conductor.instances[uuid]["task_state"] = states.DELETING
        env.conductor.before_update = user_deletes
        await env.agent.reconcile(spec["uuid"])
        env.conductor.before_update = None
        assert spec["vm_state"] == states.BUILDING        # the report did not apply
        await env.agent.reconcile(spec["uuid"])           # the delete's own nudge
        assert env.conductor.destroyed == [spec["uuid"]] and not env.hypervisor.guests


async def test_an_instance_without_request_id_records_no_events(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot(request_id=None)
        assert spec["vm_state"] == states.ACTIVE
        assert env.conductor.events == []
        assert all(not p.get("events") for name, p in env.conductor.calls
                   if name == "update_instance")


async def test_two_instances_spawn_concurrently(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.fake_spawn_delay=0.2") as env:
        specs = [env.conductor.add(make_spec(env.node)) for _ in range(2)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(env.agent.reconcile(s["uuid"]) for s in specs))
        assert loop.time() - started < 0.39
        assert all(s["vm_state"] == states.ACTIVE for s in specs)
