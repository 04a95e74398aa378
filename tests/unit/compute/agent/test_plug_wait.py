"""A boot waits for its ports, as Nova waits for Neutron: the pure plan of the wait, and the
agent carrying it out (paused, resumed, timed out, and carried on across a restart)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

import pytest

from helpers.agent import agent_env, make_spec, until
from ownstack.compute import states
from ownstack.compute.agent.reconcile import PLUG_WAIT, Step, plan
from ownstack.compute.drivers.base import GuestInfo
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

HOST = "node-a"


def nic(port_id: str, active: bool = False) -> dict[str, Any]:
    return {"port_id": port_id, "mac": "fa:16:3e:00:00:01", "tap_name": f"tap{port_id}",
            "bridge": "brq-net", "mtu": 1500, "network_id": "net", "active": active}


def spec(*nics: dict[str, Any], since: float | None = None, host: str = HOST) -> InstanceSpec:
    task_args = {} if since is None else {PLUG_WAIT: {"host": host, "since": since,
                                                      "build_start": since - 1}}
    return cast(InstanceSpec, make_spec(HOST, nics=list(nics), task_args=task_args))


PAUSED = GuestInfo("x", PowerState.PAUSED)


# -- the plan: pure ----------------------------------------------------------------------------

def test_a_paused_spawn_waits_while_a_port_is_not_active() -> None:
    desired = spec(nic("p1", active=True), nic("p2"), since=100.0)
    assert plan(desired, PAUSED, HOST, now=150.0, plug_timeout=300) == Step.WAIT_PLUG


def test_a_paused_spawn_resumes_once_every_port_is_active() -> None:
    desired = spec(nic("p1", active=True), nic("p2", active=True), since=100.0)
    assert plan(desired, PAUSED, HOST, now=150.0, plug_timeout=300) == Step.RESUME


def test_a_paused_spawn_times_out_once_the_wait_ran_out() -> None:
    desired = spec(nic("p1", active=True), nic("p2"), since=100.0)
    assert plan(desired, PAUSED, HOST, now=399.9, plug_timeout=300) == Step.WAIT_PLUG
    assert plan(desired, PAUSED, HOST, now=400.0, plug_timeout=300) == Step.PLUG_TIMEOUT


def test_a_wait_not_recorded_yet_is_a_wait_that_never_times_out_unrecorded() -> None:
    """An agent killed between the paused spawn and its report: the pass records it."""
    assert plan(spec(nic("p1")), PAUSED, HOST, now=1e12, plug_timeout=1) == Step.WAIT_PLUG


def test_a_wait_another_host_started_is_not_this_hosts() -> None:
    desired = spec(nic("p1"), since=100.0, host="node-b")
    assert plan(desired, PAUSED, HOST, now=1e12, plug_timeout=1) == Step.WAIT_PLUG


def test_with_no_timeout_a_paused_spawn_is_let_run() -> None:
    assert plan(spec(nic("p1"), since=100.0), PAUSED, HOST, now=1e12,
                plug_timeout=0) == Step.RESUME


@pytest.mark.parametrize(("power", "step"), [
    (None, Step.SPAWN), (PowerState.NOSTATE, Step.SPAWN), (PowerState.SHUTDOWN, Step.SPAWN),
    (PowerState.RUNNING, Step.ADOPT)])
def test_a_spawn_that_is_not_paused_is_unchanged_by_ports(power: PowerState | None,
                                                          step: Step) -> None:
    observed = None if power is None else GuestInfo("x", power)
    assert plan(spec(nic("p1"), since=100.0), observed, HOST, now=1e12,
                plug_timeout=1) == step


# -- the agent carrying it out ---------------------------------------------------------------

def _paused_boot(env: Any, *nics: dict[str, Any]) -> dict[str, Any]:
    return env.conductor.add(make_spec(env.node, nics=[dict(n) for n in nics]))


async def test_a_boot_runs_only_once_its_port_is_active(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = _paused_boot(env, nic("p1"))
        uuid = desired["uuid"]
        await env.agent.reconcile(uuid)
        guest = env.hypervisor.guests[uuid]
        assert guest.power_state == PowerState.PAUSED and guest.boots == 0
        assert desired["vm_state"] == states.BUILDING
        assert desired["task_state"] == states.SPAWNING
        assert desired["power_state"] == PowerState.PAUSED
        assert desired["task_args"][PLUG_WAIT]["host"] == env.node
        assert "compute_start" in env.conductor.event_names(uuid)    # recorded at once
        assert "compute_plug" not in env.conductor.event_names(uuid)

        env.conductor.port_active["p1"] = True          # the network agent wired it
        env.agent.nudge(uuid)                           # network-vif-plugged's nudge
        await until(lambda: desired["vm_state"] == states.ACTIVE)
        assert guest.power_state == PowerState.RUNNING and guest.boots == 1
        assert desired["task_state"] is None and PLUG_WAIT not in desired["task_args"]
        names = env.conductor.event_names(uuid)
        assert names[-2:] == ["compute_plug", "compute_build_and_run_instance"]
        plug = env.conductor.event(uuid, "compute_plug")
        assert plug["result"] == "Success" and plug["finish"] >= plug["start"]


async def test_a_port_that_is_never_plugged_ends_the_boot_in_error(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=0.3") as env:
        desired = _paused_boot(env, nic("p1", active=True), nic("p2"))
        uuid = desired["uuid"]
        started = time.monotonic()
        await env.agent.reconcile(uuid)
        assert env.hypervisor.guests[uuid].power_state == PowerState.PAUSED
        # Nothing nudges the agent: the wait's own timer ends it.
        await until(lambda: desired["vm_state"] == states.ERROR)
        assert time.monotonic() - started >= 0.3
        assert uuid not in env.hypervisor.guests                 # the guest is gone
        assert desired["task_state"] is None
        assert desired["power_state"] == PowerState.NOSTATE
        message = desired["fault"]["message"]
        assert "p2" in message and "p1" not in message, message
        assert "not plugged" in message
        plug = env.conductor.event(uuid, "compute_plug")
        build = env.conductor.event(uuid, "compute_build_and_run_instance")
        assert plug["result"] == "Error" and build["result"] == "Error"
        assert "p2" in build["details"]


async def test_a_port_plugged_but_whose_event_was_lost_is_found_by_the_next_pass(
        tmp_path: Path) -> None:
    """The cache says DOWN (the event came before the instance had its host): each pass
    of the wait reads the ports afresh through the conductor."""
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        env.conductor.port_active["p1"] = True
        desired = _paused_boot(env, nic("p1"))
        await env.agent.reconcile(desired["uuid"])
        assert desired["vm_state"] == states.ACTIVE
        assert env.conductor.count("refresh_network_info") == 1
        assert "compute_plug" in env.conductor.event_names(desired["uuid"])


async def test_a_server_with_no_ports_does_not_wait(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = await env.boot()
        assert desired["vm_state"] == states.ACTIVE
        assert env.conductor.count("refresh_network_info") == 0
        assert "compute_plug" not in env.conductor.event_names(desired["uuid"])


async def test_with_the_timeout_at_zero_a_boot_does_not_wait(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=0") as env:
        desired = _paused_boot(env, nic("p1"))
        await env.agent.reconcile(desired["uuid"])
        assert desired["vm_state"] == states.ACTIVE
        assert env.hypervisor.guests[desired["uuid"]].power_state == PowerState.RUNNING


async def test_an_agent_restarted_mid_wait_goes_on_waiting_and_resumes(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = _paused_boot(env, nic("p1"))
        uuid = desired["uuid"]
        await env.agent.reconcile(uuid)
        since = desired["task_args"][PLUG_WAIT]["since"]
        await env.restart()
        await env.agent.reconcile(uuid)                 # the restarted agent's resync
        guest = env.hypervisor.guests[uuid]
        assert guest.power_state == PowerState.PAUSED and guest.boots == 0
        assert desired["task_args"][PLUG_WAIT]["since"] == since    # the same wait
        assert env.conductor.count("update_instance") == 1          # no second spawn
        env.conductor.port_active["p1"] = True
        env.agent.nudge(uuid)
        await until(lambda: desired["vm_state"] == states.ACTIVE)
        assert env.hypervisor.guests[uuid] is guest and guest.boots == 1


async def test_an_agent_restarted_after_the_wait_ran_out_times_it_out(
        tmp_path: Path) -> None:
    """The wait's start is the instance's, not the process's: a restart does not give the
    port another full timeout."""
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = _paused_boot(env, nic("p1"))
        uuid = desired["uuid"]
        await env.agent.reconcile(uuid)
        await env.restart()
        desired["task_args"][PLUG_WAIT]["since"] -= 31       # the agent was down that long
        await env.agent.reconcile(uuid)
        assert desired["vm_state"] == states.ERROR
        assert "p1" in desired["fault"]["message"]
        assert uuid not in env.hypervisor.guests


async def test_a_guest_paused_by_an_agent_killed_before_its_report_waits(
        tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = _paused_boot(env, nic("p1"))
        uuid = desired["uuid"]
        env.conductor.fail["update_instance"] = RuntimeError("killed before the report")
        await env.agent.reconcile(uuid)
        assert env.hypervisor.guests[uuid].power_state == PowerState.PAUSED
        assert PLUG_WAIT not in desired["task_args"]
        del env.conductor.fail["update_instance"]
        await env.restart()
        await env.agent.reconcile(uuid)
        assert desired["task_args"][PLUG_WAIT]["host"] == env.node
        assert env.hypervisor.guests[uuid].boots == 0           # the same guest, waiting


async def test_a_server_deleted_while_it_waits_is_destroyed(tmp_path: Path) -> None:
    async with agent_env(tmp_path, "compute.vif_plugging_timeout=30") as env:
        desired = _paused_boot(env, nic("p1"))
        uuid = desired["uuid"]
        await env.agent.reconcile(uuid)
        desired["task_state"] = states.DELETING
        await env.agent.reconcile(uuid)
        assert uuid not in env.hypervisor.guests and uuid in env.conductor.destroyed
