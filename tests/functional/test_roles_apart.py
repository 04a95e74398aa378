"""The control plane and a compute agent as two processes, as on two machines: the
controller runs ``--roles api,conductor`` on PostgreSQL and RabbitMQ, and the agent is
started on its own with ``ownstack up --roles compute``, with a state directory of its own
that holds only the services' password (what ``ownstack join`` will fetch). The agent
reaches the control plane over RabbitMQ and the APIs' published addresses, nothing else.

A server boots, stops and is deleted through the ``openstack`` CLI; then the agent process
is killed with SIGKILL in the middle of a boot and started again, and the cloud converges.
The fake driver keeps its guests in the agent's memory, so the kill is also a host crash:
the restarted agent builds the half-built server again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.databases import fresh_database, rabbitmq_bus
from helpers.names import unique
from helpers.process import (
    AgentHost,
    Cloud,
    make_image,
    port_overrides,
    start_cloud,
    stop_cloud,
    wait_for_compute,
    wait_until,
)

pytestmark = pytest.mark.functional

NODE = "apart-node"


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[tuple[Cloud, AgentHost]]:
    bus = rabbitmq_bus("ownstack-apart")
    (tmp_path / "controller").mkdir()
    agent_dir = tmp_path / "agent" / "state"
    agent_dir.mkdir(parents=True)
    with fresh_database("postgresql") as url:
        cloud = start_cloud(tmp_path / "controller", "postgresql", url,
                            (*bus, "roles=api,conductor", "compute.report_interval=0.5"))
        shutil.copy(cloud.state_dir / "service-password", agent_dir / "service-password")
        agent = AgentHost(agent_dir, [*bus, *port_overrides(cloud.port), "roles=compute",
                                      "compute.driver=fake", f"compute.host={NODE}",
                                      "compute.fake_spawn_delay=6",
                                      "compute.report_interval=0.5",
                                      "compute.resync_interval=2"])
        try:
            yield cloud, agent
        finally:
            agent.ownstack("down")
            stop_cloud(cloud)
    for log in (cloud.log, agent_dir / "ownstack.log"):
        assert "Traceback" not in log.read_text(), log.read_text()[-20000:]


def test_a_subset_on_the_in_process_bus_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ownstack", "--state-dir", str(tmp_path / "state"),
         "up", "--roles", "compute"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path)}, check=False)
    assert result.returncode == 2
    assert "needs a bus that crosses processes" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "ownstack", "--state-dir", str(tmp_path / "state"),
         "up", "--roles", "api,scheduler"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "HOME": str(tmp_path)}, check=False)
    assert result.returncode == 2
    assert "unknown role 'scheduler'" in result.stderr


def test_control_plane_and_agent_in_two_processes(controller: tuple[Cloud, AgentHost],
                                                  tmp_path: Path) -> None:
    cloud, agent = controller
    wait_for_compute(cloud)
    assert cloud.osc_json("hypervisor", "list") == []       # no agent in this process

    started = agent.ownstack("up", "--roles", "compute")
    assert started.returncode == 0, started.stderr
    assert "roles  compute" in started.stdout
    assert "phases imports" in started.stdout and "· compute " in started.stdout
    status = json.loads(agent.ownstack("status", "--json").stdout)
    assert status["roles"] == ["compute"] and status["services"] == []

    services = wait_until("the agent's service", lambda: [
        s for s in cloud.osc_json("compute", "service", "list", "--service", "nova-compute")
        if s["Host"] == NODE and s["State"] == "up"])
    assert len(services) == 1
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.apart")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)

    vm = unique("vm")
    server = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                            "--nic", "none", "--wait", vm)
    assert server["status"] == "ACTIVE" and server["OS-EXT-SRV-ATTR:host"] == NODE
    cloud.osc("server", "stop", vm)
    wait_until("SHUTOFF", lambda: cloud.osc_json("server", "show", vm)["status"] == "SHUTOFF")
    cloud.osc("server", "delete", "--wait", vm)
    assert vm not in {s["Name"] for s in cloud.osc_json("server", "list")}

    # The agent dies in the middle of a boot; started again, it finishes the boot.
    vm = unique("vm")
    server_id = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                               "--nic", "none", vm)["id"]
    wait_until("spawning", lambda: cloud.osc_json("server", "show", vm)[
        "OS-EXT-STS:task_state"] == "spawning", timeout=30)
    killed = agent.pid()
    os.kill(killed, signal.SIGKILL)
    wait_until("the agent gone", lambda: not Path(f"/proc/{killed}").exists(), timeout=10)
    again = agent.ownstack("up", "--roles", "compute")
    assert again.returncode == 0, again.stderr
    assert agent.pid() != killed
    shown = wait_until("ACTIVE after the restart", lambda: (
        s := cloud.osc_json("server", "show", vm))["status"] == "ACTIVE" and s, timeout=60)
    assert shown["id"] == server_id and shown["OS-EXT-STS:task_state"] is None
    events = cloud.osc_json("server", "event", "list", vm)
    assert [e["Action"] for e in events] == ["create"]
    cloud.osc("server", "delete", "--wait", vm)

    stopped = agent.ownstack("down")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    deadline = time.monotonic() + 10
    while agent.ownstack("status").returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
