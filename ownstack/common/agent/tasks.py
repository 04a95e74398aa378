"""Background tasks an agent owns, and stopping them for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

log = logging.getLogger(__name__)


class TaskSet:
    """Tasks started by one owner and cancelled together when it stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel(self) -> None:
        await cancel_all(list(self._tasks))


async def cancel_all(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended.

    Cancelling once is not enough on Python 3.11: ``asyncio.wait_for`` (inside every bus
    call) swallows a cancellation that arrives as its awaited result lands, and the task
    runs on. So whatever is still running is cancelled again until nothing is.
    """
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        done, pending = await asyncio.wait(pending, timeout=0.1)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("agent task failed while stopping", exc_info=task.exception())
