"""Rescue of a QEMU guest on its host: the files behind :meth:`QemuDriver.rescue` and
``unrescue``.

A rescued guest has ``rescue.qcow2``, an overlay on the rescue image's base, and
``rescue.json``, its recipe with the rescue disk first (boot index 0, so the guest sees it
as its first disk) and the guest's own root disk second (boot index 1). The recipe is the
mark of a rescued guest: written last when rescuing, removed first when unrescuing.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import ImageRef
from ownstack.compute.drivers.qemu.images import BaseImage, QemuImg
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe


async def prepare(files: GuestFiles, recipe: Recipe, images: QemuImg, bases: Path,
                  image: ImageRef) -> Recipe:
    """The rescue disk on ``image`` and the rescue recipe, saved; any saved memory and
    earlier rescue are dropped first. The guest's QEMU must be gone."""
    await asyncio.to_thread(files.memory.unlink, missing_ok=True)
    await asyncio.to_thread(remove, files)
    base, _ = await images.base_for(image, bases)
    await images.create_overlay(base, files.rescue_disk, 0, image.id)
    rescue = rescue_recipe(recipe, files, base, image.id)
    await asyncio.to_thread(rescue.save, files.rescue_recipe)
    return rescue


def remove(files: GuestFiles) -> None:
    """The rescue's recipe first (the mark of a rescued guest), then its disk. Blocking."""
    files.rescue_recipe.unlink(missing_ok=True)
    files.rescue_disk.unlink(missing_ok=True)


def rescue_recipe(recipe: Recipe, files: GuestFiles, base: BaseImage, image_id: str
                  ) -> Recipe:
    """``recipe`` booting the rescue disk: added first (so the guest sees it as its first
    disk) with boot index 0, the guest's own root disk moved to boot index 1."""
    devices: list[tuple[str, dict[str, Any]]] = [
        ("blockdev-add", {"node-name": "rescue", "driver": "qcow2",
                          "file": {"driver": "file", "filename": str(files.rescue_disk)}}),
        ("device_add", {"driver": "virtio-blk-pci", "id": "disk-rescue", "drive": "rescue",
                        "bootindex": 0}),
    ]
    for command, arguments in recipe.devices:
        if command == "device_add" and arguments.get("id") == "disk-root":
            arguments = {**arguments, "bootindex": 1}
        devices.append((command, arguments))
    return replace(recipe, devices=devices, image_id=image_id, base=str(base.path),
                   spawned=True)
