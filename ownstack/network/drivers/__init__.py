"""Network drivers, by config name (``network.driver``).

A driver module exposes a :class:`~ownstack.network.drivers.base.DriverFactory`:
``factory(host, state_dir, options) -> NetworkDriver``. Adding a driver is one line in
:data:`DRIVERS`; modules are imported only when chosen. Today there is the ``fake``
(in memory) and ``linux`` (:mod:`ownstack.network.drivers.linux`: bridges, taps and VXLAN
devices through pyroute2), which pass the same contract tests.
"""

from __future__ import annotations

import importlib
from typing import cast

from ownstack.network.drivers.base import DriverFactory, NetworkDriver

__all__ = ["DRIVERS", "DriverFactory", "NetworkDriver", "driver_factory"]

DRIVERS: dict[str, str] = {
    "fake": "ownstack.network.drivers.fake:from_config",
    "linux": "ownstack.network.drivers.linux:from_config",
}


def driver_factory(name: str) -> DriverFactory:
    """The factory of the driver called ``name``; :class:`ValueError` for an unknown name."""
    try:
        target = DRIVERS[name]
    except KeyError:
        raise ValueError(
            f"unknown network driver {name!r}; known: {', '.join(sorted(DRIVERS))}") from None
    module_name, _, attr = target.partition(":")
    return cast(DriverFactory, getattr(importlib.import_module(module_name), attr))
