"""The identity service's response bodies, one function per thing shown.

Each takes the request (for the links) and the rows it renders. An entity with
Keystone's ``extra`` attributes shows them first, so that no extra attribute can hide a
real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ownstack.identity.objects.assignments import AssignmentNames, AssignmentRef
from ownstack.identity.objects.models import (
    AccessRule,
    ApplicationCredential,
    Credential,
    Domain,
    Endpoint,
    EndpointGroup,
    Group,
    OAuthAccessToken,
    OAuthConsumer,
    Policy,
    Project,
    Region,
    Role,
    Service,
    User,
)
from ownstack.identity.state import Req
from ownstack.identity.tokens.provider import isotime, stored_time


def link(req: Req, path: str) -> dict[str, str]:
    return {"self": f"{req.base_url()}{path}"}


def collection(req: Req, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """A list as Keystone answers it: the items and the (never paginated) links."""
    return {key: items, "links": {"self": req.url(), "previous": None, "next": None}}


def _timestamp(moment: datetime | None) -> str | None:
    return stored_time(moment) if moment is not None else None


# --- domains, projects, users, groups ------------------------------------------------------

def domain(req: Req, d: Domain) -> dict[str, Any]:
    return {**d.extra, "id": d.id, "name": d.name, "description": d.description or "",
            "enabled": d.enabled, "tags": [], "options": {},
            "links": link(req, f"/v3/domains/{d.id}")}


def auth_domain(req: Req, d: Domain) -> dict[str, Any]:
    """A domain as ``/v3/auth/domains`` lists it: without extra attributes."""
    return {"id": d.id, "name": d.name, "enabled": d.enabled,
            "description": d.description or "", "links": link(req, f"/v3/domains/{d.id}")}


def auth_project(req: Req, p: Project) -> dict[str, Any]:
    """A project as ``/v3/auth/projects`` lists it: without extra attributes or tags."""
    return {"id": p.id, "name": p.name, "domain_id": p.domain_id, "enabled": p.enabled,
            "description": p.description or "", "is_domain": False,
            # A top-level project's parent is its domain, as Keystone reports it.
            "parent_id": p.parent_id or p.domain_id,
            "links": link(req, f"/v3/projects/{p.id}")}


def project(req: Req, p: Project, tags: Sequence[str]) -> dict[str, Any]:
    return {**p.extra, **auth_project(req, p), "tags": list(tags), "options": {}}


def domain_project(req: Req, d: Domain) -> dict[str, Any]:
    """A domain as ``/v3/projects`` shows it: a project acting as a domain."""
    return {**d.extra, "id": d.id, "name": d.name, "description": d.description or "",
            "enabled": d.enabled, "domain_id": None, "parent_id": None, "is_domain": True,
            "tags": [], "options": {}, "links": link(req, f"/v3/projects/{d.id}")}


def projects(req: Req, found: Sequence[Project], tags: dict[str, list[str]]
             ) -> dict[str, Any]:
    return collection(req, "projects", [project(req, p, tags[p.id]) for p in found])


def user(req: Req, u: User, password_expires_at: datetime | None) -> dict[str, Any]:
    optional = {key: getattr(u, key) for key in ("default_project_id", "description", "email")
                if getattr(u, key) is not None}
    return {**u.extra, **optional, "id": u.id, "name": u.name, "domain_id": u.domain_id,
            "enabled": u.enabled, "options": dict(u.options or {}),
            "password_expires_at": _timestamp(password_expires_at),
            "links": link(req, f"/v3/users/{u.id}")}


def users(req: Req, found: Sequence[User], expiries: dict[str, datetime | None]
          ) -> dict[str, Any]:
    return collection(req, "users", [user(req, u, expiries[u.id]) for u in found])


def group(req: Req, g: Group) -> dict[str, Any]:
    return {**g.extra, "id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description or "", "links": link(req, f"/v3/groups/{g.id}")}


def user_group(req: Req, g: Group) -> dict[str, Any]:
    """A group as a user's list of groups shows it: memberships never expire here."""
    return {**group(req, g), "membership_expires_at": None}


# --- roles and their implications ----------------------------------------------------------

def role(req: Req, r: Role) -> dict[str, Any]:
    return {**r.extra, "id": r.id, "name": r.name, "domain_id": r.domain_id or None,
            "description": r.description, "options": dict(r.options or {}),
            "links": link(req, f"/v3/roles/{r.id}")}


