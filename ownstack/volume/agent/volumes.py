"""The volume controller: ``step = plan(desired, observed); await apply(step)``, per
volume.

``desired`` is the volume as the volume service has it (:class:`~ownstack.volume.rpc.
VolumeInfo`); ``observed`` is what the driver holds for it
(:class:`~ownstack.volume.drivers.base.StoredVolume`), or ``None``. :func:`plan` is a pure
function of the two, so each case is a unit test with no I/O. It reads the volume's
``work``, which only the API action that asks for it writes, never its status (decision
59): a status an admin's reset-status wrote, ``deleting`` or ``creating`` included, asks
for nothing, so it neither destroys a disk nor is "repaired". By work:

* ``creating``: not here -> CREATE (blank, or a copy of an image, a snapshot or another
  volume); here already (made before a kill, never reported) -> REPORT;
* ``deleting``: here -> DELETE; gone -> REPORT;
* ``extending``: smaller than wanted -> EXTEND; as big -> REPORT (an in-use volume's
  extend is compute's: NOTHING);
* ``uploading`` -> UPLOAD (which first asks whether the image already has its data);
* ``reverting`` -> REVERT (the snapshot copied over the volume again: the same result
  whether or not a killed agent had done it);
* a task on a volume whose data is not here -> FAIL, with that reason;
* here, with no row any more (forced away while this host was down) -> REMOVE;
* no work (available, in-use, error..., or any status a reset-status wrote) -> NOTHING.

Every step is idempotent, and every volume is made whole or not at all (the driver's
temporaries), so an agent killed in any step does it again at its next resync: nothing
stays ``creating`` or ``deleting`` after a restart. Failures are reported with their
reason (the volume goes to ``error``, ``error_deleting``, ``error_extending``, or back
from ``uploading``) and never retried in a loop; a control plane that does not answer is
a retry.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Final

from ownstack.common.agent import Controller, Outcome, Retry, Surveyed
from ownstack.volume import rpc
from ownstack.volume.agent.images import ImageProblem, Images, ImageUnreachable
from ownstack.volume.agent.server_api import VolumeServerAPI
from ownstack.volume.drivers.base import DriverError, StoredVolume, VolumeDriver

log = logging.getLogger(__name__)

IMAGE_RETRY: Final = 5.0        # seconds before a copy the image service did not answer


class Step(StrEnum):
    NOTHING = "nothing"
    CREATE = "create"
    DELETE = "delete"
    EXTEND = "extend"
    UPLOAD = "upload"
    REVERT = "revert"
    REPORT = "report"
    FAIL = "fail"
    REMOVE = "remove"


def plan(desired: rpc.VolumeInfo | None, observed: StoredVolume | None, host: str) -> Step:
    """The step that moves ``host`` toward ``desired`` for one volume."""
    if desired is None:
        return Step.REMOVE if observed is not None else Step.NOTHING
    if desired["host"] != host:
        return Step.NOTHING
    work = desired["work"]
    if work == "creating":
        return Step.REPORT if observed is not None else Step.CREATE
    if work == "deleting":
        return Step.DELETE if observed is not None else Step.REPORT
    if work == "extending":
        if desired["extend_by_compute"]:
            return Step.NOTHING
        if observed is None:
            return Step.FAIL
        return Step.EXTEND if observed.size_gb < desired["size"] else Step.REPORT
    if work in ("uploading", "reverting"):
        if observed is None:
            return Step.FAIL
        return Step.UPLOAD if work == "uploading" else Step.REVERT
    return Step.NOTHING


class VolumeController(Controller[str, rpc.VolumeInfo, StoredVolume, Step]):
    name = "volume"

    def __init__(self, *, host: str, driver: VolumeDriver, server: VolumeServerAPI,
                 images: Images) -> None:
        self.host = host
        self.driver = driver
        self.server = server
        self.images = images

    async def desired(self, key: str) -> rpc.VolumeInfo | None:
        return await self.server.get_volume(key)

    async def observed(self, key: str) -> StoredVolume | None:
        return await self.driver.volume(key)

    def plan(self, desired: rpc.VolumeInfo | None, observed: StoredVolume | None) -> Step:
        return plan(desired, observed, self.host)

    def idle(self, plan: Step) -> bool:
        return plan == Step.NOTHING

    async def survey(self) -> list[Surveyed[str, rpc.VolumeInfo, StoredVolume]]:
        """Every volume of this host and every volume the driver holds. The driver is
        asked *first*: a volume made in between then belongs to a row already fetched, so
        it is never taken for an orphan."""
        stored = {volume.volume_id: volume for volume in await self.driver.volumes()}
        desired = {volume["id"]: volume for volume in (await self.server.host_state())[0]}
        return [Surveyed(key, desired.get(key), stored.get(key))
                for key in [*desired, *(k for k in stored if k not in desired)]]

    async def apply(self, key: str, plan: Step, desired: rpc.VolumeInfo | None,
                    observed: StoredVolume | None) -> Outcome:
        if plan == Step.REMOVE:
            await self.driver.delete_volume(key)
            log.info("volume %s removed from %s: no volume service row wants it", key,
                     self.host)
            return None
        work = desired["work"] if desired is not None else None
        if desired is None or work is None:
            return None
        try:
            result = await self._work(key, plan, desired, observed)
        except ImageUnreachable as exc:
            return Retry(IMAGE_RETRY, f"the image service did not answer: {exc}")
        except (DriverError, ImageProblem, OSError) as exc:
            log.warning("volume %s: %s failed: %s", key, work, exc)
            await self.server.volume_done(key, work, rpc.FAILED, reason=str(exc))
            return None
        except Exception as exc:
            # A bug, not the host's refusal: still never a volume left in a task for good.
            log.exception("volume %s: %s failed unexpectedly", key, work)
            await self.server.volume_done(key, work, rpc.FAILED,
                                          reason=f"internal error: {type(exc).__name__}")
            return None
        await self.server.volume_done(
            key, work, rpc.DONE, location=result.location if result else None,
            volume_format=result.format if result else None)
        log.info("volume %s: %s done on %s", key, work, self.host)
        return None

    async def _work(self, key: str, plan: Step, desired: rpc.VolumeInfo,
                    observed: StoredVolume | None) -> StoredVolume | None:
        """Carry ``plan`` out; the volume as it then is (None once deleted)."""
        size = desired["size"]
        if plan == Step.REPORT:
            return observed
        if plan == Step.FAIL:
            raise DriverError(f"the volume's data is not on host {self.host}")
        if plan == Step.CREATE:
            return await self._create(key, desired)
        if plan == Step.DELETE:
            await self.driver.delete_volume(key)
            return None
        if plan == Step.EXTEND:
            return await self.driver.extend_volume(key, size)
        if plan == Step.REVERT:
            snapshot_id = desired["revert_snapshot_id"]
            if not snapshot_id:
                raise DriverError("no snapshot to revert to was named")
            return await self.driver.revert_to_snapshot(key, snapshot_id)
        if plan == Step.UPLOAD:
            await self._upload(key, desired)
            return observed
        return observed

    async def _create(self, key: str, desired: rpc.VolumeInfo) -> StoredVolume:
        source = desired["source"]
        size = desired["size"]
        kind, source_id = source["kind"], source["id"]
        if kind == "image" and source_id:
            async with self.images.fetched(source_id, str(source["disk_format"])
                                           ) as (path, found):
                return await self.driver.create_from_image(key, size, path, found.format)
        if kind == "snapshot" and source_id:
            return await self.driver.create_from_snapshot(key, size, source_id)
        if kind == "volume" and source_id:
            return await self.driver.create_from_volume(key, size, source_id)
        return await self.driver.create_volume(key, size)

    async def _upload(self, key: str, desired: rpc.VolumeInfo) -> None:
        image_id = desired["upload_image_id"]
        disk_format = desired["upload_disk_format"] or "raw"
        if not image_id:
            raise DriverError("no image to upload to was named")
        state = await self.images.is_active(image_id)
        if state is None:
            raise ImageProblem(f"image {image_id} was deleted before the upload")
        if state:
            return                      # uploaded before a kill, not reported then
        scratch = self.images.scratch(f"upload-{key}")
        try:
            await self.driver.export_volume(key, disk_format, scratch)
            await self.images.upload(image_id, scratch)
        finally:
            await asyncio.to_thread(scratch.unlink, missing_ok=True)
