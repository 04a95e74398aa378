"""The bodies of ``/v3/regions``, ``/v3/services`` and ``/v3/endpoints``."""

from __future__ import annotations

from ownstack.common.api.schema import BOOLEAN, DESCRIPTION, NAME
from ownstack.identity.api.schemas.common import entity_body
from ownstack.identity.objects.catalog import INTERFACES

_REGION_FIELDS = {"id": {"type": "string", "minLength": 1, "maxLength": 255},
                  "description": DESCRIPTION,
                  "parent_region_id": {"type": ["string", "null"], "maxLength": 255}}
_SERVICE_FIELDS = {"type": NAME, "name": {"type": "string", "maxLength": 255},
                   "description": DESCRIPTION, "enabled": BOOLEAN}
_ENDPOINT_FIELDS = {
    "interface": {"type": "string", "enum": list(INTERFACES)},
    "service_id": {"type": "string", "minLength": 1, "maxLength": 64},
    "region_id": {"type": ["string", "null"], "maxLength": 255},
    "region": {"type": ["string", "null"], "maxLength": 255},   # before v3.2; still sent
    # Keystone's url type: a scheme, a colon, something.
    "url": {"type": "string", "maxLength": 225, "pattern": "^[a-zA-Z0-9+.-]+:.+"},
    "enabled": BOOLEAN,
}

CREATE_REGION = entity_body("region", _REGION_FIELDS)
UPDATE_REGION = entity_body("region", _REGION_FIELDS, update=True)
CREATE_SERVICE = entity_body("service", _SERVICE_FIELDS, required=("type",))
UPDATE_SERVICE = entity_body("service", _SERVICE_FIELDS, update=True)
CREATE_ENDPOINT = entity_body("endpoint", _ENDPOINT_FIELDS,
                              required=("interface", "service_id", "url"))
UPDATE_ENDPOINT = entity_body("endpoint", _ENDPOINT_FIELDS, update=True)