def role_ref(req: Req, r: Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": link(req, f"/v3/roles/{r.id}")}


def implied_role(req: Req, prior: Role, implied: Role) -> dict[str, Any]:
    return {"role_inference": {"prior_role": role_ref(req, prior),
                               "implies": role_ref(req, implied)},
            "links": link(req, f"/v3/roles/{prior.id}/implies/{implied.id}")}


def inference(req: Req, prior: Role, implied: Sequence[Role]) -> dict[str, Any]:
    """One prior role with every role it implies."""
    return {"prior_role": role_ref(req, prior), "implies": [role_ref(req, r) for r in implied]}


# --- role assignments ----------------------------------------------------------------------

def _named_domain(ident: str, names: AssignmentNames | None) -> dict[str, Any]:
    if names is None:
        return {"id": ident}
    return {"id": ident, "name": names.domains.get(ident, "")}


def _named(ident: str, names: AssignmentNames | None, *, role: bool = False
           ) -> dict[str, Any]:
    """A user, group, project or role by id, and with ``names`` by name and domain (a
    global role has none)."""
    if names is None:
        return {"id": ident}
    name, domain_id = names.owned.get(ident, ("", ""))
    if role and not domain_id:
        return {"id": ident, "name": name}
    return {"id": ident, "name": name, "domain": _named_domain(domain_id, names)}


def role_assignment(req: Req, ref: AssignmentRef, names: AssignmentNames | None
                    ) -> dict[str, Any]:
    """Keystone's rendering: the assignment link points at the grant that caused it."""
    base = f"{req.base_url()}/v3"
    links: dict[str, str] = {}
    inherited = ref.inherited
    scope: dict[str, Any]
    if ref.project_id is not None:
        scope = {"project": _named(ref.project_id, names)}
        inherited = inherited or bool(ref.via_domain or ref.via_project)
        path = (f"/domains/{ref.via_domain}" if ref.via_domain else
                f"/projects/{ref.via_project or ref.project_id}")
    elif ref.domain_id is not None:
        scope = {"domain": _named_domain(ref.domain_id, names)}
        path = f"/domains/{ref.domain_id}"
    else:
        scope = {"system": {"all": True}}
        path = "/system"
    entity: dict[str, Any] = {"scope": scope}
    if ref.user_id is not None:
        entity["user"] = _named(ref.user_id, names)
        if ref.via_group:
            links["membership"] = f"{base}/groups/{ref.via_group}/users/{ref.user_id}"
        path += f"/groups/{ref.via_group}" if ref.via_group else f"/users/{ref.user_id}"
    elif ref.group_id is not None:
        entity["group"] = _named(ref.group_id, names)
        path += f"/groups/{ref.group_id}"
    entity["role"] = _named(ref.role_id, names, role=True)
    path += f"/roles/{ref.prior_role or ref.role_id}"
    if inherited:
        scope["OS-INHERIT:inherited_to"] = "projects"
        links["assignment"] = f"{base}/OS-INHERIT{path}/inherited_to_projects"
    else:
        links["assignment"] = f"{base}{path}"
    if ref.prior_role:
        links["prior_role"] = f"{base}/roles/{ref.prior_role}/implies/{ref.role_id}"
    entity["links"] = links
    return entity


# --- the catalog ---------------------------------------------------------------------------

def region(req: Req, r: Region) -> dict[str, Any]:
    return {**r.extra, "id": r.id, "description": r.description or "",
            "parent_region_id": r.parent_region_id, "links": link(req, f"/v3/regions/{r.id}")}


def service(req: Req, s: Service) -> dict[str, Any]:
    return {**s.extra, "id": s.id, "type": s.type, "name": s.name,
            "description": s.description or "", "enabled": s.enabled,
            "links": link(req, f"/v3/services/{s.id}")}


def endpoint(req: Req, e: Endpoint) -> dict[str, Any]:
    return {**e.extra, "id": e.id, "interface": e.interface, "region": e.region_id,
            "region_id": e.region_id, "service_id": e.service_id, "url": e.url,
            "enabled": e.enabled, "links": link(req, f"/v3/endpoints/{e.id}")}


# --- OS-EP-FILTER --------------------------------------------------------------------------

def endpoint_group(req: Req, g: EndpointGroup) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "description": g.description,
            "filters": dict(g.filters),
            "links": link(req, f"/v3/OS-EP-FILTER/endpoint_groups/{g.id}")}


