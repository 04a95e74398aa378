"""The bodies of ``/v2/tasks``: a task, and a page of tasks (Glance's serializer)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from ownstack.image.api.views import isotime
from ownstack.image.objects.models import ImageTask
from ownstack.image.objects.tasks import TaskPage


def task_stub(row: ImageTask) -> dict[str, Any]:
    """What a list shows of a task: no input, result or message."""
    view: dict[str, Any] = {
        "id": row.id, "type": row.type, "status": row.status, "owner": row.owner,
        "created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at),
        "self": f"/v2/tasks/{row.id}", "schema": "/v2/schemas/task"}
    if row.expires_at is not None:
        view["expires_at"] = isotime(row.expires_at)
    return view


def task(row: ImageTask) -> dict[str, Any]:
    view = task_stub(row)
    view.update({"input": row.input, "result": row.result, "message": row.message})
    for key in ("image_id", "request_id", "user_id"):
        if getattr(row, key):
            view[key] = getattr(row, key)
    return view


def tasks(page: TaskPage, query: QueryParams) -> dict[str, Any]:
    """Glance's page: ``first`` is the query without its marker; ``next`` comes when the
    page is full and more follow."""
    kept = [(k, v) for k, v in query.multi_items() if k != "marker"]
    body: dict[str, Any] = {
        "tasks": [task_stub(row) for row in page.tasks],
        "first": f"/v2/tasks?{urlencode(kept)}" if kept else "/v2/tasks",
        "schema": "/v2/schemas/tasks"}
    if page.more and page.tasks:
        body["next"] = f"/v2/tasks?{urlencode([*kept, ('marker', page.tasks[-1].id)])}"
    return body
