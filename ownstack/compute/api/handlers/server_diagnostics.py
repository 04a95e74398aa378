"""``GET /servers/{server_id}/diagnostics``: what the hypervisor shows behind a server.

Admin only, as in Nova (``os_compute_api:os-server-diagnostics``). The server's compute
agent is asked over the bus (``describe_instance``) for the driver's view of the guest.

* Below 2.48 the body is free-form in Nova (each driver its own keys). ownstack's is the
  driver's host-side objects: for QEMU the pid, the full command line, the QMP socket, the
  devices added over QMP, the overlay and its backing file, the config drive, the console
  log and the taps, plus ``power_state``. This is what ``ownstack show server`` prints.
* From 2.48 the body is Nova's standard one. ownstack fills what it knows (state, driver,
  hypervisor, CPUs, memory size, disk and NIC counts, config drive) and sends ``null`` or
  empty lists for the usage counters it does not collect yet (uptime, CPU time, I/O).
  ``driver`` is ownstack's driver name (``qemu``, ``fake``), not one of Nova's.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.bus import BusError, BusTimeout, RemoteError
from ownstack.compute import rpc
from ownstack.compute.api.common import at_least, version_of
from ownstack.compute.api.handlers.server_actions import load_server, require_host
from ownstack.compute.errors import InstanceInvalidState, InstanceNotReady
from ownstack.compute.objects.models import Instance
from ownstack.compute.state import Req

RULE: Final = "os_compute_api:os-server-diagnostics"
DESCRIBE_TIMEOUT: Final = 30.0
# Nova's power_state numbers -> the standard diagnostics' state names.
_STATES: Final = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                  7: "suspended"}


async def show_diagnostics(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, RULE)
    host = require_host(instance, "get_diagnostics")
    try:
        reply = await req.svc.bus.call(rpc.compute_topic(host), "describe_instance",
                                       {"uuid": instance.uuid}, timeout=DESCRIBE_TIMEOUT)
    except BusTimeout:
        raise InstanceNotReady(instance.uuid) from None
    except RemoteError as exc:
        raise InstanceInvalidState("get_diagnostics", instance.uuid, "host",
                                   exc.message) from None
    except BusError:
        raise InstanceNotReady(instance.uuid) from None
    details = reply.get("details") if isinstance(reply, dict) else None
    if not isinstance(details, dict):
        raise InstanceNotReady(instance.uuid)
    if at_least(version_of(req), "2.48"):
        return json_response(_standard(instance, details))
    return json_response(details)


def _standard(instance: Instance, details: dict[str, Any]) -> dict[str, Any]:
    disks = 1 + (1 if details.get("config_drive") else 0)
    taps = details.get("taps") or []
    accel = details.get("accel")
    return {
        "state": _STATES.get(int(details.get("power_state", 0)), "pending"),
        "driver": details.get("driver"),
        "hypervisor": {"kvm": "kvm", "tcg": "qemu"}.get(str(accel), accel),
        "hypervisor_os": "linux",
        "uptime": None,
        "config_drive": bool(details.get("config_drive")),
        "num_cpus": instance.vcpus,
        "num_disks": disks,
        "num_nics": len(taps),
        "memory_details": {"maximum": instance.memory_mb, "used": None},
        "cpu_details": [],
        "disk_details": [],
        "nic_details": [{"mac_address": None, "rx_octets": None, "rx_errors": None,
                         "rx_drop": None, "rx_packets": None, "rx_rate": None,
                         "tx_octets": None, "tx_errors": None, "tx_drop": None,
                         "tx_packets": None, "tx_rate": None} for _ in taps],
    }
