"""JSON schemas: ``GET /v2/schemas/image``, ``/images``, ``/member`` and ``/members``.

glanceclient and Tempest read these documents; they are Glance's, property for property.
The same property table validates request bodies (see ``api/image_changes.py``), so what
we publish is what we enforce.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import json_response
from ownstack.image.objects.images import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    MEMBER_STATUSES,
    VISIBILITIES,
)
from ownstack.image.state import Req

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")

_READ_ONLY_STRING = {"type": "string", "readOnly": True}

IMAGE_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "description": "An identifier for the image",
           "pattern": UUID_PATTERN},
    "name": {"type": ["null", "string"], "description": "Descriptive name for the image",
             "maxLength": 255},
    "status": {"type": "string", "readOnly": True, "description": "Status of the image",
               "enum": ["queued", "saving", "active", "killed", "deleted", "uploading",
                        "importing", "pending_delete", "deactivated"]},
    "visibility": {"type": "string", "description": "Scope of image accessibility",
                   "enum": list(VISIBILITIES)},
    "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
    "os_hidden": {"type": "boolean", "description": "If true, image will not appear in "
                  "default image list response."},
    "checksum": {"type": ["null", "string"], "readOnly": True,
                 "description": "md5 hash of image contents.", "maxLength": 32},
    "os_hash_algo": {"type": ["null", "string"], "readOnly": True,
                     "description": "Algorithm to calculate the os_hash_value",
                     "maxLength": 64},
    "os_hash_value": {"type": ["null", "string"], "readOnly": True,
                      "description": "Hexdigest of the image contents using the algorithm "
                      "specified by the os_hash_algo", "maxLength": 128},
    "owner": {"type": ["null", "string"], "description": "Owner of the image",
              "maxLength": 255},
    "size": {"type": ["null", "integer"], "readOnly": True,
             "description": "Size of image file in bytes"},
    "virtual_size": {"type": ["null", "integer"], "readOnly": True,
                     "description": "Virtual size of image in bytes"},
    "container_format": {"type": ["null", "string"], "description": "Format of the container",
                         "enum": [None, *CONTAINER_FORMATS]},
    "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                    "enum": [None, *DISK_FORMATS]},
    "created_at": {**_READ_ONLY_STRING, "description": "Date and time of image registration"},
    "updated_at": {**_READ_ONLY_STRING,
                   "description": "Date and time of the last image modification"},
    "tags": {"type": "array", "description": "List of strings related to the image",
             "items": {"type": "string", "maxLength": 255}},
    "direct_url": {**_READ_ONLY_STRING,
                   "description": "URL to access the image file kept in external store"},
    "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot "
                "image."},
    "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) required "
                 "to boot image."},
    "self": {**_READ_ONLY_STRING, "description": "An image self url"},
    "file": {**_READ_ONLY_STRING, "description": "An image file url"},
    "stores": {**_READ_ONLY_STRING, "description": "Store in which image data resides.  Only "
               "present when the operator has enabled multiple stores.  May be a "
               "comma-separated list of store identifiers."},
    "schema": {**_READ_ONLY_STRING, "description": "An image schema url"},
    "locations": {"type": "array", "description": "A set of URLs to access the image file "
                  "kept in external store",
                  "items": {"type": "object", "required": ["url", "metadata"], "properties": {
                      "url": {"type": "string", "maxLength": 255},
                      "metadata": {"type": "object"}}}},
}

_IMAGE_LINKS = [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
                {"rel": "describedby", "href": "{schema}"}]

MEMBER_PROPERTIES: dict[str, dict[str, Any]] = {
    "member_id": {"type": "string",
                  "description": "An identifier for the image member (tenantId)"},
    "image_id": {"type": "string", "description": "An identifier for the image",
                 "pattern": UUID_PATTERN},
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {"type": "string",
                   "description": "Date and time of last modification of image member"},
    "status": {"type": "string", "description": "The status of this image member",
               "enum": list(MEMBER_STATUSES)},
    "schema": {"type": "string"},
}


def image_document() -> dict[str, Any]:
    """Glance's permissive image schema: extra properties are strings."""
    return {"name": "image", "properties": IMAGE_PROPERTIES,
            "additionalProperties": {"type": "string"}, "links": _IMAGE_LINKS}


def member_document() -> dict[str, Any]:
    return {"name": "member", "properties": MEMBER_PROPERTIES, "additionalProperties": False}


def _collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"name": name,
            "properties": {name: {"type": "array", "items": item},
                           "first": {"type": "string"}, "next": {"type": "string"},
                           "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


async def image_schema(req: Req) -> Response:
    return json_response(image_document())


async def images_schema(req: Req) -> Response:
    return json_response(_collection("images", image_document()))


async def member_schema(req: Req) -> Response:
    return json_response(member_document())


async def members_schema(req: Req) -> Response:
    return json_response(_collection("members", member_document()))
