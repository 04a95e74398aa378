"""The Linux network driver (``network.driver = "linux"``): the host's data path made of
real kernel objects, driven through pyroute2.

* :mod:`.driver`: the :class:`~ownstack.network.drivers.base.NetworkDriver` itself, its
  state records and the seam where a port firewall plugs in;
* :mod:`.l2`: bridges, taps and VXLAN devices, as netlink calls;
* :mod:`.namespace`: "the host": the network namespace the driver works in (the real one
  by default, one a test made in tests), and a thread that lives in it;
* :mod:`.records`: the specs the driver last applied, one small JSON file each;
* :mod:`.l3`: routers (a namespace each, veth legs, nftables NAT);
* :mod:`.host`: the external bridge, its unreachable route and the forward guard;
* :mod:`.run`: the programs the data path runs (``nft``, ``sysctl``);
* :mod:`.firewall`: security groups and anti-spoofing, in nftables;
* :mod:`.metadata_proxy`: starting the metadata proxy in a DHCP or router namespace.

Nothing here is imported until the driver is chosen, so the package imports without root
and without pyroute2's netlink sockets.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownstack.network.drivers.base import NetworkDriver

__all__ = ["from_config"]


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> NetworkDriver:
    """The agent's factory; see :func:`ownstack.network.drivers.linux.driver.from_config`."""
    from ownstack.network.drivers.linux import driver

    return driver.from_config(host, state_dir, options)
