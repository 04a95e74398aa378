"""The QEMU compute driver (``compute.driver = "qemu"``, the default).

* :mod:`.driver`: the :class:`~ownstack.compute.drivers.base.ComputeDriver` itself, the
  outline that calls the modules below;
* :mod:`.process`: a guest's files, its recipe, and its QEMU process;
* :mod:`.spawn`: the base, the overlay and the recipe of a new guest;
* :mod:`.monitor`: a running guest's QMP connection and its events;
* :mod:`.observe`: a guest's power state and details, read from the host;
* :mod:`.suspend`, :mod:`.rescue`, :mod:`.resize`: the work behind those actions;
* :mod:`.hotplug`: plugging and unplugging NICs (:mod:`.nics`) and volumes
  (:mod:`.volumes`);
* :mod:`.consoles`: the console log and the console sockets;
* :mod:`.images`: bases, overlays and snapshots with ``qemu-img``;
* :mod:`.configdrive`: the ISO9660 config drive;
* :mod:`.host`: the KVM probe and the host's real resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownstack.compute.drivers.base import ComputeDriver

__all__ = ["from_config"]


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> ComputeDriver:
    """The agent's factory; see :func:`ownstack.compute.drivers.qemu.driver.from_config`."""
    from ownstack.compute.drivers.qemu import driver

    return driver.from_config(host, state_dir, options)
