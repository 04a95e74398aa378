"""The query of ``GET /servers/{id}/os-instance-actions`` (2.58+)."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION


def _list_query(version: Version) -> dict[str, Any]:
    """``limit``, ``marker``, ``changes-since`` (2.58) and ``changes-before`` (2.66);
    anything else is a 400, as in Nova."""
    time = {"type": "string"}   # parsed as ISO 8601 by the handler
    properties: dict[str, Any] = {
        "limit": {"type": "string", "pattern": "^[0-9]+$"},
        "marker": {"type": "string"},
        "changes-since": time,
    }
    if at_least(version, "2.66"):
        properties["changes-before"] = time
    return {"type": "object", "additionalProperties": False, "properties": properties}


LIST_QUERY: Final = ByVersion(_list_query, "2.66", base=BASE_VERSION)
