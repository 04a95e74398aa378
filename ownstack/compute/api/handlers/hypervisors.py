"""``/os-hypervisors``: the compute nodes, their state and (before 2.88) their capacity.

Used amounts come from Placement, the truth about what a node has given out, plus the
host's reserved memory and disk, as Nova's resource tracker counts them. The host's
``uptime`` output is asked of its agent: ``/os-hypervisors/{id}/uptime`` before 2.88, the
shown node's ``uptime`` from 2.88 (null in lists, as in Nova).
Servers of a node (``with_servers``) are those placed on that node, not on every node of
its host.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.bus import BusError
from ownstack.common.errors import BadRequest, NotFound
from ownstack.compute import rpc
from ownstack.compute.api.common import (
    Version,
    at_least,
    collection_links,
    limit_of,
    query_bool,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import hypervisors as schemas
from ownstack.compute.api.views import hypervisors as views
from ownstack.compute.objects import hosts
from ownstack.compute.objects.models import Instance
from ownstack.compute.state import Req

# Seconds a host's agent has to say its uptime.
UPTIME_TIMEOUT: Final = 10.0


async def list_hypervisors(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-hypervisors:list")
    return await _list(req, detail=False)


async def list_hypervisors_detail(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-hypervisors:list-detail")
    return await _list(req, detail=True)


async def _list(req: Req, *, detail: bool) -> Response:
    version = version_of(req)
    reject_unknown_query(req, schemas.LIST_QUERY)
    paged = at_least(version, "2.33")
    limit = limit_of(req) if paged else None
    marker = req.query.get("marker") if paged else None
    pattern = req.query.get("hypervisor_hostname_pattern") if at_least(version, "2.53") \
        else None
    with_servers = _with_servers(req, version)
    if pattern is not None and ("limit" in req.query or marker is not None):
        raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query "
                         "parameter is not supported.")
    async with req.svc.read() as db:
        records = await hosts.list_nodes(db, limit=None if pattern else limit, marker=marker,
                                         by_uuid=at_least(version, "2.53"), pattern=pattern)
        placed = await hosts.instances_on_nodes(
            db, [r.node.hypervisor_hostname for r in records])
    if pattern is not None and not records:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    items = [await _view(req, version, record, placed[record.node.hypervisor_hostname],
                         detail=detail, with_servers=with_servers) for record in records]
    result: dict[str, Any] = {"hypervisors": items}
    next_links = collection_links(req, len(items), limit if pattern is None else None,
                                  str(items[-1]["id"]) if items else None)
    if next_links:
        result["hypervisors_links"] = next_links
    return json_response(result)


def _with_servers(req: Req, version: Version) -> bool:
    value = req.query.get("with_servers")
    if value is None or not at_least(version, "2.53"):
        return False
    return query_bool("with_servers", value)


async def show_hypervisor(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-hypervisors:show")
    version = version_of(req)
    reject_unknown_query(req, schemas.SHOW_QUERY)
    with_servers = _with_servers(req, version)
    async with req.svc.read() as db:
        record = await hosts.get_node(db, req.params["hypervisor_id"],
                                      by_uuid=at_least(version, "2.53"))
        name = record.node.hypervisor_hostname
        placed = (await hosts.instances_on_nodes(db, [name]))[name]
    uptime = None
    if at_least(version, "2.88"):
        with contextlib.suppress(BadRequest):      # Nova shows null for a host that is down
            uptime = await _uptime(req, record)
    return json_response({"hypervisor": await _view(req, version, record, placed, detail=True,
                                                    with_servers=with_servers, uptime=uptime)})


async def hypervisor_uptime(req: Req) -> Response:
    """Nova's ``/os-hypervisors/{id}/uptime``, gone from 2.88 (the show has it)."""
    version = version_of(req)
    if at_least(version, "2.88"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, "os_compute_api:os-hypervisors:uptime")
    async with req.svc.read() as db:
        record = await hosts.get_node(db, req.params["hypervisor_id"],
                                      by_uuid=at_least(version, "2.53"))
    view = views.hypervisor(
        version, record, (), up=hosts.is_up(record.service,
                                            req.svc.config.compute.service_down_time),
        stats=None, detail=False, with_servers=False)
    return json_response({"hypervisor": {**view, "uptime": await _uptime(req, record)}})


