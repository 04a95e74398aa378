"""``/servers/{server_id}/os-server-password``: the password the guest posted.

A guest (cloud-init, cloudbase-init) encrypts the password it generated with the server's
public key and posts it once to the metadata service's ``password`` path; the owner reads
it here and decrypts it with the private key (``nova get-password``). ``GET`` answers
``{"password": ...}``, the empty string when the guest posted none, as Nova; ``DELETE``
clears it (204), so the guest may post a new one, and works in any state, as Nova's.
Policies are Nova's: ``os_compute_api:os-server-password:show`` (a reader's) and
``:clear`` (a member's).
"""

from __future__ import annotations

from typing import Final

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.compute.api.server_common import load_server
from ownstack.compute.errors import ServerNotFound
from ownstack.compute.objects import guest_metadata
from ownstack.compute.state import Req

_RULE: Final = "os_compute_api:os-server-password:"


async def show_password(req: Req) -> Response:
    async with req.svc.read() as db:
        instance = await load_server(req, db, _RULE + "show")
        return json_response({"password": instance.password or ""})


async def clear_password(req: Req) -> Response:
    async with req.svc.write() as db:
        instance = await load_server(req, db, _RULE + "clear")
        if not await guest_metadata.clear_password(db, instance.uuid):
            raise ServerNotFound(instance.uuid)     # deleted since it was read
    return empty_response(204)
