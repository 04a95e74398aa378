"""The compute agent's steps that put a guest in a resting state and leave it there:
pause and unpause, suspend and resume, rescue and unrescue.

Each is one driver call, then a report that ends the task: the server rests in the new
vm_state. Each is idempotent on the node (the driver's calls are: a second ``pause`` of a
paused guest, a ``suspend`` whose save a killed agent cut short, a ``rescue`` already
booted), so an agent killed in the middle does it again at its next resync. When it cannot
be done (the guest is gone, in another state, or the driver failed) the task ends with a
fault and the server keeps its vm_state; the power sync then shows what the guest is.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from ownstack.common.agent import Outcome
from ownstack.compute import states
from ownstack.compute.agent.image_cache import ImageFetchFailed
from ownstack.compute.drivers.base import DriverError, GuestInfo, GuestNotFound
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

if TYPE_CHECKING:
    from ownstack.compute.agent.reconcile import Reconciler

# Nova's compute manager events.
EVENT_PAUSE: Final = "compute_pause_instance"
EVENT_UNPAUSE: Final = "compute_unpause_instance"
EVENT_SUSPEND: Final = "compute_suspend_instance"
EVENT_RESUME: Final = "compute_resume_instance"
EVENT_RESCUE: Final = "compute_rescue_instance"
EVENT_UNRESCUE: Final = "compute_unrescue_instance"


async def pause(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
    """The user's pause: PAUSED until unpaused (the plug wait's pause is a spawn's)."""
    return await _hold(r, desired, observed, EVENT_PAUSE, r.driver.pause,
                       states.PAUSED, PowerState.PAUSED)


async def unpause(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                  ) -> Outcome:
    return await _hold(r, desired, observed, EVENT_UNPAUSE, r.driver.unpause,
                       states.ACTIVE, PowerState.RUNNING)


async def suspend(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                  ) -> Outcome:
    """Memory saved to a file and the process ended; repeatable (the driver finishes a
    save cut short, and never loses the guest on the way)."""
    return await _hold(r, desired, observed, EVENT_SUSPEND, r.driver.suspend,
                       states.SUSPENDED, PowerState.SUSPENDED)


async def resume(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                 ) -> Outcome:
    return await _hold(r, desired, observed, EVENT_RESUME, r.driver.resume,
                       states.ACTIVE, PowerState.RUNNING)


async def rescue(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                 ) -> Outcome:
    """Boot the rescue image (the one asked for, else the server's own) with the server's
    disk second. The rescue password was the API's answer; it is not kept."""
    image_id = str(desired["task_args"].get("rescue_image_ref") or desired["image_ref"])

    async def boot_rescue(uuid: str) -> None:
        try:
            image = await r.images.fetch(image_id)
        except ImageFetchFailed as exc:
            raise DriverError(exc.reason) from exc
        await r.driver.rescue(uuid, image)

    return await _hold(r, desired, observed, EVENT_RESCUE, boot_rescue, states.RESCUED,
                       PowerState.RUNNING, clear_admin_pass=True)


async def unrescue(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                   ) -> Outcome:
    return await _hold(r, desired, observed, EVENT_UNRESCUE, r.driver.unrescue,
                       states.ACTIVE, PowerState.RUNNING)


async def _hold(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None,
                event: str, act: Callable[[str], Awaitable[None]], vm_state: str,
                power: PowerState, **updates: Any) -> Outcome:
    """Run ``act`` on the guest and rest in ``vm_state``, or end the task with a fault."""
    start = time.time()
    try:
        if observed is None:
            raise GuestNotFound(desired["uuid"])
        await act(desired["uuid"])
    except GuestNotFound:
        return await r._fail(desired, event, start, r._disks_gone())
    except DriverError as exc:
        return await r._fail(desired, event, start, str(exc))
    await r._finish(desired, event, start, vm_state=vm_state, task_state=None,
                    power_state=power, **updates)
    return None
