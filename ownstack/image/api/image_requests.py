"""What a create body or a JSON-patch document asks of an image, checked as Glance does.

Glance's answers, which clients and Tempest rely on:

* attributes only the server sets (``status``, ``size``, ``checksum``, ``self``, ...) are
  403 "Attribute 'x' is read-only."; ``location``, ``deleted``, ``deleted_at`` and the
  ``os_glance`` namespace are 403 "reserved";
* values that do not match the published schema (``/v2/schemas/image``) are 400, and so
  are property names over 255 characters;
* a patch is sent as ``application/openstack-images-v2.1-json-patch`` (JSON schema draft
  10 operations: ``{"op": "add", "path": "/name", ...}``) or as the older v2.0 form
  (draft 4: ``{"add": "/name", ...}``), and addresses one top-level attribute.

How the operations then apply to the image is :mod:`ownstack.image.objects.image_changes`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ownstack.common.api.json_body import parse_json
from ownstack.common.errors import BadRequest, Forbidden, UnsupportedMediaType
from ownstack.image.api.schemas.image import (
    IMAGE,
    IMAGE_PROPERTIES,
    MAX_KEY_LENGTH,
    READ_ONLY,
    REFUSED_FIRST,
    RESERVED,
    RESERVED_PREFIX,
)
from ownstack.image.objects.image_changes import WRITABLE, Change, check_limits

PATCH_MEDIA_TYPES = {"application/openstack-images-v2.1-json-patch": 10,
                     "application/openstack-images-v2.0-json-patch": 4}
_OPERATIONS = ("add", "remove", "replace")


@dataclass
class NewImage:
    """A validated ``POST /v2/images`` body."""

    image_id: str | None
    core: dict[str, Any]
    properties: dict[str, str]
    tags: list[str]


def parse_create(body: Any) -> NewImage:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object describing the image.")
    for name in REFUSED_FIRST:
        if name in body:
            raise _read_only(name)
    IMAGE.validate(body)
    properties = {k: v for k, v in body.items() if k not in IMAGE_PROPERTIES}
    for name in properties:
        _check_property_name(name)
    for name in sorted(READ_ONLY - {"id"}):
        if name in body:
            raise _read_only(name)
    if "locations" in body:
        raise Forbidden("Attribute 'locations' is reserved.")
    tags = list(dict.fromkeys(body.get("tags") or []))
    check_limits(properties, tags)
    core = {k: body[k] for k in WRITABLE if k in body and k != "tags"}
    return NewImage(body.get("id"), core, properties, tags)


def parse_patch(content_type: str | None, raw: bytes) -> tuple[list[Change], int]:
    """The operations of a PATCH body and its JSON-schema draft (4 for v2.0, 10 for v2.1)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    draft = PATCH_MEDIA_TYPES.get(media)
    if draft is None:
        raise UnsupportedMediaType(
            f"Content type {media or 'none'} is not supported; use "
            "application/openstack-images-v2.1-json-patch.",
            headers={"Accept-Patch": ", ".join(sorted(PATCH_MEDIA_TYPES))})
    body = _parse_json(raw)
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_parse_change(raw_change, draft) for raw_change in body], draft


def _read_only(name: str) -> Forbidden:
    return Forbidden(f"Attribute '{name}' is read-only.")


def _check_property_name(name: str) -> None:
    if not name:
        raise BadRequest("A custom property needs a name.")
    if len(name) > MAX_KEY_LENGTH:
        raise BadRequest(f"Custom property should not be greater than {MAX_KEY_LENGTH} "
                         "characters.")
    if name in RESERVED or name.startswith(RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    return parse_json(raw)


def _parse_change(raw: Any, draft: int) -> Change:
    if not isinstance(raw, dict):
        raise BadRequest("Operations must be JSON objects.")
    if draft == 10:
        op = raw.get("op")
        if op not in _OPERATIONS:
            raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: "
                             f"{', '.join(_OPERATIONS)}.")
        if "path" not in raw:
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        pointer = raw["path"]
    else:
        present = [name for name in _OPERATIONS if name in raw]
        if len(present) != 1:
            raise BadRequest('Operation objects must contain exactly one member named '
                             '"add", "remove", or "replace".')
        op, pointer = present[0], raw[present[0]]
    path = _decode_pointer(pointer)
    name = path[0]
    depth = 2 if name == "locations" and op != "replace" else 1
    if len(path) != depth:
        raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
    if name in READ_ONLY:
        raise _read_only(name)
    if name == "locations":
        # Glance's answer while show_multiple_locations is off, its default.
        raise Forbidden("It's not allowed to update locations if locations are invisible.")
    if name not in IMAGE_PROPERTIES:
        _check_property_name(name)
    if op == "remove":
        return Change(op, name)
    if "value" not in raw:
        raise BadRequest(f'Operation "{op}" requires a member named "value".')
    IMAGE.validate({name: raw["value"]})
    return Change(op, name, raw["value"])


def _decode_pointer(pointer: Any) -> list[str]:
    """Glance's restricted JSON pointer: ``/name``, with ``~0`` and ``~1`` escapes."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]) or (len(pointer) > 1 and pointer.endswith("/")):
        raise BadRequest(f"Pointer `{pointer}` contains an empty token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized '
                         "escape sequence.")
    return [part.replace("~1", "/").replace("~0", "~").strip()
            for part in pointer[1:].split("/")]
