"""Nova's volume proxy, deprecated and still called by Tempest and older clients:
``/os-volumes`` and ``/os-snapshots`` (list, detail, show, create, delete) up to
microversion 2.35, a 404 from 2.36 (Nova's ``MAX_PROXY_API_SUPPORT_VERSION``).

Everything goes to the volume service as the caller, as Nova's Cinder wrapper does, so
the volume service decides who sees and changes what: another project's volume or
snapshot is a 404, as one that does not exist. Nova's policy (``os-volumes:*``, the
caller's own project as target) is checked first: a reader reads and never writes. A
list is the caller's own, newest first, with Nova's ``offset`` and ``limit`` (at most
1000, none or 0 meaning 1000), and no links. The volume service's refusals keep their
meaning: its 400s are Nova's ``InvalidInput``, its quota (413) a 403, its failures a
503, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Protocol

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.booleans import bool_from_string
from ownstack.common.clients.volume import VolumeClient, VolumeClientError, VolumeUnavailable
from ownstack.common.errors import BadRequest, Forbidden, NotFound, OwnstackError
from ownstack.compute.api.common import (
    MAX_LIMIT,
    at_least,
    body,
    count_query,
    links,
    version_of,
)
from ownstack.compute.api.schemas import volume_proxies as schemas
from ownstack.compute.api.schemas.parameter_types import MAX_INT
from ownstack.compute.api.views import volume_proxies as views
from ownstack.compute.state import Req
from ownstack.compute.volumes import (
    InvalidInput,
    SnapshotNotFound,
    VolumeNotFound,
    VolumeServiceUnavailable,
)

FIRST_WITHOUT: Final = "2.36"
_RULE: Final = "os_compute_api:os-volumes:"


def _caller(req: Req, rule: str) -> VolumeClient:
    """The caller's volume client, once the microversion and the policy allow the proxy."""
    if at_least(version_of(req), FIRST_WITHOUT):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, _RULE + rule, {"project_id": req.ctx.project_id})
    return req.svc.volume.as_caller(req.ctx.auth_token or "")


def _refused(exc: VolumeClientError, not_found: OwnstackError, *,
             over_quota: str | None = None) -> OwnstackError:
    """What the volume service answered, as Nova's Cinder wrapper translates it
    (``not_found`` for its 404)."""
    if isinstance(exc, VolumeUnavailable):
        return VolumeServiceUnavailable()
    if exc.status == 404:
        return not_found
    if exc.status in (401, 403):
        return Forbidden(exc.message)
    if exc.status == 413:
        return Forbidden(over_quota or exc.message)
    return InvalidInput(exc.message)


class _Lister(Protocol):
    """``VolumeClient.list_volumes`` or ``VolumeClient.list_snapshots``, unbound."""

    def __call__(self, caller: VolumeClient, /, *, limit: int, offset: int
                 ) -> Awaitable[list[dict[str, Any]]]: ...


async def _list(req: Req, rule: str, key: str, fetch: _Lister,
                view: Callable[[Mapping[str, Any]], dict[str, Any]]) -> Response:
    """A list handler of both proxies: a page of the caller's volumes or snapshots, as
    ``fetch`` gets them and ``view`` shows each, under ``key``. Nova's ``limited``:
    ``limit`` (0 or none is the largest page) and ``offset``."""
    caller = _caller(req, rule)
    limit = count_query(req, "limit", MAX_LIMIT, minimum=0) or MAX_LIMIT
    offset = count_query(req, "offset", 0, minimum=0)
    try:
        found = await fetch(caller, limit=limit, offset=offset)
    except VolumeClientError as exc:
        raise _refused(exc, BadRequest(exc.message)) from None
    return json_response({key: [view(item) for item in found]})


# --- os-volumes ---------------------------------------------------------------------------

async def list_volumes(req: Req) -> Response:
    return await _list(req, "list", "volumes", VolumeClient.list_volumes, views.volume)


