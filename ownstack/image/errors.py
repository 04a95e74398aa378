"""Image error codes and Glance's error body.

Glance answers errors through webob, whose JSON form is
``{"code": "404 Not Found", "title": "Not Found", "message": "..."}``.
"""

from __future__ import annotations

from typing import Any

from ownstack.common.errors import BadRequest, Conflict, Forbidden, NotFound, OwnstackError


def format_error(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"code": f"{exc.status} {exc.title}", "title": exc.title,
            "message": exc.message}, {}


class ImageNotFound(NotFound):
    code = "image.not_found"

    def __init__(self, image_id: str) -> None:
        super().__init__(f"No image found with ID {image_id}")


class InvalidImageStatus(Conflict):
    code = "image.invalid_status"


class ImageProtected(Forbidden):
    code = "image.protected"

    def __init__(self, image_id: str) -> None:
        super().__init__(f"Image {image_id} is protected and cannot be deleted.")


class BadImageData(BadRequest):
    """The uploaded bytes are not what was declared, or are unsafe to hand a hypervisor."""

    code = "image.bad_data"


class QuotaExceeded(OwnstackError):
    status = 413
    code = "image.quota_exceeded"


class ImageGoneDuringUpload(OwnstackError):
    """Glance's 410: the image was deleted while its data was being uploaded."""

    status = 410
    code = "image.gone_during_upload"


class RangeNotSatisfiable(OwnstackError):
    status = 416
    code = "image.range_not_satisfiable"


class InspectorUnavailable(OwnstackError):
    """The host lacks qemu-img or prlimit: an operator's problem, not the client's."""

    status = 503
    code = "image.inspector_unavailable"
    message = ("Image uploads are unavailable: qemu-img (package qemu-utils) and prlimit "
               "(util-linux) must be installed on the image service host.")


class MetadefNamespaceNotFound(NotFound):
    """A metadata definition namespace that does not exist, or that the caller may not see."""

    code = "image.metadef_namespace_not_found"


class MetadefNotFound(NotFound):
    """An object, property, tag or resource type association missing from its namespace."""

    code = "image.metadef_not_found"


class MetadefProtected(Forbidden):
    """What a protected namespace holds is never deleted, nor the namespace itself."""

    code = "image.metadef_protected"


class MetadefDuplicate(Conflict):
    code = "image.metadef_duplicate"


class TaskNotFound(NotFound):
    """A task that does not exist, expired, or is another project's."""

    code = "image.task_not_found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task with the given id {task_id} not found")
