"""``GET /volumes/{id}/diagnostics`` (an ownstack extension, admins only, as compute's
server diagnostics and the network's port diagnostics): what the volume's host holds
behind it, as its volume agent describes it (the file, its format, its backing file per
``qemu-img info -U``), for ``ownstack show volume``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.bus import BusError
from ownstack.volume.api.handlers.volumes import load
from ownstack.volume.state import Req


async def show_diagnostics(req: Req) -> Response:
    volume = await load(req, "volume_extension:volume_diagnostics")
    found: dict[str, Any] | None = None
    if volume.host:
        try:
            found = await req.svc.rpc.describe_volume(volume.host, volume.id)
        except BusError as exc:
            found = {"unavailable": f"the volume agent of {volume.host} did not answer: "
                                    f"{exc}"}
    return json_response({"diagnostics": {"host": volume.host, "status": volume.status,
                                          "file": found}})
