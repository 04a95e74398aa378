"""What a create body or a JSON-patch document asks of an image, checked as Glance does.

Glance's answers, which clients and Tempest rely on:

* attributes only the server sets (``status``, ``size``, ``checksum``, ``self``, ...) are
  403 "Attribute 'x' is read-only."; ``location``, ``deleted``, ``deleted_at`` and the
  ``os_glance`` namespace are 403 "reserved";
* values that do not match the published schema (``/v2/schemas/image``) are 400, and so
  are property names over 255 characters;
* a patch names its operations ``add``, ``replace`` and ``remove``; removing a core
  attribute is 403, replacing or removing an extra property that does not exist is 409.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from ownstack.common.api.json_body import parse_json as parse_json_document
from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest, Conflict, Forbidden, UnsupportedMediaType
from ownstack.image.api.handlers.schemas import IMAGE_PROPERTIES, image_document
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import MAX_PROPERTIES, MAX_TAGS
from ownstack.image.objects.models import Image

# The core attributes a client may set; every other core attribute is read-only.
WRITABLE = ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
            "container_format", "min_disk", "min_ram", "tags")
_READ_ONLY = frozenset(IMAGE_PROPERTIES) - {*WRITABLE, "locations"}
# Read-only attributes refused before the body is validated, as Glance does.
_REFUSED_FIRST = ("direct_url", "self", "file", "schema", "stores")
_RESERVED = frozenset({"location", "locations", "deleted", "deleted_at"})
_RESERVED_PREFIX = "os_glance"

MAX_KEY_LENGTH = 255
# Glance keeps property values in a TEXT column.
MAX_VALUE_LENGTH = 65535
_MAX_INT = 2**31 - 1

PATCH_MEDIA_TYPES = {"application/openstack-images-v2.1-json-patch": 10,
                     "application/openstack-images-v2.0-json-patch": 4}
_OPERATIONS = ("add", "remove", "replace")


def _validator() -> Validator:
    """The published image schema, tightened to what the database can store."""
    schema = copy.deepcopy(image_document())
    del schema["links"]
    props = schema["properties"]
    for name in ("min_disk", "min_ram"):
        props[name].update(minimum=0, maximum=_MAX_INT)
    props["owner"]["maxLength"] = 64
    schema["additionalProperties"] = {"type": "string", "maxLength": MAX_VALUE_LENGTH}
    return Validator(schema)


IMAGE_VALIDATOR = _validator()


def read_only(name: str) -> Forbidden:
    return Forbidden(f"Attribute '{name}' is read-only.")


def check_property_name(name: str) -> None:
    if not name:
        raise BadRequest("A custom property needs a name.")
    if len(name) > MAX_KEY_LENGTH:
        raise BadRequest(f"Custom property should not be greater than {MAX_KEY_LENGTH} "
                         "characters.")
    if name in _RESERVED or name.startswith(_RESERVED_PREFIX):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def check_limits(properties: dict[str, Any], tags: list[str]) -> None:
    if len(properties) > MAX_PROPERTIES:
        raise QuotaExceeded(f"Maximum number of image properties ({MAX_PROPERTIES}) "
                            "exceeded.")
    if len(tags) > MAX_TAGS:
        raise QuotaExceeded(f"Maximum number of tags ({MAX_TAGS}) exceeded.")


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
    for name in _REFUSED_FIRST:
        if name in body:
            raise read_only(name)
    IMAGE_VALIDATOR.validate(body)
    properties = {k: v for k, v in body.items() if k not in IMAGE_PROPERTIES}
    for name in properties:
        check_property_name(name)
    for name in sorted(_READ_ONLY - {"id"}):
        if name in body:
            raise read_only(name)
    if "locations" in body:
        raise Forbidden("Attribute 'locations' is reserved.")
    tags = list(dict.fromkeys(body.get("tags") or []))
    check_limits(properties, tags)
    core = {k: body[k] for k in WRITABLE if k in body and k != "tags"}
    return NewImage(body.get("id"), core, properties, tags)


@dataclass(frozen=True)
class Change:
    """One patch operation on one attribute (``path`` is the decoded top-level name)."""

    op: str
    path: str
    value: Any = None


def parse_patch(content_type: str | None, raw: bytes) -> tuple[list[Change], int]:
    """The operations of a PATCH body and its JSON-schema draft (4 for v2.0, 10 for v2.1)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    draft = PATCH_MEDIA_TYPES.get(media)
    if draft is None:
        raise UnsupportedMediaType(
            f"Content type {media or 'none'} is not supported; use "
            "application/openstack-images-v2.1-json-patch.",
            headers={"Accept-Patch": ", ".join(sorted(PATCH_MEDIA_TYPES))})
    body = parse_json(raw)
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    return [_parse_change(raw_change, draft) for raw_change in body], draft


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    return parse_json_document(raw)


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
    if name in _READ_ONLY:
        raise read_only(name)
    if name == "locations":
        # Glance's answer while show_multiple_locations is off, its default.
        raise Forbidden("It's not allowed to update locations if locations are invisible.")
    if name not in IMAGE_PROPERTIES:
        check_property_name(name)
    if op == "remove":
        return Change(op, name)
    if "value" not in raw:
        raise BadRequest(f'Operation "{op}" requires a member named "value".')
    IMAGE_VALIDATOR.validate({name: raw["value"]})
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


@dataclass
class EditableImage:
    """The writable state of an image while a patch applies to it."""

    status: str
    core: dict[str, Any]
    properties: dict[str, str]
    tags: list[str]
    changed_core: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, image: Image, tags: list[str]) -> EditableImage:
        core = {name: getattr(image, name) for name in WRITABLE if name != "tags"}
        return cls(image.status, core, dict(image.properties or {}), list(tags))

    def apply(self, change: Change, draft: int) -> None:
        name = change.path
        if change.op == "remove":
            if name in WRITABLE:
                raise Forbidden(f"Property {name} may not be removed.")
            if name not in self.properties:
                raise Conflict(f"Property {name} does not exist.")
            del self.properties[name]
            return
        present = name in WRITABLE or name in self.properties
        if change.op == "add" and draft == 4 and present:
            raise Conflict(f"Property {name} already present.")
        if change.op == "replace" and not present:
            raise Conflict(f"Property {name} does not exist.")
        if name == "tags":
            self.tags = list(dict.fromkeys(change.value))
        elif name in WRITABLE:
            self._set_core(name, change.value)
        else:
            self.properties[name] = change.value

    def _set_core(self, name: str, value: Any) -> None:
        if name in ("disk_format", "container_format") and self.status != "queued":
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        self.core[name] = value
        self.changed_core.add(name)
