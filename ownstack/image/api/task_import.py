"""The ``import`` task: a new image, filled from ``import_from``.

Glance's legacy import flow, in one coroutine the image service runs in the background
after the ``201``: the task goes ``processing``, the URI passes the import filter
(:mod:`ownstack.image.import_source`: a host the operator did not list is refused before
anything is resolved), the image is created from ``image_properties`` in the task
owner's project, its data is fetched, inspected and stored as an upload's is
(:mod:`ownstack.image.ingest`), and the task ends ``success`` with ``result.image_id``.

Any failure ends the task in ``failure`` with the reason as its ``message`` and removes
the image it made, never leaving a task ``processing``: the download has timeouts, and
the whole import at most ``image.import_timeout`` seconds. A task the service was
running when it stopped is failed at the next start (:func:`fail_interrupted`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ownstack.common.errors import OwnstackError
from ownstack.image import store
from ownstack.image.api.image_requests import parse_create
from ownstack.image.import_source import ImportFilter, SourceRefused, open_source
from ownstack.image.ingest import ingest
from ownstack.image.objects import images, tasks
from ownstack.image.objects.models import Image, ImageTask
from ownstack.image.state import ImageState

log = logging.getLogger(__name__)


async def run_task(svc: ImageState, task_id: str) -> None:
    async with svc.write() as db:
        if not await tasks.start(db, task_id):
            return
        task = await tasks.get(db, task_id)
    if task is None:
        return
    image: Image | None = None
    try:
        async with asyncio.timeout(svc.config.image.import_timeout):
            image = await _create_image(svc, task)
            await _fill(svc, task, image)
    except TimeoutError:
        await _fail(svc, task, image, f"The import did not finish within "
                                      f"{svc.config.image.import_timeout} seconds.")
    except (SourceRefused, OwnstackError) as exc:
        await _fail(svc, task, image, str(exc.message if isinstance(exc, OwnstackError)
                                          else exc))
    except asyncio.CancelledError:
        await asyncio.shield(_fail(svc, task, image, "The image service stopped during "
                                                     "the import."))
        raise
    except Exception as exc:
        log.exception("import task %s failed", task.id)
        await _fail(svc, task, image, f"The import failed: {exc}")
    else:
        async with svc.write() as db:
            await tasks.finish(db, task.id, status="success", result={"image_id": image.id},
                               ttl_hours=svc.config.image.task_time_to_live)


async def _create_image(svc: ImageState, task: ImageTask) -> Image:
    rules = ImportFilter.from_config(svc.config.image)
    rules.check_uri(str(task.input["import_from"]))   # before anything is made or resolved
    new = parse_create(dict(task.input["image_properties"]))
    async with svc.write() as db:
        image = await images.create_image(db, svc.config, image_id=new.image_id,
                                          owner=task.owner, core=new.core,
                                          properties=new.properties, tags=new.tags)
        await tasks.record_image(db, task.id, image.id)
    return image


async def _fill(svc: ImageState, task: ImageTask, image: Image) -> None:
    rules = ImportFilter.from_config(svc.config.image)
    async with open_source(rules, str(task.input["import_from"])) as (length, chunks):
        await ingest(svc, image, chunks, expected_size=length)


async def _fail(svc: ImageState, task: ImageTask, image: Image | None, message: str) -> None:
    result: dict[str, Any] | None = None
    async with svc.write() as db:
        if image is not None:
            row = await db.get(Image, image.id)
            if row is not None:
                row.protected = False       # the task's own image, never made whole
                await images.delete_image(db, row)
        await tasks.finish(db, task.id, status="failure", result=result, message=message,
                           ttl_hours=svc.config.image.task_time_to_live)
    if image is not None:
        await store.delete_image_file(svc, image.id)

