"""The bodies of OS-EP-FILTER's endpoint groups, as Keystone's schema (closed)."""

from __future__ import annotations

from ownstack.common.api.schema import DESCRIPTION, NAME
from ownstack.identity.api.schemas.common import entity_body

_FILTERS = {"type": "object", "properties": {
    "interface": {"type": "string", "enum": ["admin", "internal", "public"]},
    "service_id": {"type": "string", "maxLength": 64},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "enabled": {"type": "boolean"},
}}
_FIELDS = {"name": NAME, "description": DESCRIPTION, "filters": _FILTERS}

CREATE = entity_body("endpoint_group", _FIELDS, required=("name", "filters"), closed=True)
# `openstack endpoint group set` sends `"filters": null` when it changes only the name or
# description (Keystone's schema refuses it, so the command fails there): null keeps the
# filters as they are.
UPDATE = entity_body("endpoint_group", {
    **_FIELDS, "filters": {**_FILTERS, "type": ["object", "null"]}}, update=True, closed=True)
