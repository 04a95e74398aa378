"""Images the agent copies into volumes, and volumes it uploads as images.

An image is downloaded from the image service (as the services' own user; the API
checked the caller may see it) into the agent's work directory, then checked with the
image service's own rules (:mod:`ownstack.common.disk_format`: the declared format must
match the bytes, no backing or data file, no encryption, VMDK extents in the file
itself) before the driver opens it: nothing a user uploaded can make ``qemu-img`` or
QEMU read a host file. The download is removed whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from ownstack.common import disk_format
from ownstack.common.clients.image import ImageClient, ImageClientError, ImageNotFound
from ownstack.common.disk_format import InspectResult


class ImageProblem(Exception):
    """The image cannot become the volume (the message says why, to the user)."""


class ImageUnreachable(Exception):
    """The image service did not answer: worth another try."""


class Images:
    def __init__(self, client: ImageClient, work_dir: Path, *, inspect_timeout: int,
                 inspect_memory_mb: int) -> None:
        self.client = client
        self.work_dir = work_dir
        self.inspect_timeout = inspect_timeout
        self.inspect_memory_mb = inspect_memory_mb

    async def clean(self) -> None:
        """Remove what a killed agent left in the work directory."""
        def clean() -> None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            for leftover in self.work_dir.iterdir():
                with contextlib.suppress(OSError):
                    leftover.unlink()
        await asyncio.to_thread(clean)

    @contextlib.asynccontextmanager
    async def fetched(self, image_id: str, declared_format: str
                      ) -> AsyncIterator[tuple[Path, InspectResult]]:
        """The image's data in a local file, checked, with its detected format."""
        path = self.work_dir / f"image-{image_id}-{uuid.uuid4().hex[:8]}"
        try:
            try:
                await self.client.download(image_id, path, fsync=False)
            except ImageNotFound:
                raise ImageProblem(f"image {image_id} is gone") from None
            except ImageClientError as exc:
                if exc.status is None or exc.status >= 500:
                    raise ImageUnreachable(str(exc)) from exc
                raise ImageProblem(f"image {image_id} could not be read: {exc}") from None
            try:
                found = await disk_format.inspect_image(
                    path, declared_format=declared_format, timeout=self.inspect_timeout,
                    memory_mb=self.inspect_memory_mb)
            except disk_format.UnsafeDiskImage as exc:
                raise ImageProblem(f"image {image_id} was refused: {exc}") from None
            except disk_format.InspectorMissing:
                raise ImageProblem("qemu-img and prlimit must be installed on the volume "
                                   "host to copy images") from None
            yield path, found
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def upload(self, image_id: str, path: Path) -> None:
        try:
            await self.client.upload(image_id, path)
        except ImageClientError as exc:
            if exc.status is None or exc.status >= 500:
                raise ImageUnreachable(str(exc)) from exc
            raise ImageProblem(f"the image service refused the upload: {exc}") from None

    async def is_active(self, image_id: str) -> bool | None:
        """Whether the image has its data already (an upload finished before a kill);
        None when it is gone."""
        try:
            return (await self.client.get(image_id)).status == "active"
        except ImageNotFound:
            return None
        except ImageClientError as exc:
            raise ImageUnreachable(str(exc)) from exc

    def scratch(self, name: str) -> Path:
        return self.work_dir / f"{name}-{uuid.uuid4().hex[:8]}"
