"""The agent as a process: registration, heartbeats, N nodes, the node's topic, resyncs,
orphans, guests changed behind its back, and restarts at the worst moment."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from helpers.agent import agent_env, make_spec, until
from ownstack.common.bus import RemoteError
from ownstack.common.config import load_config
from ownstack.compute import states
from ownstack.compute.agent import node_names
from ownstack.compute.agent.runner import driver_options
from ownstack.compute.drivers.base import PowerState
from ownstack.compute.drivers.fake import FakeGuest
from ownstack.compute.rpc import (
    CARRIED_SPEC_MAX_AGE,
    CONDUCTOR_TOPIC,
    carried_spec,
    compute_topic,
)


async def test_start_reports_the_node_and_keeps_heartbeating(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.fake_vcpus=6", "compute.fake_memory_mb=4096",
                         "compute.availability_zone=az1") as env:
        assert env.agent.ready.is_set() and env.agent.node_uuid == "uuid-node-a"
        report = env.conductor.reports[0]
        assert report["host"] == report["node"] == "node-a"
        assert report["availability_zone"] == "az1"
        assert report["resources"] == {
            "vcpus": 6, "memory_mb": 4096, "disk_gb": 200, "hypervisor_type": "fake",
            "hypervisor_version": 1000,
            "traits": ["COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW"]}
        assert env.conductor.count("node_instances") == 1     # the start-up resync
        await until(lambda: len(env.conductor.reports) >= 3)  # report_interval=0.05


async def test_the_agent_waits_for_a_conductor_that_starts_later(tmp_path: Path) -> None:
    async with agent_env(tmp_path, conductor=False, startup_wait=0.05) as env:
        assert not env.agent.ready.is_set()
        spec = env.conductor.add(make_spec(env.node))
        await env.bus.serve(CONDUCTOR_TOPIC, env.conductor.handle)
        await until(env.agent.ready.is_set)
        assert spec["vm_state"] == states.ACTIVE      # the first resync built it


def test_node_names(tmp_path: Path) -> None:
    def names(*overrides: str) -> list[str]:
        return node_names(load_config(tmp_path, environ={},
                                      overrides=["compute.driver=fake", *overrides]))
    assert names("compute.host=h") == ["h"]
    assert names("compute.host=h", "compute.fake_nodes=3") == ["h-1", "h-2", "h-3"]
    assert names("compute.host=", "compute.fake_nodes=1") != [""]
    with pytest.raises(ValueError, match="not a valid host name"):
        names("compute.host=bad host")


def test_driver_options_carry_every_compute_option(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={}, overrides=["compute.driver=fake",
                                                           "compute.fake_vcpus=3",
                                                           "compute.fake_spawn_delay=0.5"])
    options = driver_options(config)
    assert options["vcpus"] == 3 and options["spawn_delay"] == 0.5
    assert options["console_max_bytes"] == config.compute.console_max_bytes
    assert "quota" not in options


async def test_n_fake_nodes_are_n_hosts_with_their_own_machines(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.fake_nodes=3") as env:
        nodes = [agent.node for agent in env.group.agents]
        assert nodes == ["node-a-1", "node-a-2", "node-a-3"]
        assert sorted(r["host"] for r in env.conductor.reports[:3]) == nodes
        assert len({id(h) for h in env.group.hypervisors.values()}) == 3
        spec = env.conductor.add(make_spec("node-a-2"))
        await env.bus.cast(compute_topic("node-a-2"), "reconcile_instance",
                           {"uuid": spec["uuid"], "request_id": None})
        await until(lambda: spec["vm_state"] == states.ACTIVE)
        assert [n for n, h in env.group.hypervisors.items() if h.guests] == ["node-a-2"]
        # A nudge to the wrong node changes nothing: that agent does not own it.
        await env.group.agent("node-a-1").reconcile(spec["uuid"])
        assert spec["uuid"] in env.group.hypervisors["node-a-2"].guests


async def test_console_output_tails_lines_as_nova_does(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        topic = compute_topic(env.node)

        async def console(length: int | None) -> str:
            answer = await env.bus.call(topic, "console_output",
                                        {"uuid": spec["uuid"], "length": length})
            return str(answer["output"])
        full = await console(None)
        assert full.endswith("localhost login: \n") and "Linux version" in full
        assert await console(2) == "localhost login: \n"      # the last line is empty
        assert await console(3) == "ownstack: login ready on localhost\nlocalhost login: \n"
        assert await console(0) == ""
        assert await console(10_000) == full


async def test_describe_instance_shows_the_host_side_objects(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        answer = await env.bus.call(compute_topic(env.node), "describe_instance",
                                    {"uuid": spec["uuid"]})
        details = answer["details"]
        assert details["power_state"] == 1 and details["image_id"] == "img-1"
        assert details["host"] == env.node and details["boots"] == 1


async def test_questions_about_unknown_guests_and_methods_fail_clearly(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        topic = compute_topic(env.node)
        with pytest.raises(RemoteError) as caught:
            await env.bus.call(topic, "console_output", {"uuid": "nope", "length": None})
        assert caught.value.kind == "GuestNotFound"
        with pytest.raises(RemoteError) as caught:
            await env.bus.call(topic, "describe_instance", {"uuid": "nope"})
        assert caught.value.kind == "GuestNotFound"
        with pytest.raises(RemoteError, match="unknown compute agent method"):
            await env.bus.call(topic, "format_disk", {})


async def test_a_guest_killed_behind_the_agents_back_goes_shutoff(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        env.hypervisor.stop_behind_back(spec["uuid"])        # the driver event nudges
        await until(lambda: spec["vm_state"] == states.STOPPED)
        assert spec["power_state"] == PowerState.SHUTDOWN and spec["task_state"] is None


async def test_a_crashed_guest_goes_shutoff_with_the_crashed_power_state(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        env.hypervisor.crash(spec["uuid"])
        await until(lambda: spec["vm_state"] == states.STOPPED)
        assert spec["power_state"] == PowerState.CRASHED


async def test_the_resync_repairs_a_missed_event(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        guest = env.hypervisor.guests[spec["uuid"]]
        guest.power_state = PowerState.SHUTDOWN           # changed with no event at all
        await env.agent.resync()
        assert (spec["vm_state"], spec["power_state"]) == (states.STOPPED,
                                                           PowerState.SHUTDOWN)


async def test_a_guest_running_for_a_stopped_server_is_powered_off(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec.update(vm_state=states.STOPPED, power_state=PowerState.SHUTDOWN)
        await env.agent.resync()
        assert env.hypervisor.guests[spec["uuid"]].power_state == PowerState.SHUTDOWN
        assert spec["vm_state"] == states.STOPPED


async def test_the_resync_destroys_orphans_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with agent_env(tmp_path) as env:
        mine = await env.boot()
        elsewhere = await env.boot()
        orphan = await env.boot()
        del env.conductor.instances[orphan["uuid"]]       # deleted while we were away
        elsewhere.update(host="node-b", node="node-b")    # evacuated, say
        with caplog.at_level(logging.WARNING):
            await env.agent.resync()
        assert set(env.hypervisor.guests) == {mine["uuid"]}
        assert f"orphan guest {orphan['uuid']} destroyed" in caplog.text
        assert f"orphan guest {elsewhere['uuid']} destroyed" in caplog.text


async def test_the_resync_reconciles_only_what_differs(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        steady = [await env.boot() for _ in range(3)]
        pending = env.conductor.add(make_spec(env.node))
        before = len(env.conductor.calls)
        await env.agent.resync()
        assert pending["vm_state"] == states.ACTIVE
        asked = {p["uuid"] for m, p in env.conductor.calls[before:] if m == "get_instance"}
        assert asked == {pending["uuid"]}
        assert all(s["uuid"] not in asked for s in steady)


async def test_nudges_during_a_reconcile_collapse_into_one_more_run(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.fake_spawn_delay=0.1") as env:
        spec = env.conductor.add(make_spec(env.node))
        before = env.conductor.count("get_instance")
        first = env.agent.nudge(spec["uuid"])
        await until(lambda: spec["uuid"] in env.hypervisor.guests)   # spawning now
        for _ in range(20):
            env.agent.nudge(spec["uuid"])
        await first
        assert env.conductor.count("get_instance") - before == 2
        assert spec["vm_state"] == states.ACTIVE


async def test_a_spec_carried_by_a_nudge_is_taken_once(tmp_path: Path) -> None:
    """The conductor's build carries the spec (decision 94): its pass asks for nothing;
    the next pass, nudged without one, asks the conductor again."""
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node))
        before = env.conductor.count("get_instance")
        await env.bus.cast(compute_topic(env.node), "reconcile_instance",
                           {"uuid": spec["uuid"], "request_id": None, "instance": dict(spec),
                            "sent_at": time.time()})
        await until(lambda: spec["vm_state"] == states.ACTIVE)
        assert env.conductor.count("get_instance") == before
        await env.bus.cast(compute_topic(env.node), "reconcile_instance",
                           {"uuid": spec["uuid"], "request_id": None})
        await until(lambda: env.conductor.count("get_instance") == before + 1)


async def test_a_spec_carried_by_a_cast_that_waited_too_long_is_not_taken(
        tmp_path: Path) -> None:
    """A cast that sat in a queue (an agent that was down) may carry a spec a later change
    overtook: its pass reads what the conductor has instead."""
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node))
        spec["task_state"] = states.DELETING          # deleted after the cast was sent
        before = env.conductor.count("get_instance")
        stale = {**spec, "task_state": states.SPAWNING}
        await env.bus.cast(compute_topic(env.node), "reconcile_instance", {
            "uuid": spec["uuid"], "request_id": None, "instance": stale,
            "sent_at": time.time() - 2 * CARRIED_SPEC_MAX_AGE})
        await until(lambda: env.conductor.count("get_instance") > before)
        assert spec["uuid"] not in env.hypervisor.guests


@pytest.mark.parametrize(("extra", "taken"), [
    ({"sent_at": 1000.0}, True),
    ({"sent_at": 1000.0 - CARRIED_SPEC_MAX_AGE + 0.5}, True),
    ({"sent_at": 1000.0 - CARRIED_SPEC_MAX_AGE - 0.5}, False),
    ({"sent_at": 1000.0 + CARRIED_SPEC_MAX_AGE + 0.5}, False),   # a clock far ahead
    ({}, False),                                                  # no time: never taken
    ({"sent_at": "1000"}, False),
])
def test_which_carried_specs_are_taken(extra: dict[str, object], taken: bool) -> None:
    spec = {"uuid": "u"}
    found = carried_spec({"uuid": "u", "instance": spec, **extra}, now=1000.0)
    assert (found is spec) is taken
    assert carried_spec({"uuid": "u", **extra}, now=1000.0) is None


async def test_a_nudge_without_a_spec_drops_a_carried_one(tmp_path: Path) -> None:
    """A change made after the spec was carried (a delete) sends its own nudge, with no
    spec: the pass reads what the conductor has, not the carried spec."""
    async with agent_env(tmp_path, "compute.fake_spawn_delay=0.1") as env:
        spec = env.conductor.add(make_spec(env.node))
        busy = env.agent.nudge(spec["uuid"])         # a pass runs: the next ones queue
        await until(lambda: spec["uuid"] in env.hypervisor.guests)
        stale = {**spec, "task_state": states.SPAWNING}
        await env.agent.handle("reconcile_instance", {"uuid": spec["uuid"],
                                                      "request_id": None, "instance": stale,
                                                      "sent_at": time.time()})
        spec["task_state"] = states.DELETING         # the delete, then its nudge
        before = env.conductor.count("get_instance")
        await env.agent.handle("reconcile_instance", {"uuid": spec["uuid"],
                                                      "request_id": None})
        await busy
        await until(lambda: spec["uuid"] not in env.hypervisor.guests)
        assert env.conductor.count("get_instance") > before


async def test_a_conductor_failure_mid_reconcile_is_retried_later(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node))
        env.conductor.fail["get_instance"] = RuntimeError("database is locked")
        await env.agent.reconcile(spec["uuid"])
        assert spec["vm_state"] == states.BUILDING
        del env.conductor.fail["get_instance"]
        await env.agent.resync()
        assert spec["vm_state"] == states.ACTIVE


async def test_a_resync_keeps_the_images_of_this_nodes_guests(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.image_cache_max_age=0") as env:
        env.glance.add("img-2")
        await env.boot()
        await env.group.images.fetch("img-2")             # nobody uses it
        await asyncio.sleep(0.01)
        await env.agent.resync()
        cached = {p.name for p in env.group.images.directory.iterdir()}
        assert "img-1" in cached and "img-2" not in cached


# -- restarts -------------------------------------------------------------------------------


async def test_an_agent_killed_mid_spawn_is_replaced_and_the_server_ends_active(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.fake_spawn_delay=0.3") as env:
        spec = env.conductor.add(make_spec(env.node))
        env.agent.nudge(spec["uuid"])
        await until(lambda: spec["uuid"] in env.hypervisor.guests)   # half-made, booting
        await env.restart()                                  # the kill: tasks cancelled
        await until(lambda: spec["vm_state"] == states.ACTIVE)
        assert list(env.hypervisor.guests) == [spec["uuid"]]
        assert env.hypervisor.guests[spec["uuid"]].boots == 1


async def test_a_half_made_guest_left_by_a_crash_is_destroyed_and_respawned(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = env.conductor.add(make_spec(env.node))
        leftover = await env.boot()                           # a complete guest's spec...
        env.hypervisor.guests[spec["uuid"]] = FakeGuest(
            env.hypervisor.guests[leftover["uuid"]].spec)    # ...as a NOSTATE leftover
        await env.restart()
        guest = env.hypervisor.guests[spec["uuid"]]
        assert guest.power_state == PowerState.RUNNING and guest.boots == 1
        assert guest.spec.uuid == spec["uuid"]
        assert spec["vm_state"] == states.ACTIVE


async def test_a_guest_that_booted_before_the_kill_is_adopted(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        spec.update(vm_state=states.BUILDING, task_state=states.SPAWNING,
                    power_state=PowerState.NOSTATE)          # the report never landed
        await env.restart()
        assert spec["vm_state"] == states.ACTIVE
        assert env.hypervisor.guests[spec["uuid"]].boots == 1     # not booted twice


async def test_stop_leaves_guests_running(tmp_path: Path) -> None:
    async with agent_env(tmp_path) as env:
        spec = await env.boot()
        hypervisor = env.hypervisor
        await env.group.stop()
        assert hypervisor.guests[spec["uuid"]].power_state == PowerState.RUNNING
        assert hypervisor.guests[spec["uuid"]].boots == 1
