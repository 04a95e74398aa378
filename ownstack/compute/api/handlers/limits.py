"""``GET /limits``: the caller's project's absolute limits and usage (Nova's shape).

``rate`` is always empty, as in Nova since rate limiting left it. Admins may ask about
another project with ``?tenant_id=`` (policy ``limits:other_project``).
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.compute.api.common import version_of
from ownstack.compute.api.views.limits import limits as limits_view
from ownstack.compute.objects import quotas
from ownstack.compute.state import Req


async def show_limits(req: Req) -> Response:
    project_id = req.ctx.project_id or ""
    if "tenant_id" in req.query:
        project_id = req.query["tenant_id"]
        req.svc.enforce(req.ctx, "os_compute_api:limits:other_project",
                        {"project_id": project_id})
    async with req.svc.read() as db:
        limits = await quotas.limits(db, req.svc.config.compute.quota, project_id)
        used = await quotas.usage(db, project_id, key_pairs_of=req.ctx.user_id)
    return json_response(limits_view(version_of(req), limits, used))
