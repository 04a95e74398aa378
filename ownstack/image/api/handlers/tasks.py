"""Tasks (Glance's deprecated but served ``/v2/tasks``): create, list, show, and the
import tasks of an image (``GET /v2/images/{image_id}/tasks``, Glance 2.12).

Every route first checks ``tasks_api_access`` (admin only, Glance's default), then
Glance's per-call rule. An ``import`` task runs in the background after the 201
(:mod:`ownstack.image.api.task_import`).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.common.api.pagination import parse_limit
from ownstack.common.errors import BadRequest, OwnstackError
from ownstack.image.api import task_views
from ownstack.image.api.image_requests import parse_create
from ownstack.image.api.schemas import task as schema
from ownstack.image.api.task_import import run_task
from ownstack.image.import_source import SUPPORTED_SCHEMES
from ownstack.image.objects import images, tasks
from ownstack.image.state import Req

# Glance's limit_param_default and api_limit_max.
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000
SORT_KEYS = ("id", "type", "status", "owner", "expires_at", "created_at", "updated_at")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                   r"[0-9a-fA-F]{12}$")


async def create_task(req: Req) -> Response:
    _enforce(req, "add_task")
    body = await req.json()
    if not isinstance(body, dict):
        raise BadRequest("Body expected in request.")
    for key in ("type", "input"):
        if key not in body:
            raise BadRequest(f"Task '{key}' is required")
    unknown = sorted(set(body) - set(schema.TASK_PROPERTIES))
    if unknown:     # Glance validates the body against the task schema
        raise BadRequest(f"Additional properties are not allowed ({', '.join(unknown)} "
                         f"unexpected)")
    schema.CREATE.validate({k: body[k] for k in ("type", "input")})
    task_input = body["input"]
    schema.IMPORT_INPUT.validate(task_input)
    _check_import_input(task_input)
    async with req.svc.write() as db:
        task = await tasks.create_task(db, req.ctx, task_type=body["type"],
                                       task_input=task_input)
    req.svc.background.spawn(run_task(req.svc, task.id))
    return json_response(task_views.task(task), status=201,
                         headers={"Location": f"/v2/tasks/{task.id}"})


async def list_tasks(req: Req) -> Response:
    _enforce(req, "get_tasks")
    query = req.query
    status, task_type = query.get("status"), query.get("type")
    if status and status not in tasks.STATUSES:
        raise BadRequest(f"Invalid status value: {status}")
    if task_type and task_type not in tasks.TYPES:
        raise BadRequest(f"Invalid type value: {task_type}")
    sort_key, sort_dir = query.get("sort_key", "created_at"), query.get("sort_dir", "desc")
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    if sort_key not in SORT_KEYS:
        raise BadRequest(f"Invalid sort key: {sort_key}. It must be one of the following: "
                         f"{', '.join(SORT_KEYS)}.")
    marker = query.get("marker")
    if marker is not None and not _UUID.match(marker):
        raise BadRequest("Invalid marker format")
    limit = parse_limit(query.get("limit"), max_limit=MAX_LIMIT, default=DEFAULT_LIMIT)
    async with req.svc.write() as db:
        await tasks.reap_expired(db)        # as Glance's task list does
        page = await tasks.list_tasks(db, req.ctx, status=status or None,
                                      task_type=task_type or None,
                                      limit=DEFAULT_LIMIT if limit is None else limit,
                                      marker_id=marker,
                                      sort=[(sort_key, sort_dir), ("created_at", sort_dir)])
    return json_response(task_views.tasks(page, query))


async def show_task(req: Req) -> Response:
    _enforce(req, "get_task")
    async with req.svc.read() as db:
        task = await tasks.get_visible(db, req.ctx, req.params["task_id"])
    return json_response(task_views.task(task))


async def list_image_tasks(req: Req) -> Response:
    """The import tasks of an image: ownstack's tasks API records none (its ``import``
    tasks make new images, Glance's image-import tasks are not served), so a visible
    image has none; Tempest's snapshot tests wait on this list until none is pending."""
    req.svc.enforce(req.ctx, "get_image")
    async with req.svc.read() as db:
        await images.get_visible(db, req.ctx, req.params["image_id"])
    return json_response({"tasks": []})


def _enforce(req: Req, rule: str) -> None:
    req.svc.enforce(req.ctx, "tasks_api_access")
    req.svc.enforce(req.ctx, rule)


def _check_import_input(task_input: dict[str, Any]) -> None:
    """What Glance checks before it accepts an import: a URI it could ever fetch, and an
    image it could make. Whether the operator allows the host is the task's to find out
    (a refused host ends the task in failure, and is never resolved)."""
    uri = str(task_input["import_from"])
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme in ("file", "filesystem"):
        raise BadRequest("File based imports are not allowed. Please use a non-local "
                         "source of image data.")
    if scheme not in SUPPORTED_SCHEMES or not uri.lower().startswith(f"{scheme}://"):
        raise BadRequest(f"The given uri is not valid. Please specify a valid uri from the "
                         f"following list of supported uri {list(SUPPORTED_SCHEMES)}")
    properties = task_input["image_properties"]
    try:
        new = parse_create(properties)
    except OwnstackError as exc:    # a 403 for an image's own create is bad task input
        raise BadRequest(f"Invalid image_properties: {exc.message}") from None
    if new.image_id is not None:
        raise BadRequest("An import task makes a new image: image_properties may not "
                         "name its id.")
    if task_input["import_from_format"] != properties["disk_format"]:
        raise BadRequest(f"Converting images is not supported: import_from_format "
                         f"({task_input['import_from_format']}) must be the image's "
                         f"disk_format ({properties['disk_format']}).")
