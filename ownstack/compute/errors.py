"""Compute's error body, as Nova's ``wsgi.Fault`` writes it, and its domain errors.

Nova names the body's one key after the status::

    {"itemNotFound": {"code": 404, "message": "Flavor m1.huge could not be found."}}

A status Nova has no name for (406 among them) is a ``computeFault``. A 401 comes from
keystonemiddleware in front of Nova, so it has that middleware's shape instead.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.errors import BadRequest, Conflict, NotFound, OwnstackError

FAULT_NAMES: Final = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}
DEFAULT_FAULT: Final = "computeFault"


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    headers = {"x-compute-request-id": request_id}
    if exc.status == 401:
        return {"error": {"code": 401, "title": "Unauthorized", "message": exc.message}}, headers
    name = FAULT_NAMES.get(exc.status, DEFAULT_FAULT)
    return {name: {"code": exc.status, "message": exc.message}}, headers


class FlavorNotFound(NotFound):
    def __init__(self, flavor_id: str) -> None:
        super().__init__(f"Flavor {flavor_id} could not be found.")


class FlavorExists(Conflict):
    code = "compute.flavor_exists"


class FlavorAccessExists(Conflict):
    code = "compute.flavor_access_exists"


class ExtraSpecNotFound(NotFound):
    def __init__(self, flavor_id: str, key: str) -> None:
        super().__init__(f"Flavor {flavor_id} has no extra specs with key {key}.")


class KeypairNotFound(NotFound):
    def __init__(self, name: str, user_id: str) -> None:
        super().__init__(f"Keypair {name} not found for user {user_id}")


class KeypairExists(Conflict):
    code = "compute.keypair_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"Key pair '{name}' already exists.")


class InvalidKeypair(BadRequest):
    code = "compute.invalid_keypair"

    def __init__(self, reason: str) -> None:
        super().__init__(f"Keypair data is invalid: {reason}")


class ConcurrentUpdate(Conflict):
    code = "compute.concurrent_update"
    message = "Another request changed the same server at the same time; retry."


class ServerNotFound(NotFound):
    code = "compute.server_not_found"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} could not be found.")


class InstanceInvalidState(Conflict):
    """Nova's ``InstanceInvalidState``: the action does not fit the server's state."""

    code = "compute.instance_invalid_state"

    def __init__(self, action: str, server_id: str, attr: str, state: str | None) -> None:
        super().__init__(f"Cannot '{action}' instance {server_id} while it is in "
                         f"{attr} {state}")


class InstanceLocked(Conflict):
    code = "compute.instance_locked"

    def __init__(self, server_id: str) -> None:
        super().__init__(f"Instance {server_id} is locked")
