"""Placement's stable error codes, its domain errors, and its error body.

Placement answers every error as the API-WG guideline describes::

    {"errors": [{"status": 409, "title": "Conflict", "detail": "...",
                 "code": "placement.concurrent_update", "request_id": "req-..."}]}

``code`` appears from microversion 1.23; a 406 for an unsupported microversion also names
the ``min_version`` and ``max_version``. The code strings are Placement's own
(``placement/errors.py``): never rename or reuse one, clients key on them.
"""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import STANDARD_HEADER, Version, at_least
from ownstack.common.errors import BadRequest, Conflict, NotAcceptable, NotFound, OwnstackError

DEFAULT: Final = "placement.undefined_code"
INVENTORY_INUSE: Final = "placement.inventory.inuse"
CONCURRENT_UPDATE: Final = "placement.concurrent_update"
DUPLICATE_NAME: Final = "placement.duplicate_name"
PROVIDER_IN_USE: Final = "placement.resource_provider.inuse"
PROVIDER_CANNOT_DELETE_PARENT: Final = "placement.resource_provider.cannot_delete_parent"
RESOURCE_PROVIDER_NOT_FOUND: Final = "placement.resource_provider.not_found"
ILLEGAL_DUPLICATE_QUERYPARAM: Final = "placement.query.duplicate_key"
QUERYPARAM_BAD_VALUE: Final = "placement.query.bad_value"
QUERYPARAM_MISSING_VALUE: Final = "placement.query.missing_value"

# Every code above, for the test that keeps them documented and unchanged.
ALL_CODES: Final = (DEFAULT, INVENTORY_INUSE, CONCURRENT_UPDATE, DUPLICATE_NAME,
                    PROVIDER_IN_USE, PROVIDER_CANNOT_DELETE_PARENT,
                    RESOURCE_PROVIDER_NOT_FOUND, ILLEGAL_DUPLICATE_QUERYPARAM,
                    QUERYPARAM_BAD_VALUE, QUERYPARAM_MISSING_VALUE)

ERROR_CODE_VERSION: Final = "1.23"


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    error: dict[str, Any] = {"status": exc.status, "title": exc.title, "detail": exc.message}
    version = _negotiated(exc)
    # Before 1.23 Placement sent no code. An error raised before negotiation (an unknown URL,
    # a missing token) carries no version; it gets the code, which old clients ignore.
    if version is None or at_least(version, ERROR_CODE_VERSION):
        error["code"] = exc.code if exc.code.startswith("placement.") else DEFAULT
    error["request_id"] = request_id
    if isinstance(exc, NotAcceptable) and version is None:
        from ownstack.placement.microversions import MICROVERSIONS

        error["min_version"] = str(MICROVERSIONS.min_version)
        error["max_version"] = str(MICROVERSIONS.max_version)
    return {"errors": [error]}, {}


def _negotiated(exc: OwnstackError) -> Version | None:
    """The version the failed request negotiated, from the header the error carries."""
    header = exc.headers.get(STANDARD_HEADER, "")
    words = header.split()
    if len(words) != 2:
        return None
    try:
        return Version.parse(words[1])
    except ValueError:
        return None


class ConcurrentUpdate(Conflict):
    """A generation compare-and-swap lost a race, or the caller's generation is stale."""

    code = CONCURRENT_UPDATE
    message = "Another request changed the resource at the same time; retry."


class DuplicateName(Conflict):
    code = DUPLICATE_NAME


class InventoryInUse(Conflict):
    code = INVENTORY_INUSE


class ProviderInUse(Conflict):
    code = PROVIDER_IN_USE


class CannotDeleteParent(Conflict):
    code = PROVIDER_CANNOT_DELETE_PARENT


class ProviderNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"No resource provider with uuid {uuid} found")


class BadQueryValue(BadRequest):
    code = QUERYPARAM_BAD_VALUE


class MissingQueryValue(BadRequest):
    code = QUERYPARAM_MISSING_VALUE


class DuplicateQueryKey(BadRequest):
    code = ILLEGAL_DUPLICATE_QUERYPARAM


class ResourceClassNotFound(NotFound):
    def __init__(self, names: str) -> None:
        super().__init__(f"No such resource class {names}.")


class TraitNotFound(NotFound):
    def __init__(self, names: str) -> None:
        super().__init__(f"No such trait(s): {names}.")
