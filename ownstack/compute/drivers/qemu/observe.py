"""What the host shows of a QEMU guest: its files and its process, read afresh each time.

Power state is read from the process table and QMP, never remembered: a recipe not yet
``spawned`` is ``NOSTATE``, a live QEMU of the guest ``RUNNING`` (``PAUSED`` while QMP says
its vCPUs are stopped), a guest whose QEMU is gone ``SUSPENDED`` beside a complete
``memory.state`` and ``SHUTDOWN`` otherwise (as Nova reports a killed QEMU). Reading the
host blocks: :func:`look` runs in a worker thread.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from ownstack.compute.drivers.base import ConsoleKind, GuestInfo
from ownstack.compute.drivers.qemu import consoles as qemu_consoles
from ownstack.compute.drivers.qemu import nics as qemu_nics
from ownstack.compute.drivers.qemu import process as proc
from ownstack.compute.drivers.qemu import volumes as qemu_volumes
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe
from ownstack.compute.states import PowerState


@dataclass(frozen=True)
class HostView:
    """What the host's files and process table show of one guest."""

    recipe: Recipe | None          # None: not written yet, or half-written by a crash
    pid: int | None
    alive: bool                    # pid is a live QEMU of this guest
    saved: bool = False            # a complete memory.state: suspended once QEMU is gone
    rescue_image: str | None = None     # the image of the rescue boot, if rescued


def look(files: GuestFiles) -> HostView | None:
    """What the host shows of the guest; ``None`` if it has no files. Blocking."""
    if not files.directory.is_dir():
        return None
    pid = proc.read_pid(files)
    rescue = Recipe.load(files.rescue_recipe)
    return HostView(Recipe.load(files.recipe), pid, proc.pid_alive(pid, files.uuid),
                    files.memory.exists(), rescue.image_id if rescue else None)


def power_state(view: HostView | None, *, paused: bool) -> PowerState | None:
    """The guest's power state from what the host shows (``paused``: QMP says its vCPUs
    are stopped); ``None`` for a guest with no files."""
    if view is None:
        return None
    if view.recipe is None or not view.recipe.spawned:
        return PowerState.NOSTATE
    if view.alive:
        return PowerState.PAUSED if paused else PowerState.RUNNING
    return PowerState.SUSPENDED if view.saved else PowerState.SHUTDOWN


def guest_info(host: str, files: GuestFiles, state: PowerState, view: HostView) -> GuestInfo:
    """The guest as the driver reports it, with the real objects behind it in
    ``details`` (for ``ownstack show``)."""
    recipe = view.recipe
    details: dict[str, Any] = {
        "driver": "qemu", "host": host, "instance_dir": str(files.directory),
        "pid": view.pid if view.alive else None,
        "qmp_socket": str(files.qmp) if view.alive else None,
        "vnc_socket": (qemu_consoles.socket_path(files, ConsoleKind.VNC, recipe)
                       if view.alive else None),
        "serial_socket": (qemu_consoles.socket_path(files, ConsoleKind.SERIAL, recipe)
                          if view.alive else None),
        "console_log": str(files.console), "disk": str(files.disk),
        "rescue_image_id": view.rescue_image,
    }
    if recipe is not None:
        details |= {
            "accel": recipe.accel, "backing_file": recipe.base, "image_id": recipe.image_id,
            "config_drive": str(files.config_drive) if recipe.config_drive else None,
            "taps": list(recipe.taps), "command_line": shlex.join(recipe.argv),
            "qmp_devices": [{"execute": cmd, "arguments": args}
                            for cmd, args in recipe.devices],
        }
        details["volumes"] = qemu_volumes.describe(recipe.devices)
    return GuestInfo(files.uuid, state, details,
                     nics=tuple(qemu_nics.in_recipe(recipe)) if recipe is not None else None,
                     volumes=tuple(qemu_volumes.in_recipe(recipe.devices))
                     if recipe is not None else None)
