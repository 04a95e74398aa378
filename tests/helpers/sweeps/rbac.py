"""Who may call each route of each route table: the RBAC matrix, as data.

Each route maps to six outcomes, written ``"own/other"``, three letters on each side, for
an admin, a member and a reader of one project (in that order):

- ``own``: the request is about that project's own resources (its server, its image, its
  quota, the caller's own user, keypair or application credential), or about no
  project's (a flavor, a role, a provider) where both sides are the same;
- ``other``: the same request about another project's resources (another user's).

Letters: ``o`` the call succeeds (2xx), ``d`` it is denied (403), ``h`` the resource is
hidden (404, as if it did not exist), ``u`` unauthenticated (401), ``n`` the caller may but
the operation is not supported (501, as OpenStack answers it: Nova's host power actions),
``g`` gone for everyone (410: what Nova removed with nova-network).

The outcomes are OpenStack's own default policies (the 2023.1+ secure defaults: an
``admin`` anywhere is the cloud admin, a project ``member`` manages the project's
resources, a ``reader`` reads them and never writes):

- Keystone answers 403 for another project, user or domain (it checks policy before it
  looks): ``keystone/common/policies``. Only the cloud admin manages users, projects,
  roles, grants and the catalog; a user reads its own user, projects, groups and tokens and
  manages its own application credentials.
- Glance: reads need ``reader``, every write (and a download) ``member``, of the owning
  project; an image another project cannot see is a 404 (``glance/policies/image.py``,
  ``base.py``). A share is answered by the project it is made with, or by an admin.
- Placement: everything is admin (or service) only, but ``GET /usages``, which a project's
  reader may ask about its own project (``placement/policies``).
- Nova: a server, server group or keypair of another project (user) is a 404 (its
  database queries filter by project for non-admins); a quota set or usage report of
  another project is a 403 (the policy target is the project in the URL). Flavor,
  hypervisor, service and aggregate management is admin only (``nova/policies``).
- Neutron: another project's resource is a 404; a reader reads, a member writes
  (``neutron/conf/policies``).
- Cinder: another project's volume, snapshot, attachment or transfer is a 404 (its
  queries filter by project), but a transfer's accept, which any project's member may
  make; a reader reads, a member writes; types, QoS, services and quota changes
  are the admin's (``cinder/policies``).
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.sweeps.routes import Route


@dataclass(frozen=True)
class Expected:
    own: str
    other: str

    def outcome(self, side: str, role: str) -> str:
        return (self.own if side == "own" else self.other)[("admin", "member", "reader")
                                                           .index(role)]

    def __str__(self) -> str:
        return f"{self.own}/{self.other}"


def outcome_of(status: int) -> str:
    if 200 <= status < 300 or status == 300:      # 300: a version document
        return "o"
    return {401: "u", 403: "d", 404: "h", 410: "g", 501: "n"}.get(status, str(status))


def _table(service: str, rows: dict[tuple[str, str], str]) -> dict[Route, Expected]:
    table = {}
    for (method, template), outcomes in rows.items():
        own, other = outcomes.split("/")
        assert len(own) == len(other) == 3 and set(own + other) <= set("odhung"), outcomes
        table[Route(service, template, method)] = Expected(own, other)
    return table


ANYONE = "ooo/ooo"
ADMIN = "odd/odd"
GONE = "ggg/ggg"
# What Nova removed with nova-network: a 410 whoever asks.
NOVA_NETWORK_ONLY = (("POST", "/v2.1/os-networks"), ("POST", "/v2.1/os-networks/add"),
                     ("DELETE", "/v2.1/os-networks/{network_id}"),
                     ("POST", "/v2.1/os-networks/{network_id}/action"),
                     ("POST", "/v2.1/os-tenant-networks"),
                     ("DELETE", "/v2.1/os-tenant-networks/{network_id}"))


def _grants(path: str) -> dict[tuple[str, str], str]:
    """Role grants: only the cloud admin lists, checks, gives and revokes them."""
    return {("GET", path): ADMIN, ("GET", f"{path}/{{role_id}}"): ADMIN,
            ("HEAD", f"{path}/{{role_id}}"): ADMIN, ("PUT", f"{path}/{{role_id}}"): ADMIN,
            ("DELETE", f"{path}/{{role_id}}"): ADMIN}


IDENTITY = _table("identity", {
    ("GET", "/"): ANYONE,
    ("GET", "/v3"): ANYONE,
    ("GET", "/v3/auth/catalog"): ANYONE,
    ("GET", "/v3/auth/domains"): ANYONE,
    ("GET", "/v3/auth/projects"): ANYONE,
    ("GET", "/v3/auth/system"): ANYONE,
    ("POST", "/v3/auth/tokens"): ANYONE,
    # A token's own user validates and revokes it; another user's token is the admin's.
    ("GET", "/v3/auth/tokens"): "ooo/odd",
    ("HEAD", "/v3/auth/tokens"): "ooo/odd",
    ("DELETE", "/v3/auth/tokens"): "ooo/odd",
    ("GET", "/v3/domains"): ADMIN,
    ("POST", "/v3/domains"): ADMIN,
    # The domain of the caller's project is readable (token.project.domain.id).
    ("GET", "/v3/domains/{domain_id}"): "ooo/odd",
    ("PATCH", "/v3/domains/{domain_id}"): ADMIN,
    ("DELETE", "/v3/domains/{domain_id}"): ADMIN,
    # Domain-specific configuration and its defaults: the cloud admin's (or a system
    # reader's, for reading).
    **{(method, f"/v3/domains/{{domain_id}}/config{tail}"): ADMIN
       for tail in ("", "/{group}", "/{group}/{option}") for method in ("GET", "PATCH", "DELETE")},
    ("PUT", "/v3/domains/{domain_id}/config"): ADMIN,
    **{("GET", f"/v3/domains/config{tail}/default"): ADMIN
       for tail in ("", "/{group}", "/{group}/{option}")},
    **_grants("/v3/domains/{domain_id}/groups/{group_id}/roles"),
    **_grants("/v3/domains/{domain_id}/users/{user_id}/roles"),
    **_grants("/v3/projects/{project_id}/groups/{group_id}/roles"),
    **_grants("/v3/projects/{project_id}/users/{user_id}/roles"),
    **_grants("/v3/system/groups/{group_id}/roles"),
    **_grants("/v3/system/users/{user_id}/roles"),
    ("GET", "/v3/endpoints"): ADMIN,
    ("POST", "/v3/endpoints"): ADMIN,
    ("GET", "/v3/endpoints/{endpoint_id}"): ADMIN,
    ("PATCH", "/v3/endpoints/{endpoint_id}"): ADMIN,
    ("DELETE", "/v3/endpoints/{endpoint_id}"): ADMIN,
    ("GET", "/v3/groups"): ADMIN,
    ("POST", "/v3/groups"): ADMIN,
    ("GET", "/v3/groups/{group_id}"): ADMIN,
    ("PATCH", "/v3/groups/{group_id}"): ADMIN,
    ("DELETE", "/v3/groups/{group_id}"): ADMIN,
    ("GET", "/v3/groups/{group_id}/users"): ADMIN,
    ("GET", "/v3/groups/{group_id}/users/{user_id}"): ADMIN,
    ("HEAD", "/v3/groups/{group_id}/users/{user_id}"): ADMIN,
    ("PUT", "/v3/groups/{group_id}/users/{user_id}"): ADMIN,
    ("DELETE", "/v3/groups/{group_id}/users/{user_id}"): ADMIN,
    # Keystone answers a non-admin 403 here; ownstack lists the caller's own projects
    # instead (what `openstack project list` shows a member), never another's.
    ("GET", "/v3/projects"): ANYONE,
    ("POST", "/v3/projects"): ADMIN,
    ("GET", "/v3/projects/{project_id}"): "ooo/odd",
    ("PATCH", "/v3/projects/{project_id}"): ADMIN,
    ("DELETE", "/v3/projects/{project_id}"): ADMIN,
    ("GET", "/v3/projects/{project_id}/tags"): "ooo/odd",
    ("PUT", "/v3/projects/{project_id}/tags"): ADMIN,
    ("DELETE", "/v3/projects/{project_id}/tags"): ADMIN,
    ("GET", "/v3/projects/{project_id}/tags/{tag}"): "ooo/odd",
    ("HEAD", "/v3/projects/{project_id}/tags/{tag}"): "ooo/odd",
    ("PUT", "/v3/projects/{project_id}/tags/{tag}"): ADMIN,
    ("DELETE", "/v3/projects/{project_id}/tags/{tag}"): ADMIN,
    # Regions have no rule in Keystone: any authenticated user reads them.
    ("GET", "/v3/regions"): ANYONE,
    ("POST", "/v3/regions"): ADMIN,
    ("GET", "/v3/regions/{region_id}"): ANYONE,
    ("PUT", "/v3/regions/{region_id}"): ADMIN,
    ("PATCH", "/v3/regions/{region_id}"): ADMIN,
    ("DELETE", "/v3/regions/{region_id}"): ADMIN,
    ("GET", "/v3/role_assignments"): ADMIN,
    ("GET", "/v3/role_inferences"): ADMIN,
    ("GET", "/v3/roles"): ADMIN,
    ("POST", "/v3/roles"): ADMIN,
    ("GET", "/v3/roles/{role_id}"): ADMIN,
    ("PATCH", "/v3/roles/{role_id}"): ADMIN,
    ("DELETE", "/v3/roles/{role_id}"): ADMIN,
    ("GET", "/v3/roles/{prior_role_id}/implies"): ADMIN,
    ("GET", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"): ADMIN,
    ("HEAD", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"): ADMIN,
    ("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"): ADMIN,
    ("DELETE", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"): ADMIN,
    ("GET", "/v3/services"): ADMIN,
    ("POST", "/v3/services"): ADMIN,
    ("GET", "/v3/services/{service_id}"): ADMIN,
    ("PATCH", "/v3/services/{service_id}"): ADMIN,
    ("DELETE", "/v3/services/{service_id}"): ADMIN,
    ("GET", "/v3/users"): ADMIN,
    ("POST", "/v3/users"): ADMIN,
    ("GET", "/v3/users/{user_id}"): "ooo/odd",
    ("PATCH", "/v3/users/{user_id}"): ADMIN,
    ("DELETE", "/v3/users/{user_id}"): ADMIN,
    ("GET", "/v3/users/{user_id}/application_credentials"): "ooo/odd",
    # Only a user makes its own application credentials, the admin included.
    ("POST", "/v3/users/{user_id}/application_credentials"): "ooo/ddd",
    ("GET", "/v3/users/{user_id}/application_credentials/{app_cred_id}"): "ooo/odd",
    ("DELETE", "/v3/users/{user_id}/application_credentials/{app_cred_id}"): "ooo/odd",
    # Access rules: a user's own, as its application credentials (Keystone's
    # ADMIN_OR_SYSTEM_READER_OR_OWNER, ADMIN_OR_OWNER).
    ("GET", "/v3/users/{user_id}/access_rules"): "ooo/odd",
    ("GET", "/v3/users/{user_id}/access_rules/{access_rule_id}"): "ooo/odd",
    ("DELETE", "/v3/users/{user_id}/access_rules/{access_rule_id}"): "ooo/odd",
    ("GET", "/v3/users/{user_id}/groups"): "ooo/odd",
    ("GET", "/v3/users/{user_id}/projects"): "ooo/odd",
    # No token and no policy: the original password is the credential (on both sides the
    # request gives the user's right password).
    ("POST", "/v3/users/{user_id}/password"): ANYONE,
    # Credentials: a user manages their own (Keystone's ADMIN_OR_CRED_OWNER), and a list
    # shows each caller only theirs. A non-admin asking for another user's credential is
    # refused before it is looked up (403, never 404).
    ("GET", "/v3/credentials"): ANYONE,
    ("POST", "/v3/credentials"): "ooo/odd",
    ("GET", "/v3/credentials/{credential_id}"): "ooo/odd",
    ("PATCH", "/v3/credentials/{credential_id}"): "ooo/odd",
    ("DELETE", "/v3/credentials/{credential_id}"): "ooo/odd",
    # EC2 key pairs: making or deleting one takes a member (ADMIN_OR_MEMBER_AND_CRED_OWNER).
    ("GET", "/v3/users/{user_id}/credentials/OS-EC2"): "ooo/odd",
    ("POST", "/v3/users/{user_id}/credentials/OS-EC2"): "ood/odd",
    ("GET", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}"): "ooo/odd",
    ("DELETE", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}"): "ood/odd",
    # OS-EP-FILTER: the cloud admin's.
    **{(method, f"/v3/OS-EP-FILTER{path}"): ADMIN for method, path in (
        ("GET", "/endpoint_groups"), ("POST", "/endpoint_groups"),
        ("GET", "/endpoint_groups/{endpoint_group_id}"),
        ("PATCH", "/endpoint_groups/{endpoint_group_id}"),
        ("DELETE", "/endpoint_groups/{endpoint_group_id}"),
        ("GET", "/endpoint_groups/{endpoint_group_id}/projects"),
        ("GET", "/endpoint_groups/{endpoint_group_id}/endpoints"),
        ("GET", "/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
        ("PUT", "/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
        ("DELETE", "/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
        ("GET", "/projects/{project_id}/endpoint_groups"),
        ("GET", "/projects/{project_id}/endpoints"),
        ("GET", "/projects/{project_id}/endpoints/{endpoint_id}"),
        ("PUT", "/projects/{project_id}/endpoints/{endpoint_id}"),
        ("DELETE", "/projects/{project_id}/endpoints/{endpoint_id}"),
        ("GET", "/endpoints/{endpoint_id}/projects"))},
    # OS-OAUTH1 (Keystone's defaults): consumers and a user's access tokens are the
    # admin's; authorizing a request token takes the admin role and the roles on the
    # token's project (on the other project's token: Keystone's 401, "authorizing user does
    # not have role required"); the request and access token legs take no token, the
    # consumer's signature is the credential, whoever calls.
    ("GET", "/v3/OS-OAUTH1/consumers"): ADMIN,
    ("POST", "/v3/OS-OAUTH1/consumers"): ADMIN,
    ("GET", "/v3/OS-OAUTH1/consumers/{consumer_id}"): ADMIN,
    ("PATCH", "/v3/OS-OAUTH1/consumers/{consumer_id}"): ADMIN,
    ("DELETE", "/v3/OS-OAUTH1/consumers/{consumer_id}"): ADMIN,
    ("POST", "/v3/OS-OAUTH1/request_token"): ANYONE,
    ("PUT", "/v3/OS-OAUTH1/authorize/{request_token_id}"): "odd/udd",
    ("POST", "/v3/OS-OAUTH1/access_token"): ANYONE,
    **{(method, f"/v3/users/{{user_id}}/OS-OAUTH1/access_tokens{path}"): ADMIN
       for method, path in (("GET", ""), ("GET", "/{access_token_id}"),
                            ("DELETE", "/{access_token_id}"),
                            ("GET", "/{access_token_id}/roles"),
                            ("GET", "/{access_token_id}/roles/{role_id}"))},
    # The deprecated policy store: the cloud admin's.
    ("GET", "/v3/policies"): ADMIN,
    ("POST", "/v3/policies"): ADMIN,
    ("GET", "/v3/policies/{policy_id}"): ADMIN,
    ("PATCH", "/v3/policies/{policy_id}"): ADMIN,
    ("DELETE", "/v3/policies/{policy_id}"): ADMIN,
})

# Glance: "ood" is ADMIN_OR_PROJECT_MEMBER, "ooo" a reader's read; another project's
# image that is not shared with the caller is not visible to it.
IMAGE = _table("image", {
    ("GET", "/"): ANYONE,
    ("GET", "/versions"): ANYONE,
    ("GET", "/v2"): ANYONE,
    ("GET", "/v2/images"): ANYONE,
    ("POST", "/v2/images"): "ood/ood",
    ("GET", "/v2/images/{image_id}"): "ooo/ohh",
    ("PATCH", "/v2/images/{image_id}"): "ood/ohh",
    ("DELETE", "/v2/images/{image_id}"): "ood/ohh",
    ("POST", "/v2/images/{image_id}/actions/deactivate"): "ood/ohh",
    ("POST", "/v2/images/{image_id}/actions/reactivate"): "ood/ohh",
    ("GET", "/v2/images/{image_id}/file"): "ood/ohh",
    ("PUT", "/v2/images/{image_id}/file"): "ood/ohh",
    ("PUT", "/v2/images/{image_id}/tags/{tag}"): "ood/ohh",
    ("DELETE", "/v2/images/{image_id}/tags/{tag}"): "ood/ohh",
    ("GET", "/v2/images/{image_id}/members"): "ooo/ohh",
    ("POST", "/v2/images/{image_id}/members"): "ood/ohh",
    ("GET", "/v2/images/{image_id}/members/{member_id}"): "ooo/ohh",
    # Own: the caller's project answers a share made with it. Other: a share made with a
    # third project, of an image the caller cannot see; an admin may answer for it.
    ("PUT", "/v2/images/{image_id}/members/{member_id}"): "ood/ohh",
    ("DELETE", "/v2/images/{image_id}/members/{member_id}"): "ood/ohh",
    ("GET", "/v2/schemas/image"): ANYONE,
    ("GET", "/v2/schemas/images"): ANYONE,
    ("GET", "/v2/schemas/member"): ANYONE,
    ("GET", "/v2/schemas/members"): ANYONE,
    ("GET", "/v2/info/import"): ANYONE,
    ("GET", "/v2/images/{image_id}/tasks"): "ooo/ohh",
    # Tasks (glance/policies/tasks.py): tasks_api_access is the admin's, who sees every
    # project's task (Glance's _is_task_visible).
    ("GET", "/v2/schemas/task"): ANYONE,
    ("GET", "/v2/schemas/tasks"): ANYONE,
    ("GET", "/v2/tasks"): "odd/odd",
    ("POST", "/v2/tasks"): "odd/odd",
    ("GET", "/v2/tasks/{task_id}"): "odd/odd",
    **{("GET", f"/v2/schemas/metadefs/{name}"): ANYONE
       for name in ("namespace", "namespaces", "object", "objects", "property",
                    "properties", "tag", "tags", "resource_type", "resource_types")},
    # Metadata definitions (glance/policies/metadef.py): the admin writes the catalog; a
    # project's reader reads its own private namespace; another project's is hidden.
    ("GET", "/v2/metadefs/resource_types"): ANYONE,
    ("GET", "/v2/metadefs/namespaces"): ANYONE,
    ("POST", "/v2/metadefs/namespaces"): "odd/odd",
    **{(method, f"/v2/metadefs/namespaces/{{namespace}}{rest}"):
       "ooo/ohh" if method == "GET" else "odd/ohh"
       for rest, methods in (("", ("GET", "PUT", "DELETE")),
                             ("/resource_types", ("GET", "POST")),
                             ("/resource_types/{resource_type}", ("DELETE",)),
                             ("/objects", ("GET", "POST", "DELETE")),
                             ("/objects/{object_name}", ("GET", "PUT", "DELETE")),
                             ("/properties", ("GET", "POST", "DELETE")),
                             ("/properties/{property_name}", ("GET", "PUT", "DELETE")),
                             ("/tags", ("GET", "POST", "DELETE")),
                             ("/tags/{tag_name}", ("GET", "POST", "PUT", "DELETE")))
       for method in methods},
})

PLACEMENT = _table("placement", {
    ("GET", "/"): ANYONE,
    ("GET", "/allocation_candidates"): ADMIN,
    ("POST", "/allocations"): ADMIN,
    ("GET", "/allocations/{consumer_uuid}"): ADMIN,
    ("PUT", "/allocations/{consumer_uuid}"): ADMIN,
    ("DELETE", "/allocations/{consumer_uuid}"): ADMIN,
    ("POST", "/reshaper"): ADMIN,
    ("GET", "/resource_classes"): ADMIN,
    ("POST", "/resource_classes"): ADMIN,
    ("GET", "/resource_classes/{name}"): ADMIN,
    ("PUT", "/resource_classes/{name}"): ADMIN,
    ("DELETE", "/resource_classes/{name}"): ADMIN,
    ("GET", "/resource_providers"): ADMIN,
    ("POST", "/resource_providers"): ADMIN,
    ("GET", "/resource_providers/{uuid}"): ADMIN,
    ("PUT", "/resource_providers/{uuid}"): ADMIN,
    ("DELETE", "/resource_providers/{uuid}"): ADMIN,
    ("GET", "/resource_providers/{uuid}/aggregates"): ADMIN,
    ("PUT", "/resource_providers/{uuid}/aggregates"): ADMIN,
    ("GET", "/resource_providers/{uuid}/allocations"): ADMIN,
    ("GET", "/resource_providers/{uuid}/inventories"): ADMIN,
    ("POST", "/resource_providers/{uuid}/inventories"): ADMIN,
    ("PUT", "/resource_providers/{uuid}/inventories"): ADMIN,
    ("DELETE", "/resource_providers/{uuid}/inventories"): ADMIN,
    ("GET", "/resource_providers/{uuid}/inventories/{resource_class}"): ADMIN,
    ("PUT", "/resource_providers/{uuid}/inventories/{resource_class}"): ADMIN,
    ("DELETE", "/resource_providers/{uuid}/inventories/{resource_class}"): ADMIN,
    ("GET", "/resource_providers/{uuid}/traits"): ADMIN,
    ("PUT", "/resource_providers/{uuid}/traits"): ADMIN,
    ("DELETE", "/resource_providers/{uuid}/traits"): ADMIN,
    ("GET", "/resource_providers/{uuid}/usages"): ADMIN,
    ("GET", "/traits"): ADMIN,
    ("GET", "/traits/{name}"): ADMIN,
    ("PUT", "/traits/{name}"): ADMIN,
    ("DELETE", "/traits/{name}"): ADMIN,
    # ADMIN_OR_PROJECT_READER_OR_SERVICE, the project being the one asked about.
    ("GET", "/usages"): "ooo/odd",
})

# Nova: "ooo/ohh" is PROJECT_READER_OR_ADMIN on a server, "ood/ohh" PROJECT_MEMBER_OR_ADMIN.
_SERVER = "/v2.1/servers/{server_id}"
COMPUTE = _table("compute", {
    ("GET", "/"): ANYONE,
    ("GET", "/v2.1"): ANYONE,
    ("GET", "/v2"): ANYONE,
    ("GET", "/v2.1/flavors"): ANYONE,
    ("GET", "/v2.1/flavors/detail"): ANYONE,
    ("POST", "/v2.1/flavors"): ADMIN,
    ("GET", "/v2.1/flavors/{flavor_id}"): ANYONE,
    ("PUT", "/v2.1/flavors/{flavor_id}"): ADMIN,
    ("DELETE", "/v2.1/flavors/{flavor_id}"): ADMIN,
    ("POST", "/v2.1/flavors/{flavor_id}/action"): ADMIN,
    ("GET", "/v2.1/flavors/{flavor_id}/os-flavor-access"): ADMIN,
    ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs"): ANYONE,
    ("POST", "/v2.1/flavors/{flavor_id}/os-extra_specs"): ADMIN,
    ("GET", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ANYONE,
    ("PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ADMIN,
    ("DELETE", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}"): ADMIN,
    ("GET", "/v2.1/limits"): ANYONE,
    ("GET", "/v2.1/os-availability-zone"): ANYONE,
    ("GET", "/v2.1/os-availability-zone/detail"): ADMIN,
    ("GET", "/v2.1/os-hypervisors"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/detail"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/statistics"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/{hypervisor_id}"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/{hypervisor_id}/uptime"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/{hypervisor_hostname_pattern}/search"): ADMIN,
    ("GET", "/v2.1/os-hypervisors/{hypervisor_hostname_pattern}/servers"): ADMIN,
    # A user's own keys, readers included; another user's key is not found, even by an
    # admin who does not name the user (?user_id=).
    ("GET", "/v2.1/os-keypairs"): ANYONE,
    ("POST", "/v2.1/os-keypairs"): ANYONE,
    ("GET", "/v2.1/os-keypairs/{name}"): "ooo/hhh",
    ("DELETE", "/v2.1/os-keypairs/{name}"): "ooo/hhh",
    ("GET", "/v2.1/os-quota-sets/{project_id}"): "ooo/odd",
    ("GET", "/v2.1/os-quota-sets/{project_id}/detail"): "ooo/odd",
    ("GET", "/v2.1/os-quota-sets/{project_id}/defaults"): ANYONE,
    ("PUT", "/v2.1/os-quota-sets/{project_id}"): ADMIN,
    ("DELETE", "/v2.1/os-quota-sets/{project_id}"): ADMIN,
    ("GET", "/v2.1/os-quota-class-sets/{quota_class}"): ADMIN,
    ("PUT", "/v2.1/os-quota-class-sets/{quota_class}"): ADMIN,
    ("GET", "/v2.1/os-server-groups"): ANYONE,
    ("POST", "/v2.1/os-server-groups"): "ood/ood",
    ("GET", "/v2.1/os-server-groups/{group_id}"): "ooo/ohh",
    ("DELETE", "/v2.1/os-server-groups/{group_id}"): "ood/ohh",
    ("GET", "/v2.1/os-migrations"): ADMIN,
    # Nova's deprecated host API (up to 2.42); no driver can power a host.
    ("GET", "/v2.1/os-hosts"): ADMIN,
    ("GET", "/v2.1/os-hosts/{host}"): ADMIN,
    ("PUT", "/v2.1/os-hosts/{host}"): ADMIN,
    ("GET", "/v2.1/os-hosts/{host}/startup"): "ndd/ndd",
    ("GET", "/v2.1/os-hosts/{host}/shutdown"): "ndd/ndd",
    ("GET", "/v2.1/os-hosts/{host}/reboot"): "ndd/ndd",
    ("GET", "/v2.1/os-services"): ADMIN,
    ("PUT", "/v2.1/os-services/{service_id}"): ADMIN,
    ("DELETE", "/v2.1/os-services/{service_id}"): ADMIN,
    ("GET", "/v2.1/os-aggregates"): ADMIN,
    ("POST", "/v2.1/os-aggregates"): ADMIN,
    ("GET", "/v2.1/os-aggregates/{aggregate_id}"): ADMIN,
    ("PUT", "/v2.1/os-aggregates/{aggregate_id}"): ADMIN,
    ("DELETE", "/v2.1/os-aggregates/{aggregate_id}"): ADMIN,
    ("POST", "/v2.1/os-aggregates/{aggregate_id}/action"): ADMIN,
    ("GET", "/v2.1/os-simple-tenant-usage"): ADMIN,
    ("GET", "/v2.1/os-simple-tenant-usage/{project_id}"): "ooo/odd",
    ("GET", "/v2.1/os-instance_usage_audit_log"): ADMIN,
    ("GET", "/v2.1/os-instance_usage_audit_log/{before_timestamp}"): ADMIN,
    ("GET", "/v2.1/servers"): ANYONE,
    ("GET", "/v2.1/servers/detail"): ANYONE,
    ("POST", "/v2.1/servers"): "ood/ood",
    ("GET", _SERVER): "ooo/ohh",
    ("PUT", _SERVER): "ood/ohh",
    ("DELETE", _SERVER): "ood/ohh",
    # The sweep's action is os-getConsoleOutput, a member's (os-console-output).
    ("POST", f"{_SERVER}/action"): "ood/ohh",
    # Admin only; another project's server is not found before the rule is checked.
    ("GET", f"{_SERVER}/diagnostics"): "odd/ohh",
    # A console is a member's (os-remote-consoles); what a token opens, the admin's.
    ("POST", f"{_SERVER}/remote-consoles"): "ood/ohh",
    ("GET", "/v2.1/os-console-auth-tokens/{console_token}"): ADMIN,
    ("GET", f"{_SERVER}/ips"): "ooo/ohh",
    ("GET", f"{_SERVER}/ips/{{network_label}}"): "ooo/ohh",
    # Neutron's events to Nova: admins and the services only.
    ("POST", "/v2.1/os-server-external-events"): ADMIN,
    ("GET", f"{_SERVER}/metadata"): "ooo/ohh",
    ("POST", f"{_SERVER}/metadata"): "ood/ohh",
    ("PUT", f"{_SERVER}/metadata"): "ood/ohh",
    ("GET", f"{_SERVER}/metadata/{{key}}"): "ooo/ohh",
    ("PUT", f"{_SERVER}/metadata/{{key}}"): "ood/ohh",
    ("DELETE", f"{_SERVER}/metadata/{{key}}"): "ood/ohh",
    # The password the guest posted: readers see it, members clear it (Nova's defaults).
    ("GET", f"{_SERVER}/os-server-password"): "ooo/ohh",
    ("DELETE", f"{_SERVER}/os-server-password"): "ood/ohh",
    ("GET", f"{_SERVER}/os-instance-actions"): "ooo/ohh",
    ("GET", f"{_SERVER}/os-instance-actions/{{request_id}}"): "ooo/ohh",
    ("GET", f"{_SERVER}/tags"): "ooo/ohh",
    ("PUT", f"{_SERVER}/tags"): "ood/ohh",
    ("DELETE", f"{_SERVER}/tags"): "ood/ohh",
    ("GET", f"{_SERVER}/tags/{{tag}}"): "ooo/ohh",
    ("PUT", f"{_SERVER}/tags/{{tag}}"): "ood/ohh",
    ("DELETE", f"{_SERVER}/tags/{{tag}}"): "ood/ohh",
    ("GET", f"{_SERVER}/os-interface"): "ooo/ohh",
    ("POST", f"{_SERVER}/os-interface"): "ood/ohh",
    ("GET", f"{_SERVER}/os-interface/{{port_id}}"): "ooo/ohh",
    ("DELETE", f"{_SERVER}/os-interface/{{port_id}}"): "ood/ohh",
    ("GET", f"{_SERVER}/os-volume_attachments"): "ooo/ohh",
    ("POST", f"{_SERVER}/os-volume_attachments"): "ood/ohh",
    ("GET", f"{_SERVER}/os-volume_attachments/{{volume_id}}"): "ooo/ohh",
    ("PUT", f"{_SERVER}/os-volume_attachments/{{volume_id}}"): "ood/ohh",
    ("DELETE", f"{_SERVER}/os-volume_attachments/{{volume_id}}"): "ood/ohh",
    ("GET", f"{_SERVER}/os-security-groups"): "ooo/ohh",
    # The network proxies (up to 2.35): the policy's target is the caller's own project,
    # so a reader is denied before another project's group is looked for (not found).
    ("GET", "/v2.1/os-security-groups"): ANYONE,
    ("POST", "/v2.1/os-security-groups"): "ood/ood",
    ("GET", "/v2.1/os-security-groups/{security_group_id}"): "ooo/ohh",
    ("PUT", "/v2.1/os-security-groups/{security_group_id}"): "ood/ohd",
    ("DELETE", "/v2.1/os-security-groups/{security_group_id}"): "ood/ohd",
    ("POST", "/v2.1/os-security-group-rules"): "ood/ohd",
    ("DELETE", "/v2.1/os-security-group-rules/{security_group_rule_id}"): "ood/ohd",
    ("GET", "/v2.1/os-floating-ips"): ANYONE,
    ("POST", "/v2.1/os-floating-ips"): "ood/ood",
    ("GET", "/v2.1/os-floating-ips/{floatingip_id}"): "ooo/ohh",
    ("DELETE", "/v2.1/os-floating-ips/{floatingip_id}"): "ood/ohd",
    # The nova-network proxies (up to 2.35): a reader lists what the project sees, and
    # another project's network is hidden from all but the admin; what only nova-network
    # did is Nova's 410 for everyone, with no rule.
    ("GET", "/v2.1/os-networks"): ANYONE,
    ("GET", "/v2.1/os-networks/{network_id}"): "ooo/ohh",
    ("GET", "/v2.1/os-tenant-networks"): ANYONE,
    ("GET", "/v2.1/os-tenant-networks/{network_id}"): "ooo/ohh",
    **{(method, template): GONE for method, template in NOVA_NETWORK_ONLY},
    # The image proxy (up to 2.35, its metadata to 2.38): no rule of Nova's; the image
    # service decides as it does for its own routes (another project's image, shared with
    # a third, is hidden from all but the admin; a reader never writes).
    ("GET", "/v2.1/images"): ANYONE,
    ("GET", "/v2.1/images/detail"): ANYONE,
    ("GET", "/v2.1/images/{image_id}"): "ooo/ohh",
    ("DELETE", "/v2.1/images/{image_id}"): "ood/ohh",
    ("GET", "/v2.1/images/{image_id}/metadata"): "ooo/ohh",
    ("POST", "/v2.1/images/{image_id}/metadata"): "ood/ohh",
    ("PUT", "/v2.1/images/{image_id}/metadata"): "ood/ohh",
    ("GET", "/v2.1/images/{image_id}/metadata/{key}"): "ooo/ohh",
    ("PUT", "/v2.1/images/{image_id}/metadata/{key}"): "ood/ohh",
    ("DELETE", "/v2.1/images/{image_id}/metadata/{key}"): "ood/ohh",
    # The volume proxy (up to 2.35): Nova's rules on the caller's own project first (a
    # reader never writes), then the volume service hides another project's volume and
    # snapshot (a snapshot of its volume too) from all but the admin.
    ("GET", "/v2.1/os-volumes"): ANYONE,
    ("GET", "/v2.1/os-volumes/detail"): ANYONE,
    ("POST", "/v2.1/os-volumes"): "ood/ood",
    ("GET", "/v2.1/os-volumes/{volume_id}"): "ooo/ohh",
    ("DELETE", "/v2.1/os-volumes/{volume_id}"): "ood/ohd",
    ("GET", "/v2.1/os-snapshots"): ANYONE,
    ("GET", "/v2.1/os-snapshots/detail"): ANYONE,
    ("POST", "/v2.1/os-snapshots"): "ood/ohd",
    ("GET", "/v2.1/os-snapshots/{snapshot_id}"): "ooo/ohh",
    ("DELETE", "/v2.1/os-snapshots/{snapshot_id}"): "ood/ohd",
})


def _tagged(path: str) -> dict[tuple[str, str], str]:
    """The tags of a project's resource: its readers read them, its members change them."""
    return {("GET", f"{path}/tags"): "ooo/ohh", ("PUT", f"{path}/tags"): "ood/ohh",
            ("DELETE", f"{path}/tags"): "ood/ohh", ("GET", f"{path}/tags/{{tag}}"): "ooo/ohh",
            ("PUT", f"{path}/tags/{{tag}}"): "ood/ohh",
            ("DELETE", f"{path}/tags/{{tag}}"): "ood/ohh"}


