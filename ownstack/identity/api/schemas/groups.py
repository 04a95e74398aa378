"""The bodies of ``/v3/groups``."""

from __future__ import annotations

from ownstack.common.api.schema import DESCRIPTION, NAME, NULLABLE_ID
from ownstack.identity.api.schemas.common import entity_body

_FIELDS = {"name": NAME, "description": DESCRIPTION, "domain_id": NULLABLE_ID}

CREATE = entity_body("group", _FIELDS, required=("name",), forbid_id=True)
UPDATE = entity_body("group", _FIELDS, update=True, forbid_id=True)
