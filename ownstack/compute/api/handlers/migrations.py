"""``GET /os-migrations``: the resize and migration records, for admins (Nova's
``migrations.py``).

Filters: ``host`` (source or destination), ``status``, ``instance_uuid``,
``source_compute``, ``migration_type`` (2.23), ``user_id`` and ``project_id`` (2.80);
from 2.59 paging by ``limit`` and ``marker`` (a migration uuid) and ``changes-since``
(2.66 ``changes-before``). Newest first.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.errors import BadRequest
from ownstack.compute.api.common import at_least, collection_links, limit_of, version_of
from ownstack.compute.api.views import migrations as views
from ownstack.compute.objects import migrations as mig
from ownstack.compute.objects.servers import parse_time
from ownstack.compute.state import Req

_FILTERS_BY_VERSION: Final = (("2.1", ("host", "status", "instance_uuid", "source_compute")),
                              ("2.23", ("migration_type",)),
                              ("2.80", ("user_id", "project_id")))


async def list_migrations(req: Req) -> Response:
    version = version_of(req)
    req.svc.enforce(req.ctx, "os_compute_api:os-migrations:index", {})
    names = [name for since, group in _FILTERS_BY_VERSION if at_least(version, since)
             for name in group]
    filters = {name: req.query[name] for name in names if name in req.query}
    paged = at_least(version, "2.59")
    limit = limit_of(req) if paged else None
    since = before = None
    if paged and "changes-since" in req.query:
        since = parse_time("changes-since", req.query["changes-since"])
    if at_least(version, "2.66") and "changes-before" in req.query:
        before = parse_time("changes-before", req.query["changes-before"])
    if since is not None and before is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to "
                         "changes-before.")
    async with req.svc.read() as db:
        marker_id = None
        if paged and req.query.get("marker"):
            marker = await mig.get(db, req.query["marker"])
            if marker is None:
                raise BadRequest(f"Marker {req.query['marker']} could not be found.")
            marker_id = marker.id
        found = await mig.list_migrations(db, filters, limit=limit, marker_id=marker_id,
                                          changes_since=since, changes_before=before)
    result: dict[str, Any] = {"migrations": [views.migration(version, m) for m in found]}
    if paged:
        links = collection_links(req, len(found), limit, found[-1].uuid if found else None)
        if links:
            result["migrations_links"] = links
    return json_response(result)
