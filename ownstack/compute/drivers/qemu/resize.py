"""Resize of a QEMU guest on its host: the files behind :meth:`QemuDriver.resize`,
``confirm_resize`` and ``revert_resize``.

The kept disk is ``disk.pre-resize.qcow2`` beside ``disk.qcow2``: a copy of the overlay as
it was (the base it is backed by is shared and never written), made once, through a
temporary name, so an agent killed while copying leaves no half copy that a later call
would take for the pre-resize disk. The size lives in the recipe's command line (``-m``
and ``-smp``), so the next start, and any adopting agent, uses it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from ownstack.compute.drivers.base import GuestSize
from ownstack.compute.drivers.qemu.images import GIB, QemuImg
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe


def kept_disk(files: GuestFiles) -> Path:
    return files.directory / "disk.pre-resize.qcow2"


def sized_argv(argv: list[str], size: GuestSize) -> list[str]:
    """The command line with ``size``'s memory (``-m``) and vCPUs (``-smp``)."""
    out = list(argv)
    for flag, value in (("-m", f"{size.memory_mb}M"), ("-smp", str(size.vcpus))):
        index = out.index(flag)
        out[index + 1] = value
    return out


def _keep(disk: Path, kept: Path) -> None:
    if kept.exists():
        return
    tmp = kept.with_name(f".{kept.name}.tmp")
    shutil.copyfile(disk, tmp)
    os.replace(tmp, kept)


async def apply(files: GuestFiles, recipe: Recipe, images: QemuImg, size: GuestSize) -> None:
    """Keep the disk (once), grow it to ``size.root_gb``, write the new size into the
    recipe. The guest must be stopped."""
    await asyncio.to_thread(_keep, files.disk, kept_disk(files))
    if size.root_gb > 0:
        info = await images.info(files.disk, "qcow2", force_share=False)
        if int(info.get("virtual-size") or 0) < size.root_gb * GIB:
            await images.run("resize", "-q", "-f", "qcow2", str(files.disk),
                             str(size.root_gb * GIB), timeout=60)
    recipe.argv = sized_argv(recipe.argv, size)
    await asyncio.to_thread(recipe.save, files.recipe)


async def revert(files: GuestFiles, recipe: Recipe, size: GuestSize) -> None:
    """The kept disk back as the root disk (if still kept), ``size`` into the recipe.
    The guest must be stopped."""
    kept = kept_disk(files)
    if await asyncio.to_thread(kept.exists):
        await asyncio.to_thread(os.replace, kept, files.disk)
    recipe.argv = sized_argv(recipe.argv, size)
    await asyncio.to_thread(recipe.save, files.recipe)


async def confirm(files: GuestFiles) -> None:
    await asyncio.to_thread(kept_disk(files).unlink, missing_ok=True)
