"""Making bytes an image's data: ``queued -> saving -> active``, or back to ``queued``.

Both ways in share it: an upload (``PUT /v2/images/{id}/file``) and an import task. The
bytes stream to a temporary file (never held in memory whole), are hashed on the way,
inspected by qemu-img (:mod:`ownstack.image.inspect`), and only then made the image's
data, in the same transaction that makes it ``active``. Whatever goes wrong leaves the
image ``queued`` with no file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ownstack.image import store
from ownstack.image.inspect import InspectResult, inspect_image
from ownstack.image.objects import uploads
from ownstack.image.objects.models import Image
from ownstack.image.state import ImageState

MIB = 1024 * 1024


async def ingest(svc: ImageState, image: Image, chunks: AsyncIterator[bytes], *,
                 expected_size: int | None, expected_md5: str | None = None,
                 expected_sha256: str | None = None) -> None:
    """Take ``saving``, store ``chunks`` as the image's data and make it ``active``; put
    the image back to ``queued`` on any failure (and re-raise it)."""
    async with svc.write() as db:
        await uploads.start_saving(db, image.id)
    try:
        await _save(svc, image, chunks, expected_size, expected_md5, expected_sha256)
    except BaseException:
        async with svc.write() as db:
            await uploads.requeue(db, image.id)
        raise


async def _save(svc: ImageState, image: Image, chunks: AsyncIterator[bytes],
                expected_size: int | None, expected_md5: str | None,
                expected_sha256: str | None) -> None:
    config = svc.config.image
    stored = await store.write_image_data(
        svc, image.id, chunks, expected_size=expected_size, expected_md5=expected_md5,
        expected_sha256=expected_sha256, max_size=config.max_image_size_mb * MIB)
    try:
        found = await inspect_image(stored.path, declared_format=str(image.disk_format),
                                    timeout=config.inspect_timeout,
                                    memory_mb=config.inspect_memory_mb)
        await _activate(svc, image, stored, found)
    except BaseException:
        await store.discard(stored.path)
        raise


async def _activate(svc: ImageState, image: Image, stored: store.StoredData,
                    found: InspectResult) -> None:
    """Record the data and make the image active, in one transaction with the rename."""
    renamed = False
    try:
        async with svc.write() as db:
            await uploads.finish_saving(db, svc.config, image, size=stored.size,
                                        md5=stored.md5, os_hash_value=stored.sha512,
                                        virtual_size=found.virtual_size,
                                        detected_format=found.format)
            await store.commit(stored.path, image.id)
            renamed = True
    except BaseException:
        if renamed:     # the database did not commit: the file must not outlive it
            await store.delete_image_file(svc, image.id)
        raise
