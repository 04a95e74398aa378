"""Compute agents: level-triggered reconcilers of compute nodes (see :mod:`.agent`).

:func:`start_agents` starts one per node of this process; :mod:`.reconcile` holds what
one reconcile of one instance does, and :mod:`.image_cache` the host's base images.
"""

from __future__ import annotations

from ownstack.compute.agent.agent import ComputeAgent
from ownstack.compute.agent.image_cache import ImageCache, ImageFetchFailed
from ownstack.compute.agent.reconcile import Reconciler, Step, plan
from ownstack.compute.agent.runner import (
    AgentGroup,
    node_names,
    start_agents,
    start_compute_agents,
)

__all__ = ["AgentGroup", "ComputeAgent", "ImageCache", "ImageFetchFailed", "Reconciler",
           "Step", "node_names", "plan", "start_agents",
           "start_compute_agents"]