async def list_volumes_detail(req: Req) -> Response:
    return await _list(req, "detail", "volumes", VolumeClient.list_volumes, views.volume)


async def show_volume(req: Req) -> Response:
    caller = _caller(req, "show")
    volume_id = req.params["volume_id"]
    try:
        found = await caller.get_volume(volume_id)
    except VolumeClientError as exc:
        raise _refused(exc, VolumeNotFound(volume_id)) from None
    return json_response({"volume": views.volume(found)})


async def create_volume(req: Req) -> Response:
    caller = _caller(req, "create")
    wanted: dict[str, Any] = (await body(req, schemas.CREATE_VOLUME))["volume"]
    size = int(wanted["size"])
    if not 1 <= size <= MAX_INT:
        raise BadRequest(f"Invalid input for field/attribute size. Value: {wanted['size']}. "
                         f"The size must be an integer from 1 to {MAX_INT}.")
    snapshot_id = wanted.get("snapshot_id")
    try:
        if snapshot_id is not None:
            await _snapshot(caller, snapshot_id)
        made = await caller.create_volume(
            size, name=wanted.get("display_name"),
            description=wanted.get("display_description"), snapshot_id=snapshot_id,
            volume_type=wanted.get("volume_type"),
            availability_zone=wanted.get("availability_zone"),
            metadata=wanted.get("metadata"))
    except VolumeClientError as exc:
        raise _refused(exc, NotFound(exc.message)) from None
    location = links(req, "os-volumes", str(made["id"]))[0]["href"]
    return json_response({"volume": views.volume(made)}, headers={"Location": location})


async def delete_volume(req: Req) -> Response:
    caller = _caller(req, "delete")
    volume_id = req.params["volume_id"]
    try:
        await caller.delete_volume(volume_id, missing_ok=False)
    except VolumeClientError as exc:
        raise _refused(exc, VolumeNotFound(volume_id)) from None
    return empty_response(202)


# --- os-snapshots -------------------------------------------------------------------------

async def list_snapshots(req: Req) -> Response:
    return await _list(req, "snapshots:list", "snapshots", VolumeClient.list_snapshots,
                       views.snapshot)


async def list_snapshots_detail(req: Req) -> Response:
    return await _list(req, "snapshots:detail", "snapshots", VolumeClient.list_snapshots,
                       views.snapshot)


async def _snapshot(caller: VolumeClient, snapshot_id: str) -> dict[str, Any]:
    try:
        return await caller.get_snapshot(snapshot_id)
    except VolumeClientError as exc:
        raise _refused(exc, SnapshotNotFound(snapshot_id)) from None


async def show_snapshot(req: Req) -> Response:
    caller = _caller(req, "snapshots:show")
    found = await _snapshot(caller, req.params["snapshot_id"])
    return json_response({"snapshot": views.snapshot(found)})


async def create_snapshot(req: Req) -> Response:
    """A snapshot of a volume of the caller's; ``force`` also takes an in-use one. A
    volume the caller cannot see is a 404 (Nova's ``VolumeNotFound``)."""
    caller = _caller(req, "snapshots:create")
    wanted: dict[str, Any] = (await body(req, schemas.CREATE_SNAPSHOT))["snapshot"]
    volume_id = str(wanted["volume_id"])
    try:
        made = await caller.create_snapshot(
            volume_id, name=wanted.get("display_name"),
            description=wanted.get("display_description"),
            force=bool_from_string(wanted.get("force", False)))
    except VolumeClientError as exc:
        raise _refused(exc, VolumeNotFound(volume_id),
                       over_quota="Quota exceeded for resources: snapshots") from None
    return json_response({"snapshot": views.snapshot(made)})


async def delete_snapshot(req: Req) -> Response:
    caller = _caller(req, "snapshots:delete")
    snapshot_id = req.params["snapshot_id"]
    try:
        await caller.delete_snapshot(snapshot_id, missing_ok=False)
    except VolumeClientError as exc:
        raise _refused(exc, SnapshotNotFound(snapshot_id)) from None
    return empty_response(202)
