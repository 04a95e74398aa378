"""The compute agent's shelve steps (see :mod:`ownstack.compute.objects.shelves`).

* ``shelving``: the guest powered off (ACPI, then forced), its disk uploaded into the
  image the API queued (an upload a killed agent finished is not done again), then
  SHELVED with the image in ``task_args["shelved_image_id"]``. A failure deletes the
  image and ends the task with a fault.
* ``shelving_offloading``: the guest destroyed (everything it had on the host), then the
  conductor frees the host (``shelve_offloaded``).
* ``unshelving`` of a SHELVED server: its guest started again, ACTIVE, the image deleted.
  An offloaded server comes back through a spawn instead (the conductor placed it): the
  spawn boots the shelve image, and the image is deleted once the server is ACTIVE.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Final

from ownstack.common.agent import Fatal, Outcome
from ownstack.common.clients.image import ImageClientError
from ownstack.compute import states
from ownstack.compute.drivers.base import DriverError, GuestInfo, GuestNotFound
from ownstack.compute.faults import Fault
from ownstack.compute.rpc import InstanceSpec
from ownstack.compute.states import PowerState

if TYPE_CHECKING:
    from ownstack.compute.agent.reconcile import Reconciler

EVENT_SHELVE: Final = "compute_shelve_instance"
EVENT_OFFLOAD: Final = "compute_shelve_offload_instance"
EVENT_UNSHELVE: Final = "compute_unshelve_instance"
SHELVED_IMAGE: Final = "shelved_image_id"


async def shelve(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None) -> Outcome:
    start = time.time()
    uuid = desired["uuid"]
    image_id = str(desired["task_args"].get("image_id") or "")
    try:
        if observed is not None and observed.power_state != PowerState.SHUTDOWN:
            await r.driver.power_off(uuid, r.shutdown_timeout)
            observed = await r.driver.get_info(uuid)
        await r._upload_snapshot(uuid, image_id, observed)
    except Exception as exc:    # a driver, image service or file error: all end the task
        reason = getattr(exc, "reason", None) or str(exc)
        if image_id:
            with contextlib.suppress(ImageClientError):
                await r.image_client.delete(image_id)
        await r._finish(desired, EVENT_SHELVE, start, reason, task_state=None,
                        fault=Fault(reason).report(), task_args={})
        return Fatal(f"shelve into image {image_id} failed: {reason}")
    await r._finish(desired, EVENT_SHELVE, start, vm_state=states.SHELVED, task_state=None,
                    power_state=PowerState.SHUTDOWN, task_args={SHELVED_IMAGE: image_id})
    return None


async def offload(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                  ) -> Outcome:
    start = time.time()
    await r.driver.destroy(desired["uuid"])
    await r._event(desired, EVENT_OFFLOAD, start)
    await r.conductor.shelve_offloaded(desired["uuid"])
    return None


async def unshelve(r: Reconciler, desired: InstanceSpec, observed: GuestInfo | None
                   ) -> Outcome:
    """A SHELVED server (its guest still here, powered off) runs again."""
    start = time.time()
    try:
        if observed is None:
            raise GuestNotFound(desired["uuid"])
        await r.driver.power_on(desired["uuid"])
    except DriverError as exc:
        reason = r._disks_gone() if isinstance(exc, GuestNotFound) else str(exc)
        return await r._fail(desired, EVENT_UNSHELVE, start, reason)
    if await r._finish(desired, EVENT_UNSHELVE, start, vm_state=states.ACTIVE,
                       task_state=None, power_state=PowerState.RUNNING, task_args={}):
        await delete_shelved_image(r, desired)
    return None


async def delete_shelved_image(r: Reconciler, desired: InstanceSpec) -> None:
    """The shelve image is not needed once the server runs again (Nova deletes it too)."""
    image_id = desired["task_args"].get(SHELVED_IMAGE)
    if image_id:
        with contextlib.suppress(ImageClientError):
            await r.image_client.delete(str(image_id))
