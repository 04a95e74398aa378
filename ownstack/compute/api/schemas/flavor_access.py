"""The tenant access actions of ``POST /flavors/{id}/action``, after Nova's
``schemas/flavor_access.py``."""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator
from ownstack.compute.api.schemas.parameter_types import SHORT_TEXT, one

_TENANT: Final = one("tenant", SHORT_TEXT)

ACTION: Final = Validator({
    "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
    "properties": {"addTenantAccess": _TENANT, "removeTenantAccess": _TENANT}})