# Neutron: another project's network, port, group... is not found (its queries filter by
# project for non-admins); a project's reader reads and its member writes
# (neutron/conf/policies, the 2023.1+ defaults).
_NETWORK = "/v2.0/networks/{network_id}"
NETWORK = _table("network", {
    ("GET", "/"): ANYONE,
    ("GET", "/v2.0"): ANYONE,
    ("GET", "/v2.0/extensions"): ANYONE,
    ("GET", "/v2.0/extensions/{alias}"): ANYONE,
    ("GET", "/v2.0/networks"): ANYONE,
    ("POST", "/v2.0/networks"): "ood/ood",
    ("GET", _NETWORK): "ooo/ohh",
    ("PUT", _NETWORK): "ood/ohh",
    ("DELETE", _NETWORK): "ood/ohh",
    **_tagged("/v2.0/networks/{resource_id}"),
    ("GET", "/v2.0/availability_zones"): ANYONE,
    ("GET", "/v2.0/rbac-policies"): ANYONE,
    # On another project's network: the admin may, its member does not see the network,
    # and a reader is refused before anything is looked up.
    ("POST", "/v2.0/rbac-policies"): "ood/ohd",
    ("GET", "/v2.0/rbac-policies/{policy_id}"): "ooo/ohh",
    ("PUT", "/v2.0/rbac-policies/{policy_id}"): "ood/ohh",
    ("DELETE", "/v2.0/rbac-policies/{policy_id}"): "ood/ohh",
    ("GET", "/v2.0/security-groups"): ANYONE,
    ("POST", "/v2.0/security-groups"): "ood/ood",
    ("GET", "/v2.0/security-groups/{security_group_id}"): "ooo/ohh",
    ("PUT", "/v2.0/security-groups/{security_group_id}"): "ood/ohh",
    ("DELETE", "/v2.0/security-groups/{security_group_id}"): "ood/ohh",
    **_tagged("/v2.0/security-groups/{resource_id}"),
    ("GET", "/v2.0/security-group-rules"): ANYONE,
    # A rule in another project's group: the group is not found.
    ("POST", "/v2.0/security-group-rules"): "ood/ohh",
    ("GET", "/v2.0/security-group-rules/{security_group_rule_id}"): "ooo/ohh",
    ("DELETE", "/v2.0/security-group-rules/{security_group_rule_id}"): "ood/ohh",
    # Quotas: a project reads its own; another project's are the admin's (403, as the
    # policy target is the project in the URL); only the admin changes them.
    ("GET", "/v2.0/quotas"): ADMIN,
    ("GET", "/v2.0/quotas/project"): ANYONE,
    ("GET", "/v2.0/quotas/tenant"): ANYONE,
    ("GET", "/v2.0/quotas/{project_id}"): "ooo/odd",
    ("PUT", "/v2.0/quotas/{project_id}"): ADMIN,
    ("DELETE", "/v2.0/quotas/{project_id}"): ADMIN,
    ("GET", "/v2.0/quotas/{project_id}/default"): "ooo/odd",
    ("GET", "/v2.0/quotas/{project_id}/details"): "ooo/odd",
    # Another project's network is hidden, so a subnet on it is too (404 for a member).
    ("GET", "/v2.0/subnets"): ANYONE,
    ("POST", "/v2.0/subnets"): "ood/ohh",
    ("GET", "/v2.0/subnets/{subnet_id}"): "ooo/ohh",
    ("PUT", "/v2.0/subnets/{subnet_id}"): "ood/ohh",
    ("DELETE", "/v2.0/subnets/{subnet_id}"): "ood/ohh",
    **_tagged("/v2.0/subnets/{resource_id}"),
    ("GET", "/v2.0/subnetpools"): ANYONE,
    ("POST", "/v2.0/subnetpools"): "ood/ood",
    ("GET", "/v2.0/subnetpools/{subnetpool_id}"): "ooo/ohh",
    ("PUT", "/v2.0/subnetpools/{subnetpool_id}"): "ood/ohh",
    ("DELETE", "/v2.0/subnetpools/{subnetpool_id}"): "ood/ohh",
    **_tagged("/v2.0/subnetpools/{resource_id}"),
    # Agents are the admin's; anyone else sees none (an empty list, 404 for one), as the
    # Neutron API controller hides what policy refuses (Tempest's
    # test_list_agents_non_admin expects the empty list).
    ("GET", "/v2.0/agents"): ANYONE,
    ("GET", "/v2.0/agents/{agent_id}"): "ohh/ohh",
    ("PUT", "/v2.0/agents/{agent_id}"): "ohh/ohh",
    ("DELETE", "/v2.0/agents/{agent_id}"): "ohh/ohh",
    ("GET", "/v2.0/agents/{agent_id}/dhcp-networks"): "ohh/ohh",
    ("GET", "/v2.0/networks/{network_id}/dhcp-agents"): "ohh/ohh",
    ("GET", "/v2.0/network-ip-availabilities"): ADMIN,
    ("GET", "/v2.0/network-ip-availabilities/{network_id}"): ADMIN,
    # A port of another project's (private) network: its network is not found by a
    # member; a reader is refused create_port first.
    ("GET", "/v2.0/ports"): ANYONE,
    ("POST", "/v2.0/ports"): "ood/ohd",
    ("GET", "/v2.0/ports/{port_id}"): "ooo/ohh",
    ("PUT", "/v2.0/ports/{port_id}"): "ood/ohh",
    ("DELETE", "/v2.0/ports/{port_id}"): "ood/ohh",
    # ownstack's diagnostics (the host objects): the admin's, as Nova's server diagnostics
    ("GET", "/v2.0/ports/{port_id}/diagnostics"): "odd/ohh",
    ("GET", "/v2.0/networks/{network_id}/diagnostics"): "odd/ohh",
    **_tagged("/v2.0/ports/{resource_id}"),
    # Routers and floating IPs: a project's own (another project's are not found; a reader
    # is refused before the router is looked at only where nothing is looked up first).
    ("GET", "/v2.0/routers"): ANYONE,
    ("POST", "/v2.0/routers"): "ood/ood",
    ("GET", "/v2.0/routers/{router_id}"): "ooo/ohh",
    ("PUT", "/v2.0/routers/{router_id}"): "ood/ohh",
    ("DELETE", "/v2.0/routers/{router_id}"): "ood/ohh",
    ("GET", "/v2.0/routers/{router_id}/diagnostics"): "odd/ohh",
    ("PUT", "/v2.0/routers/{router_id}/add_router_interface"): "ood/ohh",
    ("PUT", "/v2.0/routers/{router_id}/remove_router_interface"): "ood/ohh",
    ("PUT", "/v2.0/routers/{router_id}/add_extraroutes"): "ood/ohh",
    ("PUT", "/v2.0/routers/{router_id}/remove_extraroutes"): "ood/ohh",
    **_tagged("/v2.0/routers/{resource_id}"),
    ("GET", "/v2.0/floatingips"): ANYONE,
    ("POST", "/v2.0/floatingips"): "ood/ood",
    ("GET", "/v2.0/floatingips/{floatingip_id}"): "ooo/ohh",
    ("PUT", "/v2.0/floatingips/{floatingip_id}"): "ood/ohh",
    ("DELETE", "/v2.0/floatingips/{floatingip_id}"): "ood/ohh",
    **_tagged("/v2.0/floatingips/{resource_id}"),
    ("GET", "/v2.0/floatingip_pools"): ANYONE,
})



