"""``/os-simple-tenant-usage``: server hours, vCPU-hours, MiB-hours and GiB-hours over a
window, for every project (admin) or one (its readers).

Paging (2.40+) is over servers, not projects, as in Nova: a project's report may span
pages, and ``openstack usage list`` stitches them back together. Before 2.40 a report
stops silently at the largest page, as Nova's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.db.base import utcnow
from ownstack.compute.api.common import (
    MAX_LIMIT,
    at_least,
    collection_links,
    limit_of,
    reject_unknown_query,
    version_of,
)
from ownstack.compute.api.schemas import simple_tenant_usage as schemas
from ownstack.compute.api.views.simple_tenant_usage import project_usage
from ownstack.compute.objects import usage
from ownstack.compute.state import Req


@dataclass
class _Report:
    projects: list[usage.ProjectUsage]
    count: int                  # servers in this page
    last: str | None            # the page's last server, the next page's marker
    limit: int | None           # the page size asked for (2.40+), for the next link

    def links(self, req: Req) -> list[dict[str, str]]:
        return collection_links(req, self.count, self.limit, self.last)


async def list_usage(req: Req) -> Response:
    req.svc.enforce(req.ctx, "os_compute_api:os-simple-tenant-usage:list")
    reject_unknown_query(req, schemas.LIST_QUERY)
    report = await _report(req, project_id=None)
    # Nova's own test, not a boolean parse: only "1" asks for the servers.
    detailed = req.query.get("detailed", "0") == "1"
    body: dict[str, Any] = {"tenant_usages": [project_usage(p, detailed=detailed)
                                              for p in report.projects]}
    if links := report.links(req):
        body["tenant_usages_links"] = links
    return json_response(body)


async def show_usage(req: Req) -> Response:
    project_id = req.params["project_id"]
    req.svc.enforce(req.ctx, "os_compute_api:os-simple-tenant-usage:show",
                    {"project_id": project_id})
    reject_unknown_query(req, schemas.SHOW_QUERY)
    report = await _report(req, project_id=project_id)
    # Nova answers a project without servers in the window with an empty object.
    body: dict[str, Any] = {"tenant_usage": project_usage(report.projects[0], detailed=True)
                            if report.projects else {}}
    if links := report.links(req):
        body["tenant_usage_links"] = links
    return json_response(body)


async def _report(req: Req, *, project_id: str | None) -> _Report:
    paged = at_least(version_of(req), "2.40")
    limit = limit_of(req) if paged else MAX_LIMIT
    now = utcnow()
    start, stop = usage.window(req.query.get("start"), req.query.get("end"), now)
    async with req.svc.read() as db:
        instances = await usage.instances_in_window(
            db, start, stop, project_id=project_id, limit=limit,
            marker=req.query.get("marker") if paged else None)
    return _Report(usage.by_project(instances, start, stop, now), len(instances),
                   instances[-1].uuid if instances else None, limit if paged else None)
