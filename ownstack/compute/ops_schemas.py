"""JSON schemas and query rules of the operator APIs (services, server groups, usage,
hypervisors), after Nova's ``schemas/services.py``, ``server_groups.py`` and friends."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from ownstack.common.errors import BadRequest

_NAME: Final = {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": r"^\S(?:.*\S)?$"}
_REASON: Final = {"type": "string", "minLength": 1, "maxLength": 255}
_HOST: Final = {"type": "string", "minLength": 1, "maxLength": 255}
_POSITIVE: Final = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 1,
                    "minLength": 1, "maximum": 2147483647}

# --- os-services ----------------------------------------------------------------------------

UPDATE_SERVICE: Final = {
    "type": "object", "additionalProperties": False,
    "properties": {"status": {"type": "string", "enum": ["enabled", "disabled"]},
                   "disabled_reason": _REASON,
                   "forced_down": {"type": "boolean"}}}


def legacy_service_action(with_forced_down: bool) -> dict[str, Any]:
    """The body of ``PUT /os-services/{enable,disable,disable-log-reason,force-down}``,
    the actions that 2.53 replaced by ``PUT /os-services/{uuid}``."""
    properties: dict[str, Any] = {"host": _HOST, "binary": _HOST, "disabled_reason": _REASON}
    if with_forced_down:
        properties["forced_down"] = {"type": "boolean"}
    return {"type": "object", "required": ["host", "binary"], "additionalProperties": False,
            "properties": properties}


SERVICES_QUERY: Final = frozenset({"host", "binary"})

# --- os-server-groups -----------------------------------------------------------------------

POLICIES_21: Final = ("anti-affinity", "affinity")
POLICIES: Final = ("anti-affinity", "affinity", "soft-anti-affinity", "soft-affinity")


def create_server_group(*, policies: tuple[str, ...], with_policy: bool) -> dict[str, Any]:
    """Before 2.64 a one-item ``policies`` list; from 2.64 ``policy`` and ``rules``."""
    properties: dict[str, Any] = {"name": _NAME}
    if with_policy:
        properties["policy"] = {"type": "string", "enum": list(policies)}
        properties["rules"] = {"type": "object", "additionalProperties": False,
                               "properties": {"max_server_per_host": _POSITIVE}}
        required = ["name", "policy"]
    else:
        properties["policies"] = {"type": "array", "minItems": 1, "maxItems": 1,
                                  "items": {"type": "string", "enum": list(policies)}}
        required = ["name", "policies"]
    return {"type": "object", "required": ["server_group"], "additionalProperties": False,
            "properties": {"server_group": {"type": "object", "properties": properties,
                                            "required": required,
                                            "additionalProperties": False}}}


SERVER_GROUPS_QUERY: Final = frozenset({"all_projects", "limit", "offset"})

# --- os-simple-tenant-usage and os-hypervisors ----------------------------------------------

USAGE_LIST_QUERY: Final = frozenset({"start", "end", "detailed", "limit", "marker"})
USAGE_SHOW_QUERY: Final = frozenset({"start", "end", "limit", "marker"})
HYPERVISORS_QUERY: Final = frozenset({"limit", "marker", "hypervisor_hostname_pattern",
                                      "with_servers"})
HYPERVISOR_SHOW_QUERY: Final = frozenset({"with_servers"})


def reject_unknown_params(given: Iterable[str], allowed: frozenset[str]) -> None:
    """From 2.75 Nova answers an unknown query parameter with a 400."""
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise BadRequest(f"Invalid input for query parameters: additional properties are "
                         f"not allowed ({', '.join(unknown)} unexpected)")


_TRUE: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE: Final = frozenset({"0", "f", "false", "off", "n", "no"})


def strict_bool(name: str, value: str) -> bool:
    """oslo's ``bool_from_string(strict=True)``: anything else is a 400."""
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise BadRequest(f"Invalid input for query parameters {name}: '{value}' is not a "
                     "boolean.")
