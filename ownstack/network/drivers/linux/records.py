"""The specs the Linux driver last applied, one small JSON file each, so that a restarted
agent knows every wired port's spec and every network's.

The kernel keeps the devices but not what they were made for (a tap's name holds 11
characters of its port's id, nothing of its security groups). So the driver writes a
record *before* it makes a device and removes it *after* the device is gone: a device never
exists without its record, except one somebody else made. A port's record is first written
*pending* and marked done once the port is wired, so that a wiring that failed or was
killed halfway is reported as not attached and done again. A record whose device has gone
is still a record: the driver reports the port as it is (its tap missing) and the agent
wires it again. Files are written whole or not at all (a temporary file, then rename),
and read once, when the driver starts.

Layout, under ``<state_dir>/network/linux/<host>/``: ``networks/<network id>.json`` and
``ports/<port id>.json``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ownstack.network.drivers.base import (
    AddressPair,
    DriverError,
    FixedIp,
    NetworkSpec,
    PortSpec,
)

__all__ = ["Records", "network_from_dict", "port_from_dict"]

log = logging.getLogger(__name__)

PENDING = "pending"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")    # ids become file names


def network_from_dict(data: dict[str, Any]) -> NetworkSpec:
    return NetworkSpec(network_id=str(data["network_id"]),
                       network_type=str(data["network_type"]),
                       segmentation_id=data.get("segmentation_id"),
                       physical_network=data.get("physical_network"),
                       mtu=int(data["mtu"]))


def port_from_dict(data: dict[str, Any]) -> PortSpec:
    return PortSpec(
        port_id=str(data["port_id"]), network=network_from_dict(data["network"]),
        mac_address=str(data["mac_address"]),
        fixed_ips=tuple(FixedIp(**ip) for ip in data.get("fixed_ips", ())),
        admin_state_up=bool(data.get("admin_state_up", True)),
        port_security_enabled=bool(data.get("port_security_enabled", True)),
        security_group_ids=tuple(data.get("security_group_ids", ())),
        allowed_address_pairs=tuple(AddressPair(**pair)
                                    for pair in data.get("allowed_address_pairs", ())),
        device_owner=str(data.get("device_owner", "")),
        device_id=str(data.get("device_id", "")))


class Records:
    """The records of one host's driver, read from disk once (:meth:`load`, at
    ``init_host``) and kept in memory: only this driver writes them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.networks_dir = directory / "networks"
        self.ports_dir = directory / "ports"
        self._networks: dict[str, NetworkSpec] | None = None
        self._ports: dict[str, PortSpec] = {}
        self._pending: set[str] = set()

    def load(self) -> None:
        """Read every record (blocking: run it in a thread)."""
        for path in (self.networks_dir, self.ports_dir):
            path.mkdir(parents=True, exist_ok=True)
        ports = self._load_all(self.ports_dir, lambda data: (port_from_dict(data), data))
        self._ports = {spec.port_id: spec for spec, _ in ports}
        self._pending = {spec.port_id for spec, data in ports if data.get(PENDING)}
        self._networks = {spec.network_id: spec for spec in
                          self._load_all(self.networks_dir, network_from_dict)}

    def _loaded(self) -> dict[str, NetworkSpec]:
        if self._networks is None:
            raise DriverError("the Linux network driver has not been started (init_host)")
        return self._networks

    # -- networks ------------------------------------------------------------------------

    def networks(self) -> dict[str, NetworkSpec]:
        return dict(self._loaded())

    def save_network(self, spec: NetworkSpec) -> None:
        """Blocking: run it in a thread."""
        self._write(self._file(self.networks_dir, spec.network_id), asdict(spec))
        self._loaded()[spec.network_id] = spec

    def forget_network(self, network_id: str) -> None:
        """Blocking: run it in a thread."""
        self._file(self.networks_dir, network_id).unlink(missing_ok=True)
        self._loaded().pop(network_id, None)

    # -- ports ---------------------------------------------------------------------------

    def ports(self) -> dict[str, PortSpec]:
        self._loaded()
        return dict(self._ports)

    def port(self, port_id: str) -> PortSpec | None:
        self._loaded()
        return self._ports.get(port_id)

    def pending(self, port_id: str) -> bool:
        """Whether the port's record was written for a wiring that has not finished (it
        failed, or the agent was killed in it): its devices may be half made."""
        return port_id in self._pending

    def save_port(self, spec: PortSpec, *, pending: bool = False) -> None:
        """Blocking: run it in a thread."""
        self._write(self._file(self.ports_dir, spec.port_id),
                    {**asdict(spec), PENDING: True} if pending else asdict(spec))
        self._loaded()
        self._ports[spec.port_id] = spec
        if pending:
            self._pending.add(spec.port_id)
        else:
            self._pending.discard(spec.port_id)

    def forget_port(self, port_id: str) -> None:
        """Blocking: run it in a thread."""
        self._file(self.ports_dir, port_id).unlink(missing_ok=True)
        self._loaded()
        self._ports.pop(port_id, None)
        self._pending.discard(port_id)

    # -- files ---------------------------------------------------------------------------

    @staticmethod
    def _file(directory: Path, item_id: str) -> Path:
        if not _ID.fullmatch(item_id):
            raise DriverError(f"{item_id!r} is not an id the driver can keep a record of")
        return directory / f"{item_id}.json"

    @staticmethod
    def _write(path: Path, data: dict[str, Any]) -> None:
        # No fsync: the records must survive the agent's death, which rename makes atomic;
        # a host that loses power loses its taps and bridges too.
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(data, sort_keys=True))
        os.replace(temporary, path)

    def _load_all(self, directory: Path, parse: Any) -> list[Any]:
        loaded = (self._load(path, parse) for path in sorted(directory.glob("*.json")))
        return [item for item in loaded if item is not None]

    @staticmethod
    def _load(path: Path, parse: Any) -> Any:
        """The record in ``path``; ``None`` (logged) for one that cannot be read, which
        then counts as absent: its device, if any, is reported as unrecorded."""
        try:
            return parse(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the unreadable network driver record %s: %s", path, exc)
            return None
