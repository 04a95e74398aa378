"""The request context: who is calling, with what scope and roles.

Built by the auth middleware from a validated token and handed to every handler and
domain method. Policy checks read their credentials from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    user_id: str | None = None
    user_name: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None            # set for domain-scoped tokens
    system_scope: str | None = None         # "all" for system-scoped tokens
    roles: tuple[str, ...] = ()
    auth_token: str | None = None
    audit_ids: tuple[str, ...] = ()
    app_cred_id: str | None = None
    app_cred_unrestricted: bool = True
    # An application credential's access rules (service, method, path of each): None
    # when the token may call anything its roles allow.
    access_rules: tuple[dict[str, str], ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def credentials(self) -> dict[str, Any]:
        """The credential dict that policy rules test (oslo.policy's names)."""
        return {
            "user_id": self.user_id,
            "user_domain_id": self.user_domain_id,
            "project_id": self.project_id,
            "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id,
            "system_scope": self.system_scope,
            "roles": list(self.roles),
        }
