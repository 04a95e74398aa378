"""Per-key work: one reconcile of a key at a time, any number of keys at once.

Nudges for a key whose reconcile is running collapse into one more pass after it, so a
burst of events costs one extra pass, never a queue. A queue with a ``settle`` time waits
that long before each pass, so the nudges of a burst that arrive meanwhile are all served
by it (for controllers whose pass costs more than the wait: the DHCP controller's reads
the whole network). A pass that ends in
:class:`~ownstack.common.agent.outcome.Retry` is run again after its delay, at most
:data:`MAX_RETRIES` times in a row; after that the key waits for the next nudge or the
periodic resync, so nothing retries forever. The control plane not answering (a
:class:`~ownstack.common.bus.BusError`) is a retry with exponential backoff: the desired
state is still in the database, only the messenger is missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ownstack.common.agent.outcome import Fatal, Outcome, Retry
from ownstack.common.agent.tasks import cancel_all
from ownstack.common.bus import BusError

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

MAX_RETRIES = 5             # passes in a row that may end in Retry before the resync takes over
FIRST_BACKOFF = 1.0         # seconds before retrying a key the control plane did not answer for
MAX_BACKOFF = 30.0


@dataclass
class _Slot:
    """The reconcile of one key: running now, with ``again`` set by nudges meanwhile."""

    done: asyncio.Future[None]
    again: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class _Retries:
    count: int = 0
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class WorkQueue(Generic[K]):
    def __init__(self, name: str, reconcile: Callable[[K], Awaitable[Outcome]], *,
                 max_retries: int = MAX_RETRIES, settle: float = 0.0) -> None:
        self.name = name
        self._reconcile = reconcile
        self.max_retries = max_retries
        self.settle = settle
        self._slots: dict[K, _Slot] = {}
        self._retries: dict[K, _Retries] = {}
        self._stopped = False

    def nudge(self, key: K, *, echo: bool = False) -> asyncio.Future[None]:
        """Reconcile ``key`` soon; the future resolves once no pass for it is pending.

        ``echo`` marks a nudge the running pass most likely caused itself (a driver event
        for a guest its own spawn just started): it asks for no further pass. A caller
        marks as echoes only what a change behind the agent's back cannot look like (the
        compute agent: a guest that runs, never one that stopped).
        """
        slot = self._slots.get(key)
        if slot is not None and slot.task is not None and slot.task.done():
            slot = None     # its pass ended, its release has not run yet: a pass anew
        if slot is not None:
            if not echo:
                slot.again = True
            return slot.done
        slot = _Slot(done=asyncio.get_running_loop().create_future())
        if self._stopped:
            slot.done.set_result(None)
            return slot.done
        self._slots[key] = slot
        slot.task = asyncio.get_running_loop().create_task(self._work(key, slot))
        # A callback, not a ``finally``: a task cancelled before it ever ran (an agent
        # stopped right after a nudge) runs no ``finally``, and its waiters would hang.
        slot.task.add_done_callback(lambda _: self._release(key, slot))
        return slot.done

    async def run(self, key: K) -> None:
        """Reconcile ``key`` and wait for it (for the resync and for tests)."""
        await asyncio.shield(self.nudge(key))

    def busy(self, key: K) -> bool:
        return key in self._slots

    def retrying(self, key: K) -> int:
        """How many passes in a row ended in Retry for ``key`` (0 when none)."""
        retries = self._retries.get(key)
        return retries.count if retries else 0

    async def stop(self) -> None:
        """Cancel every pass, mid-step or not, and every pending retry."""
        self._stopped = True
        for retries in self._retries.values():
            if retries.timer is not None:
                retries.timer.cancel()
        self._retries.clear()
        await cancel_all([slot.task for slot in self._slots.values() if slot.task])

    def _release(self, key: K, slot: _Slot) -> None:
        if self._slots.get(key) is slot:
            del self._slots[key]
        if not slot.done.done():
            slot.done.set_result(None)

    async def _work(self, key: K, slot: _Slot) -> None:
        retries = self._retries.get(key)
        if retries is not None and retries.timer is not None:
            retries.timer.cancel()        # this pass does what the timer would have
            retries.timer = None
        while True:
            if self.settle:
                await asyncio.sleep(self.settle)    # nudges meanwhile: served by this pass
            slot.again = False
            outcome = await self._pass(key)
            if not slot.again or self._stopped:
                break
        self._settle(key, outcome)

    async def _pass(self, key: K) -> Outcome:
        try:
            return await self._reconcile(key)
        except BusError as exc:
            delay = min(FIRST_BACKOFF * 2 ** self.retrying(key), MAX_BACKOFF)
            return Retry(delay, f"the control plane did not answer: {exc}")
        except Exception:
            # A bug or an unforeseen host error: logged with its traceback, not retried in
            # a loop; the periodic resync looks at the key again.
            log.exception("%s %s: reconcile failed", self.name, key)
            return None

    def _settle(self, key: K, outcome: Outcome) -> None:
        if not isinstance(outcome, Retry):
            self._retries.pop(key, None)
            if isinstance(outcome, Fatal):
                log.warning("%s %s: gave up: %s", self.name, key, outcome.reason)
            return
        retries = self._retries.setdefault(key, _Retries())
        retries.count += 1
        if retries.count > self.max_retries or self._stopped:
            log.warning("%s %s: not converged after %d retries (%s); the next resync "
                        "tries again", self.name, key, self.max_retries, outcome.reason)
            self._retries.pop(key, None)
            return
        log.warning("%s %s: %s; retrying in %.1fs", self.name, key, outcome.reason,
                    outcome.delay)
        retries.timer = asyncio.get_running_loop().call_later(
            outcome.delay, self._retry_now, key)

    def _retry_now(self, key: K) -> None:
        retries = self._retries.get(key)
        if retries is not None:
            retries.timer = None
        self.nudge(key)
