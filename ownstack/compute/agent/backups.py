"""The rotation of a server's backups (``createBackup``), once the new one is uploaded."""

from __future__ import annotations

import logging
from typing import Final

from ownstack.common.clients.image import ImageClient, ImageClientError

log = logging.getLogger(__name__)

# How many backups of one server and type a rotation reads at most.
MAX_BACKUPS: Final = 1000


async def rotate_backups(images: ImageClient, uuid: str, backup_type: str,
                         rotation: int) -> None:
    """Nova's ``_rotate_backups``: of the server's backups of ``backup_type``, newest
    first, the ones beyond ``rotation`` are deleted (the new one counts). A deletion that
    fails is logged; the next backup tries again."""
    try:
        backups = await images.list_images(
            {"instance_uuid": uuid, "image_type": "backup", "backup_type": backup_type,
             "sort_key": "created_at", "sort_dir": "desc"}, limit=MAX_BACKUPS)
    except ImageClientError as exc:
        log.warning("instance %s: backups not rotated: %s", uuid, exc)
        return
    for image in backups[rotation:]:
        try:
            await images.delete(image.id)
        except ImageClientError as exc:
            log.warning("instance %s: old backup %s not deleted: %s", uuid, image.id, exc)
