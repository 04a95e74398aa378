"""Placement's default policy, as Placement ships it: admin or service only.

Only the project usage report is open to a reader of that project. A policy file may
override any rule by name.
"""

from __future__ import annotations

from typing import Final

ADMIN_OR_SERVICE: Final = "rule:admin_or_service_api"

_ADMIN_OR_SERVICE_RULES: Final = (
    "placement:resource_providers:list",
    "placement:resource_providers:create",
    "placement:resource_providers:show",
    "placement:resource_providers:update",
    "placement:resource_providers:delete",
    "placement:resource_providers:inventories:list",
    "placement:resource_providers:inventories:create",
    "placement:resource_providers:inventories:show",
    "placement:resource_providers:inventories:update",
    "placement:resource_providers:inventories:delete",
    "placement:resource_providers:aggregates:list",
    "placement:resource_providers:aggregates:update",
    "placement:resource_providers:usages",
    "placement:resource_providers:allocations:list",
    "placement:resource_providers:traits:list",
    "placement:resource_providers:traits:update",
    "placement:resource_providers:traits:delete",
    "placement:resource_classes:list",
    "placement:resource_classes:create",
    "placement:resource_classes:show",
    "placement:resource_classes:update",
    "placement:resource_classes:delete",
    "placement:traits:list",
    "placement:traits:show",
    "placement:traits:update",
    "placement:traits:delete",
    "placement:allocations:list",
    "placement:allocations:manage",
    "placement:allocations:update",
    "placement:allocations:delete",
    "placement:allocation_candidates:list",
    "placement:reshaper:reshape",
)

DEFAULT_RULES: Final[dict[str, str]] = {
    "admin_api": "role:admin",
    "service_api": "role:service",
    "admin_or_service_api": "role:admin or role:service",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "admin_or_project_reader_or_service_api":
        "role:admin or rule:project_reader_api or role:service",
    **{rule: ADMIN_OR_SERVICE for rule in _ADMIN_OR_SERVICE_RULES},
    "placement:usages": "rule:admin_or_project_reader_or_service_api",
}
