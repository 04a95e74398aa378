"""``/os-services``: list compute services, enable/disable/force down, delete.

From 2.53 a service is named by uuid and updated with ``PUT /os-services/{uuid}``; before,
the same route served Nova's action names (``enable``, ``disable``,
``disable-log-reason``, ``force-down`` from 2.11) with ``host`` and ``binary`` in the body,
which openstacksdk still uses when a client pins an older microversion.

Disabling a service takes effect for scheduling at once (the conductor's ComputeFilter
reads the flag); the conductor also sets ``COMPUTE_STATUS_DISABLED`` on the node's
Placement provider at the node's next report.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest, NotFound
from ownstack.compute.api.common import Version, at_least, body, reject_unknown_query, version_of
from ownstack.compute.api.schemas import services as schemas
from ownstack.compute.api.views import services as views
from ownstack.compute.objects import hosts
from ownstack.compute.objects.models import ComputeService
from ownstack.compute.rpc import COMPUTE_BINARY
from ownstack.compute.state import Req

_LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason", "force-down")


def _view(req: Req, version: Version, service: ComputeService) -> dict[str, Any]:
    return views.service(version, service, req.svc.config.compute.service_down_time)


async def list_services(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-services:list")
    version = version_of(req)
    reject_unknown_query(req, schemas.LIST_QUERY)
    async with req.svc.read() as db:
        found = await hosts.list_services(db, host=req.query.get("host"),
                                          binary=req.query.get("binary"))
    return json_response({"services": [_view(req, version, s) for s in found]})


async def update_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-services:update")
    version = version_of(req)
    if not at_least(version, "2.53"):
        return await _legacy_action(req, version, req.params["service_id"])
    data = await body(req, schemas.UPDATE)
    change = _change_of(data)
    async with req.svc.write() as db:
        service = await hosts.get_service(db, req.params["service_id"], by_uuid=True)
        _only_compute(service)
        await hosts.apply_service_change(db, service, change)
    return json_response({"service": _view(req, version, service)})


def _change_of(data: dict[str, Any]) -> hosts.ServiceChange:
    status, reason = data.get("status"), data.get("disabled_reason")
    if status is None and "forced_down" not in data:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' "
                         "should be specified.")
    if reason is not None and status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status other than "
                         "'disabled' is not supported.")
    return hosts.ServiceChange(
        disabled=None if status is None else status == "disabled", disabled_reason=reason,
        forced_down=data.get("forced_down"))


def _only_compute(service: ComputeService) -> None:
    if service.binary != COMPUTE_BINARY:
        raise BadRequest(f"Updating a {service.binary} service is not supported. Only "
                         f"nova-compute services can be updated.")


async def _legacy_action(req: Req, version: Version, action: str) -> Response:
    """Nova's pre-2.53 ``PUT /os-services/{action}``, answered in its shape."""
    if action not in _LEGACY_ACTIONS or (action == "force-down"
                                         and not at_least(version, "2.11")):
        raise NotFound("Unknown action")
    data = await body(req, schemas.LEGACY_ACTION(version))
    reason = data.get("disabled_reason")
    if action == "disable-log-reason" and reason is None:
        raise BadRequest("Missing disabled reason field")
    if action == "force-down":
        if "forced_down" not in data:
            raise BadRequest("Missing forced_down field")
        change = hosts.ServiceChange(forced_down=data["forced_down"])
        result: dict[str, Any] = {"forced_down": data["forced_down"]}
    else:
        disabled = action != "enable"
        change = hosts.ServiceChange(disabled=disabled,
                                     disabled_reason=reason if disabled else None)
        result = {"status": "disabled" if disabled else "enabled"}
        if action == "disable-log-reason":
            result["disabled_reason"] = reason
    async with req.svc.write() as db:
        service = await hosts.get_service_by_host_binary(db, data["host"], data["binary"])
        _only_compute(service)
        await hosts.apply_service_change(db, service, change)
    return json_response(views.legacy_action(data["host"], data["binary"], result))


async def delete_service(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-services:delete")
    by_uuid = at_least(version_of(req), "2.53")
    async with req.svc.write() as db:
        service = await hosts.get_service(db, req.params["service_id"], by_uuid=by_uuid)
        node_uuids = await hosts.delete_service(db, service)
    await hosts.delete_providers(req.svc.placement, node_uuids)
    return empty_response(204)
