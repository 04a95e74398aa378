"""The image schema: Glance's ``/v2/schemas/image``, property for property, and the
validator of create bodies and patch values built from it.

glanceclient and Tempest read the published document; the validator is the same schema
tightened to what the database can store.
"""

from __future__ import annotations

import copy
from typing import Any

from ownstack.common.api.schema import Validator
from ownstack.image.api.schemas.common import UUID_PATTERN, collection_document
from ownstack.image.objects.image_changes import WRITABLE
from ownstack.image.objects.images import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES

MAX_TAG_LENGTH = 255
MAX_KEY_LENGTH = 255
# Glance keeps property values in a TEXT column.
MAX_VALUE_LENGTH = 65535
_MAX_INT = 2**31 - 1

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
             "items": {"type": "string", "maxLength": MAX_TAG_LENGTH}},
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


def image_document() -> dict[str, Any]:
    """Glance's permissive image schema: extra properties are strings."""
    return {"name": "image", "properties": IMAGE_PROPERTIES,
            "additionalProperties": {"type": "string"}, "links": _IMAGE_LINKS}


def images_document() -> dict[str, Any]:
    return collection_document("images", image_document())


# Read-only attributes refused before the body is validated, as Glance does.
REFUSED_FIRST = ("direct_url", "self", "file", "schema", "stores")
READ_ONLY = frozenset(IMAGE_PROPERTIES) - {*WRITABLE, "locations"}
RESERVED = frozenset({"location", "locations", "deleted", "deleted_at"})
RESERVED_PREFIX = "os_glance"


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


IMAGE = _validator()
