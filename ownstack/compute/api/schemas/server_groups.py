"""``os-server-groups`` bodies and query, after Nova's ``schemas/server_groups.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, NAME, POSITIVE_INT32, wrapped


def _create(version: Version) -> dict[str, Any]:
    """Before 2.64 a one-item ``policies`` list; from 2.64 ``policy`` and ``rules``. The
    soft policies come with 2.15."""
    policies = ["anti-affinity", "affinity"]
    if at_least(version, "2.15"):
        policies += ["soft-anti-affinity", "soft-affinity"]
    properties: dict[str, Any] = {"name": NAME}
    if at_least(version, "2.64"):
        properties["policy"] = {"type": "string", "enum": policies}
        properties["rules"] = {"type": "object", "additionalProperties": False,
                               "properties": {"max_server_per_host": POSITIVE_INT32}}
        return wrapped("server_group", properties, ["name", "policy"])
    properties["policies"] = {"type": "array", "minItems": 1, "maxItems": 1,
                              "items": {"type": "string", "enum": policies}}
    return wrapped("server_group", properties, ["name", "policies"])


CREATE: Final = ByVersion(_create, "2.15", "2.64", base=BASE_VERSION)
LIST_QUERY: Final = frozenset({"all_projects", "limit", "offset"})
