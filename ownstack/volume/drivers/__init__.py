"""Volume drivers, by config name (``volume.driver``).

A driver module exposes a :class:`~ownstack.volume.drivers.base.DriverFactory`:
``factory(host, state_dir, options) -> VolumeDriver``. Adding a driver is one line in
:data:`DRIVERS`; modules are imported only when chosen. Today there is ``file`` (qcow2
or raw files made and copied with qemu-img, :mod:`ownstack.volume.drivers.file`) and
``fake`` (in memory), which pass the same contract tests.
"""

from __future__ import annotations

import importlib
from typing import cast

from ownstack.volume.drivers.base import DriverFactory, VolumeDriver

__all__ = ["DRIVERS", "DriverFactory", "VolumeDriver", "driver_factory"]

DRIVERS: dict[str, str] = {
    "fake": "ownstack.volume.drivers.fake:from_config",
    "file": "ownstack.volume.drivers.file:from_config",
}


def driver_factory(name: str) -> DriverFactory:
    """The factory of the driver called ``name``; :class:`ValueError` for an unknown name."""
    try:
        target = DRIVERS[name]
    except KeyError:
        raise ValueError(
            f"unknown volume driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    module_name, _, attr = target.partition(":")
    return cast(DriverFactory, getattr(importlib.import_module(module_name), attr))
