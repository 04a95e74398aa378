"""The agent runtime every node agent stands on (see :mod:`.runtime`): controllers with a
pure plan (:mod:`.controller`), per-key work queues (:mod:`.workqueue`) and typed outcomes
(:mod:`.outcome`)."""

from ownstack.common.agent.controller import Controller, Surveyed
from ownstack.common.agent.outcome import Fatal, Outcome, Retry
from ownstack.common.agent.runtime import Agent, stop_agents
from ownstack.common.agent.tasks import TaskSet, cancel_all
from ownstack.common.agent.workqueue import WorkQueue

__all__ = ["Agent", "Controller", "Fatal", "Outcome", "Retry", "Surveyed", "TaskSet",
           "WorkQueue", "cancel_all", "stop_agents"]
