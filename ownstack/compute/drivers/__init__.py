"""Compute drivers, by config name.

A driver module exposes a :data:`~ownstack.compute.drivers.base.DriverFactory`:
``factory(host, state_dir, options) -> ComputeDriver``. Adding a driver is one line in
:data:`DRIVERS`; modules are imported only when chosen, so the fake costs nothing to a QEMU
host and the reverse.
"""

from __future__ import annotations

import importlib
from typing import cast

from ownstack.compute.drivers.base import ComputeDriver, DriverFactory

__all__ = ["DRIVERS", "ComputeDriver", "DriverFactory", "driver_factory"]

DRIVERS: dict[str, str] = {
    "fake": "ownstack.compute.drivers.fake:from_config",
    "qemu": "ownstack.compute.drivers.qemu:from_config",
}


def driver_factory(name: str) -> DriverFactory:
    """The factory of the driver called ``name``; :class:`ValueError` for an unknown name."""
    try:
        target = DRIVERS[name]
    except KeyError:
        raise ValueError(
            f"unknown compute driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    module_name, _, attr = target.partition(":")
    return cast(DriverFactory, getattr(importlib.import_module(module_name), attr))
