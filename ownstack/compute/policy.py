"""Compute's default policy for the rules ownstack implements, as Nova ships them
(the 2023.1+ secure defaults, ``enforce_scope`` aside). A policy file overrides any rule."""

from __future__ import annotations

from typing import Final

ADMIN: Final = "rule:context_is_admin"
ANY: Final = "@"
PROJECT_READER_OR_ADMIN: Final = "rule:project_reader_or_admin"
ADMIN_OR_OWNER: Final = "(rule:context_is_admin) or user_id:%(user_id)s"

DEFAULT_RULES: Final[dict[str, str]] = {
    "context_is_admin": "role:admin",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
    # Listing and showing flavors has no rule in Nova: any authenticated user may.
    "os_compute_api:os-flavor-manage:create": ADMIN,
    "os_compute_api:os-flavor-manage:update": ADMIN,
    "os_compute_api:os-flavor-manage:delete": ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": PROJECT_READER_OR_ADMIN,
    "os_compute_api:os-flavor-extra-specs:show": PROJECT_READER_OR_ADMIN,
    "os_compute_api:os-flavor-extra-specs:create": ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": ADMIN,
    "os_compute_api:os-flavor-access": ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": ADMIN,
    "os_compute_api:os-keypairs:index": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:create": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:show": ADMIN_OR_OWNER,
    "os_compute_api:os-keypairs:delete": ADMIN_OR_OWNER,
}
