"""The image service's refusals as compute's errors, for the actions that make images
(createImage, shelve)."""

from __future__ import annotations

from ownstack.common.clients.image import ImageClientError
from ownstack.common.errors import BadRequest, Forbidden, OwnstackError
from ownstack.compute.errors import ImageServiceUnavailable


def image_error(exc: ImageClientError) -> OwnstackError:
    """The image service's refusal as this API's error: its 4xx keep their meaning
    (quota is a 403, as Nova's OverQuota), its failures are a 503, never a 500."""
    if exc.status in (403, 413):
        return Forbidden(exc.message)
    if exc.status is not None and 400 <= exc.status < 500:
        return BadRequest(exc.message)
    return ImageServiceUnavailable()
