"""The shape of every node-side controller: ``desired``, ``observed``, a pure ``plan`` and
``apply``, key by key (one instance, one network, one port, one volume).

A controller is level-triggered: whatever nudged it, it reads both sides afresh, so a lost
or duplicated nudge costs nothing. :meth:`Controller.reconcile` is the whole pass;
:meth:`Controller.survey` is the full comparison a resync makes, reading every desired and
observed object at once instead of one round trip per key.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from ownstack.common.agent.outcome import Outcome

K = TypeVar("K", bound=Hashable)
D = TypeVar("D")
O = TypeVar("O")  # noqa: E741 - the Observed half of the D/O/P triple
P = TypeVar("P")


@dataclass(frozen=True)
class Surveyed(Generic[K, D, O]):
    """One key as a survey found it: what is wanted, and what is there."""

    key: K
    desired: D | None
    observed: O | None


class Controller(ABC, Generic[K, D, O, P]):
    """One kind of object on a node. Callers serialise :meth:`reconcile` per key (the
    agent's :class:`~ownstack.common.agent.workqueue.WorkQueue` does)."""

    name: str = "controller"
    # Seconds a nudged key waits before its pass, so a burst of nudges costs one pass
    # (see :class:`~ownstack.common.agent.workqueue.WorkQueue`); 0: at once.
    settle: float = 0.0

    @abstractmethod
    async def desired(self, key: K) -> D | None:
        """What the control plane wants for ``key``; ``None`` when it wants nothing."""

    @abstractmethod
    async def observed(self, key: K) -> O | None:
        """What the node has for ``key``; ``None`` when it has nothing."""

    @abstractmethod
    def plan(self, desired: D | None, observed: O | None) -> P:
        """The step that moves the node toward ``desired``. Pure: no I/O, no clock."""

    @abstractmethod
    def idle(self, plan: P) -> bool:
        """Whether ``plan`` does nothing."""

    @abstractmethod
    async def apply(self, key: K, plan: P, desired: D | None, observed: O | None
                    ) -> Outcome:
        """Carry ``plan`` out. Idempotent: a pass cut short by a kill is done again."""

    @abstractmethod
    async def survey(self) -> list[Surveyed[K, D, O]]:
        """Every key that is desired or observed on this node, with both sides."""

    async def reconcile(self, key: K) -> Outcome:
        """One pass over ``key``: read both sides, plan, and apply unless idle."""
        desired = await self.desired(key)
        observed = await self.observed(key)
        step = self.plan(desired, observed)
        if self.idle(step):
            return None
        return await self.apply(key, step, desired, observed)

    def differs(self, item: Surveyed[K, D, O]) -> bool:
        """Whether a surveyed key needs a pass."""
        return not self.idle(self.plan(item.desired, item.observed))