def project_endpoint_group(req: Req, group_id: str, project_id: str) -> dict[str, Any]:
    return {"endpoint_group_id": group_id, "project_id": project_id, "links": link(
        req, f"/v3/OS-EP-FILTER/endpoint_groups/{group_id}/projects/{project_id}")}


# --- application credentials ---------------------------------------------------------------

def app_cred(req: Req, cred: ApplicationCredential, roles: Sequence[Role],
             rules: Sequence[AccessRule] = ()) -> dict[str, Any]:
    shown = {
        "id": cred.id, "name": cred.name, "description": cred.description,
        "user_id": cred.user_id, "project_id": cred.project_id,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id or None}
                  for r in roles],
        "expires_at": _timestamp(cred.expires_at), "unrestricted": cred.unrestricted,
        "links": link(req, f"/v3/users/{cred.user_id}/application_credentials/{cred.id}"),
    }
    if rules:
        # As Keystone: only a credential that has access rules shows the attribute.
        shown["access_rules"] = [access_rule_ref(r) for r in rules]
    return shown


def access_rule_ref(rule: AccessRule) -> dict[str, Any]:
    return {"id": rule.id, "service": rule.service, "path": rule.path, "method": rule.method}


def access_rule(req: Req, rule: AccessRule) -> dict[str, Any]:
    return {**access_rule_ref(rule),
            "links": link(req, f"/v3/users/{rule.user_id}/access_rules/{rule.id}")}


# --- credentials and the policy store -----------------------------------------------------

def credential(req: Req, c: Credential, blob: str) -> dict[str, Any]:
    """A credential with its blob, decrypted, as the string it was given as."""
    return {**c.extra, "id": c.id, "user_id": c.user_id, "project_id": c.project_id,
            "type": c.type, "blob": blob, "links": link(req, f"/v3/credentials/{c.id}")}


def ec2_credential(req: Req, c: Credential, blob: dict[str, Any]) -> dict[str, Any]:
    """An EC2 key pair as ``OS-EC2`` shows it: found by its access key."""
    access = blob.get("access")
    return {"user_id": c.user_id, "tenant_id": c.project_id, "access": access,
            "secret": blob.get("secret"), "trust_id": blob.get("trust_id"),
            "links": link(req, f"/v3/users/{c.user_id}/credentials/OS-EC2/{access}")}


def policy(req: Req, p: Policy) -> dict[str, Any]:
    return {**p.extra, "id": p.id, "type": p.type, "blob": p.blob,
            "links": link(req, f"/v3/policies/{p.id}")}


# --- version discovery ---------------------------------------------------------------------

_UPDATED = "2024-04-01T00:00:00Z"
_MEDIA_TYPES = [{"base": "application/json",
                 "type": "application/vnd.openstack.identity-v3+json"}]


def version_v3(req: Req) -> dict[str, Any]:
    return {"id": "v3.14", "status": "stable", "updated": _UPDATED,
            "links": [{"rel": "self", "href": f"{req.base_url()}/v3/"}],
            "media-types": _MEDIA_TYPES}


# --- OS-OAUTH1 -----------------------------------------------------------------------------

def consumer(req: Req, c: OAuthConsumer) -> dict[str, Any]:
    """A consumer, without its secret (shown once, by the create)."""
    return {**c.extra, "id": c.id, "description": c.description,
            "links": link(req, f"/v3/OS-OAUTH1/consumers/{c.id}")}


def oauth_access_token(req: Req, t: OAuthAccessToken) -> dict[str, Any]:
    """An access token as Keystone shows it: without its secret and roles, which have a
    link of their own."""
    path = f"{req.base_url()}/v3/users/{t.user_id}/OS-OAUTH1/access_tokens/{t.id}"
    return {"id": t.id, "consumer_id": t.consumer_id, "project_id": t.project_id,
            "authorizing_user_id": t.user_id,
            "expires_at": isotime(t.expires_at) if t.expires_at is not None else None,
            "links": {"self": path, "roles": f"{path}/roles"}}


def oauth_role(req: Req, r: Role) -> dict[str, Any]:
    """A role an access token delegates: Keystone's role without its description."""
    return {**r.extra, "id": r.id, "name": r.name, "domain_id": r.domain_id or None,
            "options": dict(r.options or {}), "links": link(req, f"/v3/roles/{r.id}")}