async def _uptime(req: Req, record: hosts.NodeRecord) -> str:
    """The node's host's ``uptime`` output, from its agent; Nova's 400 when its service is
    down (not asked) or it cannot answer."""
    host = record.node.host
    if not hosts.is_up(record.service, req.svc.config.compute.service_down_time):
        raise BadRequest(f"Compute service of {host} is unavailable at this time.")
    try:
        reply = await req.svc.bus.call(rpc.compute_topic(host), "host_uptime", {},
                                       timeout=UPTIME_TIMEOUT)
    except BusError:
        raise BadRequest(f"Compute service of {host} is unavailable at this time.") from None
    if not (isinstance(reply, dict) and isinstance(reply.get("uptime"), str)):
        raise BadRequest(f"Compute service of {host} is unavailable at this time.")
    return str(reply["uptime"])


async def search_hypervisors(req: Req) -> Response:
    """Before 2.53: the nodes whose hostname holds the pattern (a 404 if none)."""
    return await _matching(req, "search", with_servers=False)


async def hypervisor_servers(req: Req) -> Response:
    """Before 2.53: the matching nodes with their servers (those that have any)."""
    return await _matching(req, "servers", with_servers=True)


async def _matching(req: Req, rule: str, *, with_servers: bool) -> Response:
    version = version_of(req)
    if at_least(version, "2.53"):       # hypervisor_hostname_pattern on the list instead
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, f"os_compute_api:os-hypervisors:{rule}")
    pattern = req.params["hypervisor_hostname_pattern"]
    async with req.svc.read() as db:
        records = await hosts.list_nodes(db, pattern=pattern)
        placed = await hosts.instances_on_nodes(
            db, [r.node.hypervisor_hostname for r in records])
    if not records:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return json_response({"hypervisors": [
        await _view(req, version, record, placed[record.node.hypervisor_hostname],
                    detail=False, with_servers=with_servers) for record in records]})


async def hypervisor_statistics(req: Req) -> Response:
    """The sums over nodes of enabled compute services; gone from 2.88, as in Nova."""
    if at_least(version_of(req), "2.88"):
        raise NotFound("The resource could not be found.")
    req.svc.enforce(req.ctx, "os_compute_api:os-hypervisors:statistics")
    async with req.svc.read() as db:
        records = [r for r in await hosts.list_nodes(db) if not r.service.disabled]
        placed = await hosts.instances_on_nodes(
            db, [r.node.hypervisor_hostname for r in records])
    totals = dict.fromkeys(views.STAT_FIELDS, 0)
    for record in records:
        stats = await _stats(req, record, placed[record.node.hypervisor_hostname])
        for field in views.STAT_FIELDS:
            totals[field] += stats[field]
    return json_response({"hypervisor_statistics": {"count": len(records), **totals}})


async def _stats(req: Req, record: hosts.NodeRecord, placed: Sequence[Instance]
                 ) -> dict[str, int]:
    used = await hosts.node_usage(req.svc.placement, record.node.uuid)
    return views.stats(record, used, placed)


async def _view(req: Req, version: Version, record: hosts.NodeRecord,
                placed: Sequence[Instance], *, detail: bool, with_servers: bool,
                uptime: str | None = None) -> dict[str, Any]:
    """A node's view; its statistics (asked of Placement) only where the view shows them."""
    stats = await _stats(req, record, placed) \
        if detail and not at_least(version, "2.88") else None
    return views.hypervisor(
        version, record, placed,
        up=hosts.is_up(record.service, req.svc.config.compute.service_down_time),
        stats=stats, detail=detail, with_servers=with_servers, uptime=uptime)
