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

from typing import Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.bus import BusError, BusTimeout, RemoteError
from ownstack.compute import rpc
from ownstack.compute.api.common import at_least, version_of
from ownstack.compute.api.server_common import load_server, require_host
from ownstack.compute.api.views.server_diagnostics import standard
from ownstack.compute.errors import InstanceInvalidState, InstanceNotReady
from ownstack.compute.state import Req

RULE: Final = "os_compute_api:os-server-diagnostics"
DESCRIBE_TIMEOUT: Final = 30.0


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
        return json_response(standard(instance, details))
    return json_response(details)

