"""The published JSON schemas: ``GET /v2/schemas/image``, ``/images``, ``/member``,
``/members``, ``/task`` and ``/tasks`` (the documents are in
:mod:`ownstack.image.api.schemas`)."""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.image.api.schemas import image, member, task
from ownstack.image.state import Req


async def image_schema(req: Req) -> Response:
    return json_response(image.image_document())


async def images_schema(req: Req) -> Response:
    return json_response(image.images_document())


async def member_schema(req: Req) -> Response:
    return json_response(member.member_document())


async def members_schema(req: Req) -> Response:
    return json_response(member.members_document())


async def task_schema(req: Req) -> Response:
    return json_response(task.task_document())


async def tasks_schema(req: Req) -> Response:
    return json_response(task.tasks_document())