def _volume_table(rows: dict[tuple[str, str], str]) -> dict[Route, Expected]:
    """Cinder's routes are served with and without the project in the URL: the same
    outcomes under both."""
    both = {}
    for (method, path), outcomes in rows.items():
        both[(method, f"/v3{path}")] = outcomes
        both[(method, f"/v3/{{project_id}}{path}")] = outcomes
    return _table("volume", both)


def _transfers(collection: str) -> dict[tuple[str, str], str]:
    item = f"{collection}/{{transfer_id}}"
    return {("GET", collection): ANYONE, ("GET", f"{collection}/detail"): ANYONE,
            ("POST", collection): "ood/ohh", ("GET", item): "ooo/ohh",
            ("DELETE", item): "ood/ohh", ("POST", f"{item}/accept"): "ood/ood"}


_VOLUME = "/volumes/{volume_id}"
_SNAPSHOT = "/snapshots/{snapshot_id}"
_ATTACHMENT = "/attachments/{attachment_id}"
_TYPE = "/types/{type_id}"
_QOS = "/qos-specs/{qos_id}"
_GROUP_TYPE = "/group_types/{group_type_id}"
_GROUP = "/groups/{group_id}"
_GROUP_SNAPSHOT = "/group_snapshots/{group_snapshot_id}"
VOLUME = {**_table("volume", {("GET", "/"): ANYONE, ("GET", "/v3"): ANYONE}),
          **_volume_table({
              ("GET", "/extensions"): ANYONE,
              ("GET", "/os-availability-zone"): ANYONE,
              ("GET", "/limits"): ANYONE,
              ("GET", "/resource_filters"): ANYONE,
              # A project's volumes: its member writes, its reader reads; another
              # project's are not found (Cinder's queries filter by project).
              ("GET", "/volumes"): ANYONE,
              ("GET", "/volumes/detail"): ANYONE,
              ("GET", "/volumes/summary"): ANYONE,
              ("POST", "/volumes"): "ood/ood",
              ("GET", _VOLUME): "ooo/ohh",
              ("PUT", _VOLUME): "ood/ohh",
              ("DELETE", _VOLUME): "ood/ohh",
              ("POST", f"{_VOLUME}/action"): "ood/ohh",
              # ownstack's diagnostics (the file behind it): the admin's.
              ("GET", f"{_VOLUME}/diagnostics"): "odd/ohh",
              ("GET", f"{_VOLUME}/metadata"): "ooo/ohh",
              ("POST", f"{_VOLUME}/metadata"): "ood/ohh",
              ("PUT", f"{_VOLUME}/metadata"): "ood/ohh",
              ("GET", f"{_VOLUME}/metadata/{{key}}"): "ooo/ohh",
              ("PUT", f"{_VOLUME}/metadata/{{key}}"): "ood/ohh",
              ("DELETE", f"{_VOLUME}/metadata/{{key}}"): "ood/ohh",
              # A snapshot of another project's volume: a reader is refused before the
              # volume is looked at.
              ("GET", "/snapshots"): ANYONE,
              ("GET", "/snapshots/detail"): ANYONE,
              ("POST", "/snapshots"): "ood/ohd",
              ("GET", _SNAPSHOT): "ooo/ohh",
              ("PUT", _SNAPSHOT): "ood/ohh",
              ("DELETE", _SNAPSHOT): "ood/ohh",
              ("POST", f"{_SNAPSHOT}/action"): "odd/ohh",      # the admin's actions
              ("GET", f"{_SNAPSHOT}/metadata"): "ooo/ohh",
              ("POST", f"{_SNAPSHOT}/metadata"): "ood/ohh",
              ("PUT", f"{_SNAPSHOT}/metadata"): "ood/ohh",
              ("GET", f"{_SNAPSHOT}/metadata/{{key}}"): "ooo/ohh",
              ("PUT", f"{_SNAPSHOT}/metadata/{{key}}"): "ood/ohh",
              ("DELETE", f"{_SNAPSHOT}/metadata/{{key}}"): "ood/ohh",
              ("GET", "/attachments"): ANYONE,
              ("GET", "/attachments/detail"): ANYONE,
              ("POST", "/attachments"): "ood/ohh",
              ("GET", _ATTACHMENT): "ooo/ohh",
              ("PUT", _ATTACHMENT): "ood/ohh",
              ("DELETE", _ATTACHMENT): "ood/ohh",
              ("POST", f"{_ATTACHMENT}/action"): "ood/ohh",
              # Transfers: the giving project's (a reader reads them; another
              # project's are not found); any project's member accepts one it knows the
              # id and key of.
              **_transfers("/os-volume-transfer"),
              **_transfers("/volume-transfers"),
              # Types: anyone reads those their project may use (the sweep's is private,
              # given to the own project: both sides name the same type); the admin
              # manages them, their access, defaults and QoS specs.
              ("GET", "/types"): ANYONE,
              ("POST", "/types"): ADMIN,
              ("GET", "/types/default"): ANYONE,
              ("GET", _TYPE): ANYONE,
              ("PUT", _TYPE): ADMIN,
              ("DELETE", _TYPE): ADMIN,
              ("GET", f"{_TYPE}/extra_specs"): ANYONE,
              ("POST", f"{_TYPE}/extra_specs"): ADMIN,
              ("GET", f"{_TYPE}/extra_specs/{{key}}"): ANYONE,
              ("PUT", f"{_TYPE}/extra_specs/{{key}}"): ADMIN,
              ("DELETE", f"{_TYPE}/extra_specs/{{key}}"): ADMIN,
              ("GET", f"{_TYPE}/os-volume-type-access"): ADMIN,
              ("POST", f"{_TYPE}/action"): ADMIN,
              ("GET", f"{_TYPE}/encryption"): ADMIN,
              ("POST", f"{_TYPE}/encryption"): ADMIN,
              ("GET", f"{_TYPE}/encryption/{{key}}"): ADMIN,
              ("PUT", f"{_TYPE}/encryption/{{key}}"): ADMIN,
              ("DELETE", f"{_TYPE}/encryption/{{key}}"): ADMIN,
              ("GET", "/default-types"): ADMIN,
              ("GET", "/default-types/{target_project_id}"): ADMIN,
              ("PUT", "/default-types/{target_project_id}"): ADMIN,
              ("DELETE", "/default-types/{target_project_id}"): ADMIN,
              ("GET", "/qos-specs"): ADMIN,
              ("POST", "/qos-specs"): ADMIN,
              ("GET", _QOS): ADMIN,
              ("PUT", _QOS): ADMIN,
              ("DELETE", _QOS): ADMIN,
              ("PUT", f"{_QOS}/delete_keys"): ADMIN,
              ("GET", f"{_QOS}/associations"): ADMIN,
              ("GET", f"{_QOS}/associate"): ADMIN,
              ("GET", f"{_QOS}/disassociate"): ADMIN,
              ("GET", f"{_QOS}/disassociate_all"): ADMIN,
              # Quotas: a project reads its own; another project's are the admin's.
              ("GET", "/os-quota-sets/{target_project_id}"): "ooo/odd",
              ("PUT", "/os-quota-sets/{target_project_id}"): ADMIN,
              ("DELETE", "/os-quota-sets/{target_project_id}"): ADMIN,
              ("GET", "/os-quota-sets/{target_project_id}/defaults"): "ooo/odd",
              ("GET", "/os-quota-class-sets/{quota_class}"): ADMIN,
              ("PUT", "/os-quota-class-sets/{quota_class}"): ADMIN,
              ("GET", "/os-services"): ADMIN,
              ("GET", "/scheduler-stats/get_pools"): ADMIN,
              ("PUT", "/os-services/{action}"): ADMIN,
              ("GET", "/os-hosts"): ADMIN,
              ("GET", "/os-hosts/{host}"): ADMIN,
              ("GET", "/capabilities/{host}"): ADMIN,
              # Generic volume groups: group types are the admin's (anyone reads the
              # public ones, only the admin their specs); groups and group snapshots are
              # their project's (a reader reads, a member writes, reset-status is the
              # admin's; another project's are not found).
              ("GET", "/group_types"): ANYONE,
              ("POST", "/group_types"): ADMIN,
              ("GET", "/group_types/default"): ANYONE,
              ("GET", _GROUP_TYPE): ANYONE,
              ("PUT", _GROUP_TYPE): ADMIN,
              ("DELETE", _GROUP_TYPE): ADMIN,
              ("GET", f"{_GROUP_TYPE}/group_specs"): ADMIN,
              ("POST", f"{_GROUP_TYPE}/group_specs"): ADMIN,
              ("GET", f"{_GROUP_TYPE}/group_specs/{{key}}"): ADMIN,
              ("PUT", f"{_GROUP_TYPE}/group_specs/{{key}}"): ADMIN,
              ("DELETE", f"{_GROUP_TYPE}/group_specs/{{key}}"): ADMIN,
              ("GET", "/groups"): ANYONE,
              ("GET", "/groups/detail"): ANYONE,
              ("POST", "/groups"): "ood/ood",
              ("POST", "/groups/action"): "ood/ohd",
              ("GET", _GROUP): "ooo/ohh",
              ("PUT", _GROUP): "ood/ohh",
              ("POST", f"{_GROUP}/action"): "odd/ohh",       # reset_status, the admin's
              ("GET", "/group_snapshots"): ANYONE,
              ("GET", "/group_snapshots/detail"): ANYONE,
              ("POST", "/group_snapshots"): "ood/ohd",
              ("GET", _GROUP_SNAPSHOT): "ooo/ohh",
              ("DELETE", _GROUP_SNAPSHOT): "ood/ohh",
              ("POST", f"{_GROUP_SNAPSHOT}/action"): "odd/ohh",
              # User messages: a project's reader reads them, its member deletes them.
              ("GET", "/messages"): ANYONE,
              ("GET", "/messages/{message_id}"): "ooo/ohh",
              ("DELETE", "/messages/{message_id}"): "ood/ohh",
          })}

EXPECTATIONS: dict[Route, Expected] = {**IDENTITY, **IMAGE, **PLACEMENT, **COMPUTE,
                                       **NETWORK, **VOLUME}
# The routes whose every allowed call is the service's 501 (an operation no driver has).
NOT_SUPPORTED: frozenset[Route] = frozenset(
    route for route, expected in EXPECTATIONS.items() if expected.outcome("own", "admin") == "n")
