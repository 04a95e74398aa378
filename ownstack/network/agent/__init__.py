"""The network agent: the level-triggered reconciler of one host's data path (see
:mod:`.agent`). :mod:`.ports` holds what one reconcile of one port does, :mod:`.server_api`
the agent's calls to the network service, :mod:`.runner` the ``network`` worker role."""

from __future__ import annotations

from ownstack.network.agent.agent import NetworkAgent
from ownstack.network.agent.ports import PortController, Step, plan, port_spec
from ownstack.network.agent.runner import agent_host, start_network_agent

__all__ = ["NetworkAgent", "PortController", "Step", "agent_host", "plan", "port_spec",
           "start_network_agent"]
