"""Image data: ``PUT`` and ``GET /v2/images/{image_id}/file``.

An upload moves the image ``queued -> saving -> active`` (:mod:`ownstack.image.ingest`,
shared with import tasks; of two concurrent uploads exactly one proceeds). Whatever goes
wrong (bad data, a hash or size mismatch, a client that goes away, a quota) leaves the
image ``queued`` with no file.
"""

from __future__ import annotations

import re

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from ownstack.common.api.app import empty_response
from ownstack.common.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from ownstack.image import store
from ownstack.image.api.common import image_target
from ownstack.image.errors import BadImageData, InvalidImageStatus, RangeNotSatisfiable
from ownstack.image.ingest import MIB, ingest
from ownstack.image.objects.images import get_visible, is_admin
from ownstack.image.objects.models import Image
from ownstack.image.objects.quota import check_size_quota
from ownstack.image.state import ImageState, Req

_OCTET_STREAM = "application/octet-stream"
_MD5_PROPERTY = "owner_specified.openstack.md5"
_SHA256_PROPERTY = "owner_specified.openstack.sha256"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


async def upload_image(req: Req) -> Response:
    image = await _uploadable_image(req)
    try:
        await ingest(req.svc, image, req.request.stream(),
                     expected_size=_content_length(req),
                     expected_md5=_declared_hash(image, _MD5_PROPERTY),
                     expected_sha256=_declared_hash(image, _SHA256_PROPERTY))
    except ClientDisconnect:
        raise BadImageData("The upload was interrupted: the client closed the connection "
                           "before sending all the data.") from None
    return empty_response(204)


async def download_image(req: Req) -> Response:
    async with req.svc.read() as db:
        image = await get_visible(db, req.ctx, req.params["image_id"])
    req.svc.enforce(req.ctx, "download_image", image_target(image))
    if image.status == "deactivated" and not is_admin(req.ctx):
        raise Forbidden("The requested image has been deactivated. Image data download is "
                        "forbidden.")
    if image.status not in ("active", "deactivated") or image.size is None:
        return empty_response(204)      # Glance: an image without data has no content
    first, last = _parse_range(req.headers.get("range"), image.size)
    try:
        chunks = await store.open_range(req.svc, image.id, first, last + 1)
    except FileNotFoundError:
        return empty_response(204)
    partial = (first, last) != (0, image.size - 1)
    headers = {"Content-Type": _OCTET_STREAM, "Content-Length": str(last + 1 - first)}
    if partial:
        headers["Content-Range"] = f"bytes {first}-{last}/{image.size}"
    elif image.checksum:
        headers["Content-MD5"] = image.checksum     # of the whole image: not on a 206
    status = 206 if partial else 200
    if req.method == "HEAD":     # the app sends no body for HEAD; close the file now
        await chunks.aclose()
        return Response(b"", status_code=status, headers=headers)
    return StreamingResponse(chunks, status_code=status, headers=headers)


async def _uploadable_image(req: Req) -> Image:
    """The image, once everything that can be checked before reading the body passes."""
    _check_content_type(req)
    async with req.svc.read() as db:
        image = await get_visible(db, req.ctx, req.params["image_id"])
    req.svc.enforce(req.ctx, "upload_image", image_target(image))
    _check_uploadable(image)
    declared_size = _content_length(req)
    if declared_size is not None:
        await _check_room(req.svc, image, declared_size)
    return image


def _check_content_type(req: Req) -> None:
    """Glance accepts only application/octet-stream; we also accept no Content-Type."""
    content_type = req.headers.get("content-type")
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media != _OCTET_STREAM:
        raise UnsupportedMediaType(f"Invalid content type {media}")


def _check_uploadable(image: Image) -> None:
    if image.status != "queued":
        raise InvalidImageStatus(f"Image status transition from {image.status} to saving "
                                 f"is not allowed")
    missing = [k for k in ("disk_format", "container_format") if not getattr(image, k)]
    if missing:
        noun = "Property" if len(missing) == 1 else "Properties"
        raise BadRequest(f"{noun} {', '.join(missing)} must be set prior to saving data.")


def _content_length(req: Req) -> int | None:
    """The size the client declared, or None for a chunked upload."""
    value = req.headers.get("content-length")
    if value is None or "chunked" in req.headers.get("transfer-encoding", "").lower():
        return None
    if not value.strip().isdigit():
        raise BadRequest(f"Invalid Content-Length {value!r}.")
    return int(value)


def _declared_hash(image: Image, key: str) -> str | None:
    value = (image.properties or {}).get(key)
    return value if isinstance(value, str) and value.strip() else None


async def _check_room(svc: ImageState, image: Image, size: int) -> None:
    """Refuse early, before reading the body, what the declared size can never fit."""
    max_size = svc.config.image.max_image_size_mb * MIB
    if size > max_size:
        raise PayloadTooLarge(f"The incoming image is too large: {size} bytes exceeds the "
                              f"limit of {max_size} bytes.")
    async with svc.read() as db:
        await check_size_quota(db, image.owner, size, svc.config, exclude_image_id=image.id)


def _parse_range(header: str | None, size: int) -> tuple[int, int]:
    """The inclusive byte range to send: the whole image, or one ``Range: bytes=`` range."""
    if header is None:
        return 0, size - 1
    match = _RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        raise _unsatisfiable(f"Invalid Range header {header!r}: one byte range is "
                             f"supported.", size)
    start, end = match.group(1), match.group(2)
    if start == "":                                     # bytes=-n: the last n bytes
        first, last = max(size - int(end), 0), size - 1
        if int(end) == 0:
            raise _unsatisfiable("The requested range is empty.", size)
    else:
        first, last = int(start), size - 1 if end == "" else min(int(end), size - 1)
        if end != "" and int(end) < first:
            raise _unsatisfiable(f"Invalid Range header {header!r}.", size)
    if first >= size:
        raise _unsatisfiable(f"The requested range starts beyond the image's {size} bytes.",
                             size)
    return first, last


def _unsatisfiable(message: str, size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(message, headers={"Content-Range": f"bytes */{size}"})
