"""The network agent as ``ownstack up`` runs it, and as a process of its own.

In the all-in-one cloud the agent is one of the default roles: ``openstack network agent
list`` shows it alive. Then the agent runs alone (``ownstack up --roles network``, as on
another machine, reaching the control plane over RabbitMQ with only the services' password
in its state directory): it registers, is killed with SIGKILL and shows dead once its
heartbeat is older than ``network.agent_down_time``, and started again it is alive once
more, on the same row, with a new ``started_at``.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.databases import rabbitmq_bus
from helpers.process import (
    AgentHost,
    Cloud,
    port_overrides,
    start_cloud,
    stop_cloud,
    wait_until,
)

pytestmark = pytest.mark.functional

NODE = "net-node"


def alive(agent: dict[str, Any]) -> bool:
    """The CLI's Alive column: True/False in JSON (":-)"/"XXX" in a table)."""
    return agent["Alive"] in (True, ":-)")


def test_the_all_in_one_cloud_lists_its_network_agent(cloud: Cloud) -> None:
    agents = wait_until("the network agent", lambda: cloud.osc_json(
        "network", "agent", "list") or None, timeout=30)
    (agent,) = agents
    assert agent["Agent Type"] == "Linux bridge agent" and alive(agent)
    assert agent["Binary"] == "neutron-linuxbridge-agent"
    assert agent["State"] in (True, "UP")
    shown = cloud.osc_json("network", "agent", "show", agent["ID"])
    assert shown["host"] == agent["Host"] and shown["availability_zone"] == "nova"


@pytest.fixture
def controller(tmp_path: Path) -> Iterator[tuple[Cloud, AgentHost]]:
    bus = rabbitmq_bus("ownstack-netagent")
    (tmp_path / "controller").mkdir()
    agent_dir = tmp_path / "agent" / "state"
    agent_dir.mkdir(parents=True)
    cloud = start_cloud(tmp_path / "controller", "sqlite", None,
                        (*bus, "roles=api,conductor,compute", "network.agent_down_time=3"))
    shutil.copy(cloud.state_dir / "service-password", agent_dir / "service-password")
    agent = AgentHost(agent_dir, [*bus, *port_overrides(cloud.port), "roles=network",
                                  "network.driver=fake",
                                  f"network.host={NODE}", "network.report_interval=0.5",
                                  "network.resync_interval=1"])
    try:
        yield cloud, agent
    finally:
        agent.ownstack("down")
        stop_cloud(cloud)
    for log in (cloud.log, agent_dir / "ownstack.log"):
        assert "Traceback" not in log.read_text(), log.read_text()[-20000:]


def _node(cloud: Cloud) -> dict[str, Any] | None:
    found = [a for a in cloud.osc_json("network", "agent", "list", "--host", NODE)]
    return found[0] if found else None


def _status(cloud: Cloud, port_id: str) -> str:
    return str(cloud.osc_json("port", "show", port_id)["status"])


def test_a_killed_agent_process_is_dead_and_alive_again_restarted(
        controller: tuple[Cloud, AgentHost]) -> None:
    cloud, agent = controller
    assert cloud.osc_json("network", "agent", "list") == []      # no agent in this process
    started = agent.ownstack("up", "--roles", "network")
    assert started.returncode == 0, started.stderr
    assert "roles  network" in started.stdout
    first = wait_until("the agent alive", lambda: (a := _node(cloud)) and alive(a) and a,
                       timeout=30)
    before = cloud.osc_json("network", "agent", "show", first["ID"])["started_at"]
    net = cloud.osc_json("network", "create", "wired")
    port = cloud.osc_json("port", "create", "--network", net["id"], "--host", NODE, "p1")
    assert port["status"] == "DOWN" and port["binding_vif_type"] == "bridge"
    wait_until("the port ACTIVE", lambda: _status(cloud, port["id"]) == "ACTIVE", timeout=30)

    killed = agent.pid()
    os.kill(killed, signal.SIGKILL)
    wait_until("the agent dead", lambda: (a := _node(cloud)) and not alive(a), timeout=30)
    # While the agent is dead: one port arrives on its host; the first one moves to a host
    # no agent serves, where it is DOWN (its new host's agent never reported it wired).
    second = cloud.osc_json("port", "create", "--network", net["id"], "--host", NODE, "p2")
    cloud.osc("port", "set", "--host", "elsewhere", port["id"])
    assert _status(cloud, port["id"]) == "DOWN"

    again = agent.ownstack("up", "--roles", "network")
    assert again.returncode == 0, again.stderr
    assert agent.pid() != killed
    back = wait_until("the agent alive again", lambda: (a := _node(cloud)) and alive(a) and a,
                      timeout=30)
    assert back["ID"] == first["ID"]
    shown = cloud.osc_json("network", "agent", "show", back["ID"])
    assert shown["started_at"] > before          # a new process, the same row
    wait_until("the new port ACTIVE", lambda: _status(cloud, second["id"]) == "ACTIVE",
               timeout=30)
    assert _status(cloud, port["id"]) == "DOWN"
    stopped = agent.ownstack("down")
    assert stopped.returncode == 0
