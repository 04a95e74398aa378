"""A cloud with one resource of each kind in each of two projects, for the route sweeps.

Two projects, ``own`` and ``other``, each with an admin, a member and a reader, and in
each project a server, an image (with a property, ``sweep_key``), a server group, a
keypair per user, an application credential, a credential and an EC2 key pair per user,
allocations, tags and metadata.
Resources without an owner (flavors, roles, regions, providers, ...) exist once.
:meth:`World.params` fills a route's URL template with the ids of one side, as seen by
one caller.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from helpers.compute import ssh_public_key
from helpers.inprocess import CloudClient
from helpers.names import unique
from helpers.oauth1 import (
    Consumer,
    access_token_headers,
    authorize,
    base_url,
    delegate,
    request_token_headers,
)
from helpers.oauth1 import request_token as oauth_request_token
from helpers.sweeps.routes import Route
from ownstack.compute.objects import block_devices

ROLES = ("admin", "member", "reader")
SIDES = ("own", "other")
PASSWORD = "sweep-password"
PUBLIC_KEY = ssh_public_key()
# Each service's newest behaviour, so that every feature a route has is reachable.
VERSION_HEADERS = {"placement": {"OpenStack-API-Version": "placement latest"},
                   "compute": {"OpenStack-API-Version": "compute latest"},
                   "volume": {"OpenStack-API-Version": "volume latest"}}
IMAGE_PATCH = "application/openstack-images-v2.1-json-patch"
# Routes the newest microversion removed, swept at the last version that has them.
LAST_VERSIONS = {
    Route("compute", "/v2.1/os-hypervisors/statistics", "GET"): "compute 2.87",
    Route("compute", "/v2.1/os-hypervisors/{hypervisor_id}/uptime", "GET"): "compute 2.87",
    Route("compute", "/v2.1/os-hypervisors/{hypervisor_hostname_pattern}/search", "GET"):
        "compute 2.52",
    Route("compute", "/v2.1/os-hypervisors/{hypervisor_hostname_pattern}/servers", "GET"):
        "compute 2.52",
    **{Route("compute", template, method): "compute 2.42"
       for template, method in (("/v2.1/os-hosts", "GET"), ("/v2.1/os-hosts/{host}", "GET"),
                                ("/v2.1/os-hosts/{host}", "PUT"),
                                ("/v2.1/os-hosts/{host}/startup", "GET"),
                                ("/v2.1/os-hosts/{host}/shutdown", "GET"),
                                ("/v2.1/os-hosts/{host}/reboot", "GET"))},
}
# The proxies Nova removed at 2.36 (networks, images, volumes): every route under these,
# swept at 2.35.
PROXY_PREFIXES = ("/v2.1/os-security-groups", "/v2.1/os-security-group-rules",
                  "/v2.1/os-floating-ips", "/v2.1/images", "/v2.1/os-volumes",
                  "/v2.1/os-networks", "/v2.1/os-tenant-networks",
                  "/v2.1/os-snapshots")


def _last_version(service: str, path: str) -> dict[str, str]:
    if service == "compute" and path.startswith(PROXY_PREFIXES):
        return {"OpenStack-API-Version": "compute 2.35"}
    return {}


@dataclass
class Caller:
    role: str
    user_id: str
    token: str


@dataclass
class Tenant:
    side: str
    project_id: str
    callers: dict[str, Caller] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    cloud: CloudClient
    tenants: dict[str, Tenant]
    shared: dict[str, str]
    # Each service's client; a test may swap in its own (one that watches the app).
    clients: dict[str, httpx.AsyncClient]

    # --- requests ----------------------------------------------------------------------

    async def request(self, route: Route, path: str, *, token: str | None,
                      headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One request to ``route``'s service, with that service's newest microversion."""
        sent = {**VERSION_HEADERS.get(route.service, {}),
                **_last_version(route.service, route.template), **(headers or {})}
        if route in LAST_VERSIONS:
            sent["OpenStack-API-Version"] = LAST_VERSIONS[route]
        if token is not None:
            sent.setdefault("X-Auth-Token", token)
        return await self.client(route.service).request(route.method, path, headers=sent,
                                                         **kwargs)

    def client(self, service: str) -> httpx.AsyncClient:
        return self.clients[service]

    async def call(self, service: str, method: str, path: str, *, token: str | None = None,
                   expect: int | tuple[int, ...] | None = None, **kwargs: Any
                   ) -> httpx.Response:
        headers = {**VERSION_HEADERS.get(service, {}), **_last_version(service, path),
                   "X-Auth-Token": token or self.cloud.identity.admin_token,
                   **kwargs.pop("headers", {})}
        r = await self.client(service).request(method, path, headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert wanted is None or r.status_code in wanted, \
            f"{service} {method} {path}: {r.status_code} {r.text[:500]}"
        return r

    # --- URL templates -----------------------------------------------------------------

    def params(self, route: Route, side: str = "own", role: str = "admin") -> dict[str, str]:
        """``route``'s path parameters: ``side``'s resources, as ``role`` of the own project
        sees them (a user's own keypairs, application credentials and user id)."""
        tenant = self.tenants[side]
        caller = self.tenants["own"].callers[role]
        return {name: self._value(route, name, tenant, caller) for name in route.params}

    def _value(self, route: Route, name: str, tenant: Tenant, caller: Caller) -> str:
        own = tenant.side == "own"
        service, template = route.service, route.template
        if service == "volume":
            return self._volume_value(name, tenant, template)
        if name == "project_id":
            if service == "identity" and template.startswith("/v3/OS-EP-FILTER/"):
                return tenant.ids["ep_filter_project"]
            return tenant.project_id
        if service == "identity" and "/OS-OAUTH1/access_tokens" in template:
            # Only an admin authorizes (Keystone's default): the other side's access token
            # is its admin's; the own side asks about the caller's own user.
            if name == "user_id":
                return caller.user_id if own else tenant.callers["admin"].user_id
            if name in ("access_token_id", "role_id"):
                return tenant.ids[f"oauth:{name}"]
        if service == "identity" and name == "request_token_id":
            return tenant.ids["oauth:request_token_id"]
        if service == "identity":
            if name == "user_id":
                if "/roles" in template or template.startswith("/v3/groups/"):
                    return tenant.ids["grantee"]
                return caller.user_id if own else tenant.callers["member"].user_id
            if name == "app_cred_id":
                user = caller if own else tenant.callers["member"]
                return tenant.ids[f"app_cred:{user.user_id}"]
            if name == "access_rule_id":
                user = caller if own else tenant.callers["member"]
                return tenant.ids[f"access_rule:{user.user_id}"]
            if name == "group" and "/config/" in template:
                return "ldap"
            if name == "option":
                return "url"
            if name == "credential_id":
                user = caller if own else tenant.callers["member"]
                kind = "ec2" if "/OS-EC2/" in template else "credential"
                return tenant.ids[f"{kind}:{user.user_id}"]
            if name == "domain_id":
                return tenant.ids["domain"]
            if name == "tag":
                return "sweep-tag"
            return self.shared[f"identity:{name}"]
        if service == "image":
            if name == "tag":
                return "sweep-tag"
            if template.startswith("/v2/metadefs/"):
                return tenant.ids[f"metadef:{name}"]
            if name == "task_id":
                return tenant.ids["task_id"]
            if template.endswith("/members/{member_id}") and route.method == "PUT":
                # A project answers the shares others make it: its own membership.
                return tenant.ids["incoming_image" if name == "image_id" else "incoming_member"]
            return tenant.ids[name if name == "image_id" else "member"]
        if service == "placement":
            if name == "name":
                return self.shared["placement:trait" if template.startswith("/traits")
                                   else "placement:resource_class"]
            if name == "consumer_uuid":
                return tenant.ids["consumer"]
            if name == "resource_class":
                return "VCPU"
            return self.shared["placement:provider"]
        if name == "flavor_id":
            private = "os-flavor-access" in template or template.endswith("/action")
            return self.shared["compute:private_flavor" if private else "compute:flavor"]
        if name == "name":
            return "sweep-kp" if own else "sweep-kp-other"
        if name == "key":
            return "sweep_key"
        if name == "tag":
            return "sweep-tag"
        if name == "network_label":
            return SWEEP_NETWORK_LABEL
        if name == "quota_class":
            return SWEEP_QUOTA_CLASS
        if name == "before_timestamp":
            return "2026-03-15%2010:20:30"
        if service == "network":
            return self._network_value(name, tenant, template)
        if name in ("server_id", "group_id", "request_id", "security_group_id",
                    "security_group_rule_id", "floatingip_id", "image_id", "network_id"):
            return tenant.ids[name]
        if name == "port_id":
            return tenant.ids["interface_port_id"]
        if name == "volume_id":
            return tenant.ids["attached_volume_id"]
        if name == "snapshot_id":
            return tenant.ids["volume:snapshot_id"]
        return self.shared[f"compute:{name}"]

    def _network_value(self, name: str, tenant: Tenant, template: str) -> str:
        if name == "tag":
            return "sweep-tag"
        if name == "alias":
            return "external-net"
        if name == "resource_id":
            collection = template.split("/")[2]         # /v2.0/<collection>/{resource_id}
            return tenant.ids[f"{collection.replace('-', '_')[:-1]}_id"]
        return tenant.ids[name]

    def _volume_value(self, name: str, tenant: Tenant, template: str) -> str:
        """The project in a volume URL is the caller's own (Cinder refuses another: a
        400); the resources are ``tenant``'s."""
        if name == "project_id":
            return self.tenants["own"].project_id
        if name == "target_project_id":
            return tenant.project_id
        if name == "key":
            return "multiattach" if "/extra_specs/" in template else "sweep_key"
        if name == "action":
            return "enable"
        if name == "quota_class":
            return SWEEP_QUOTA_CLASS
        if name in ("type_id", "qos_id", "host", "group_type_id"):
            return self.shared[f"volume:{name}"]
        return tenant.ids[f"volume:{name}"]

    def query(self, route: Route, side: str = "own") -> dict[str, str]:
        """The query a route cannot do without."""
        if route.service == "volume" and route.template.endswith(("/associate",
                                                                    "/disassociate")):
            return {"vol_type_id": self.shared["volume:type_id"]}
        if route.service == "placement" and route.template == "/usages":
            return {"project_id": self.tenants[side].project_id}
        if route.service == "placement" and route.template == "/allocation_candidates":
            return {"resources": "VCPU:1"}
        return {}

    async def headers(self, route: Route, side: str = "own", role: str = "admin", *,
                      fresh: bool = False) -> dict[str, str]:
        """The headers a route cannot do without: the subject of a token route, the
        caller's own token or another project's member's, or a new token of the same user
        where ``fresh`` (one to revoke); a consumer's signature for the OAuth1 legs that
        take no token."""
        if route.service == "identity" and route.template in (
                "/v3/OS-OAUTH1/request_token", "/v3/OS-OAUTH1/access_token"):
            return await self.oauth_headers(route, side)
        if route.service != "identity" or route.template != "/v3/auth/tokens" \
                or route.method == "POST":
            return {}
        tenant = self.tenants[side]
        subject = tenant.callers[role if side == "own" else "member"]
        token = await self.token(subject.user_id, tenant.project_id) if fresh \
            else subject.token
        return {"X-Subject-Token": token}

    @property
    def consumer(self) -> Consumer:
        return Consumer(self.shared["identity:consumer_id"],
                        self.shared["identity:consumer_secret"])

    async def oauth_headers(self, route: Route, side: str) -> dict[str, str]:
        """The sweep consumer's signature: for a request token on ``side``'s project, or
        for the exchange of a new one, authorized by that project's admin."""
        tenant = self.tenants[side]
        http = self.client("identity")
        if route.template.endswith("/request_token"):
            return request_token_headers(base_url(http), self.consumer, tenant.project_id)
        token_id, secret = await oauth_request_token(http, self.consumer, tenant.project_id)
        verifier = await authorize(http, token_id, OAUTH_ROLES, tenant.callers["admin"].token)
        return access_token_headers(base_url(http), self.consumer, token_id, secret, verifier)

    async def make_access_token(self, tenant: Tenant) -> str:
        """A new OAuth1 access token of ``tenant``'s admin on its project."""
        token_id, _ = await delegate(self.client("identity"), self.consumer, tenant.project_id,
                                     OAUTH_ROLES, tenant.callers["admin"].token)
        return token_id

    # --- making things -----------------------------------------------------------------

    async def token(self, user_id: str, project_id: str, password: str = PASSWORD) -> str:
        r = await self.call("identity", "POST", "/v3/auth/tokens", expect=201, json={
            "auth": {"identity": {"methods": ["password"], "password": {"user": {
                "id": user_id, "password": password}}},
                "scope": {"project": {"id": project_id}}}})
        return r.headers["X-Subject-Token"]

    async def role_id(self, name: str) -> str:
        r = await self.call("identity", "GET", "/v3/roles", params={"name": name}, expect=200)
        return str(r.json()["roles"][0]["id"])

    async def make_user(self, project_id: str | None, role: str | None) -> str:
        r = await self.call("identity", "POST", "/v3/users", expect=201, json={"user": {
            "name": unique("sweep-user"), "password": PASSWORD, "domain_id": "default"}})
        user_id = str(r.json()["user"]["id"])
        if project_id and role:
            await self.call("identity", "PUT", f"/v3/projects/{project_id}/users/{user_id}"
                            f"/roles/{await self.role_id(role)}", expect=204)
        return user_id

    async def make_project(self) -> str:
        r = await self.call("identity", "POST", "/v3/projects", expect=201, json={
            "project": {"name": unique("sweep-project"), "domain_id": "default"}})
        return str(r.json()["project"]["id"])

    async def make_server(self, tenant: Tenant) -> str:
        r = await self.call("compute", "POST", "/v2.1/servers", expect=202,
                            token=tenant.callers["member"].token, json={"server": {
                                "name": unique("sweep-vm"),
                                "imageRef": self.shared["image:public"],
                                "flavorRef": self.shared["compute:flavor"],
                                "networks": "none"}})
        server_id = str(r.json()["server"]["id"])
        for _ in range(500):
            r = await self.call("compute", "GET", f"/v2.1/servers/{server_id}", expect=200)
            if r.json()["server"]["status"] == "ACTIVE":
                return server_id
            await asyncio.sleep(0.02)
        raise AssertionError(f"server {server_id} never became ACTIVE")


async def build_world(cloud: CloudClient) -> World:
    world = World(cloud=cloud, tenants={}, shared={},
                  clients={"identity": cloud.identity.http, **cloud.clients})
    await _identity(world)
    await _image(world)
    await _placement(world)
    await _compute(world)
    await _network(world)
    await _volume(world)
    for tenant in world.tenants.values():
        tenant.ids["attached_volume_id"] = await attach_volume(world, tenant)
    return world


# What the sweep's OAuth1 access tokens delegate: the role of the admin who authorizes.
OAUTH_ROLES = [{"name": "admin"}]

SWEEP_DOMAIN_CONFIG = {"identity": {"driver": "sql"},
                       "ldap": {"url": "ldap://sweep.example", "suffix": "dc=sweep"}}


async def make_access_rule(world: World, user_id: str, token: str) -> str:
    """A new access rule of the user, in use by no credential (so that it may be
    deleted): made with a credential that is deleted at once."""
    creds = f"/v3/users/{user_id}/application_credentials"
    r = await world.call("identity", "POST", creds, token=token, expect=201, json={
        "application_credential": {"name": unique("sweep-ar"), "access_rules": [{
            "service": "compute", "method": "GET", "path": f"/v2.1/{unique('sweep')}"}]}})
    cred = r.json()["application_credential"]
    await world.call("identity", "DELETE", f"{creds}/{cred['id']}", token=token, expect=204)
    return str(cred["access_rules"][0]["id"])


async def _identity(world: World) -> None:
    shared = world.shared
    for side in SIDES:
        tenant = world.tenants[side] = Tenant(side, await world.make_project())
        for role in ROLES:
            user_id = await world.make_user(tenant.project_id, role)
            tenant.callers[role] = Caller(role, user_id,
                                          await world.token(user_id, tenant.project_id))
        tenant.ids["grantee"] = await world.make_user(tenant.project_id, "member")
        await world.call("identity", "PUT", f"/v3/projects/{tenant.project_id}/tags/sweep-tag",
                         expect=201)
        for caller in tenant.callers.values():
            r = await world.call("identity", "POST",
                                 f"/v3/users/{caller.user_id}/application_credentials",
                                 token=caller.token, expect=201, json={
                                     "application_credential": {"name": unique("sweep-ac")}})
            tenant.ids[f"app_cred:{caller.user_id}"] = r.json()["application_credential"]["id"]
            tenant.ids[f"access_rule:{caller.user_id}"] = await make_access_rule(
                world, caller.user_id, caller.token)
            r = await world.call("identity", "POST", "/v3/credentials", expect=201, json={
                "credential": {"user_id": caller.user_id, "type": "sweep", "blob": "swept"}})
            tenant.ids[f"credential:{caller.user_id}"] = r.json()["credential"]["id"]
            r = await world.call("identity", "POST",
                                 f"/v3/users/{caller.user_id}/credentials/OS-EC2",
                                 expect=201, json={"tenant_id": tenant.project_id})
            tenant.ids[f"ec2:{caller.user_id}"] = r.json()["credential"]["access"]
    world.tenants["own"].ids["domain"] = "default"
    r = await world.call("identity", "POST", "/v3/domains", expect=201,
                         json={"domain": {"name": unique("sweep-domain")}})
    world.tenants["other"].ids["domain"] = r.json()["domain"]["id"]
    for tenant in world.tenants.values():
        await world.call("identity", "PUT", f"/v3/domains/{tenant.ids['domain']}/config",
                         expect=(200, 201), json={"config": SWEEP_DOMAIN_CONFIG})
    for key in ("role_id", "prior_role_id", "implied_role_id"):
        r = await world.call("identity", "POST", "/v3/roles", expect=201,
                             json={"role": {"name": unique("sweep-role")}})
        shared[f"identity:{key}"] = r.json()["role"]["id"]
    await world.call("identity", "PUT", f"/v3/roles/{shared['identity:prior_role_id']}"
                     f"/implies/{shared['identity:implied_role_id']}", expect=201)
    r = await world.call("identity", "POST", "/v3/policies", expect=201,
                         json={"policy": {"type": "application/json", "blob": "{}"}})
    shared["identity:policy_id"] = r.json()["policy"]["id"]
    r = await world.call("identity", "POST", "/v3/groups", expect=201,
                         json={"group": {"name": unique("sweep-group")}})
    shared["identity:group_id"] = group_id = r.json()["group"]["id"]
    role_id = shared["identity:role_id"]
    for tenant in world.tenants.values():
        grantee = tenant.ids["grantee"]
        await world.call("identity", "PUT", f"/v3/groups/{group_id}/users/{grantee}",
                         expect=204)
        for target in (f"/v3/projects/{tenant.project_id}",
                       f"/v3/domains/{tenant.ids['domain']}", "/v3/system"):
            for actor in (f"users/{grantee}", f"groups/{group_id}"):
                await world.call("identity", "PUT", f"{target}/{actor}/roles/{role_id}",
                                 expect=204)
    r = await world.call("identity", "POST", "/v3/regions", expect=201,
                         json={"region": {"id": unique("sweep-region")}})
    shared["identity:region_id"] = region_id = r.json()["region"]["id"]
    r = await world.call("identity", "POST", "/v3/services", expect=201,
                         json={"service": {"type": unique("sweep"), "name": "sweep"}})
    shared["identity:service_id"] = r.json()["service"]["id"]
    r = await world.call("identity", "POST", "/v3/endpoints", expect=201, json={"endpoint": {
        "interface": "public", "service_id": shared["identity:service_id"],
        "region_id": region_id, "url": "http://sweep.test/"}})
    shared["identity:endpoint_id"] = endpoint_id = r.json()["endpoint"]["id"]
    # OS-EP-FILTER: a group of the sweep's service, and in each side a project of its own
    # (an association limits a project's catalog) associated with the group and the
    # endpoint.
    r = await world.call("identity", "POST", "/v3/OS-EP-FILTER/endpoint_groups", expect=201,
                         json={"endpoint_group": {"name": unique("sweep-group"), "filters": {
                             "service_id": shared["identity:service_id"]}}})
    shared["identity:endpoint_group_id"] = group_id = r.json()["endpoint_group"]["id"]
    # OS-OAUTH1: a consumer; in each side a request token waiting to be authorized and an
    # access token of the side's admin.
    r = await world.call("identity", "POST", "/v3/OS-OAUTH1/consumers", expect=201,
                         json={"consumer": {"description": "sweep"}})
    shared["identity:consumer_id"] = r.json()["consumer"]["id"]
    shared["identity:consumer_secret"] = r.json()["consumer"]["secret"]
    admin_role = await world.role_id("admin")
    for tenant in world.tenants.values():
        tenant.ids["oauth:request_token_id"], _ = await oauth_request_token(
            world.client("identity"), world.consumer, tenant.project_id)
        tenant.ids["oauth:access_token_id"] = await world.make_access_token(tenant)
        tenant.ids["oauth:role_id"] = admin_role
    for tenant in world.tenants.values():
        tenant.ids["ep_filter_project"] = project_id = await world.make_project()
        for path in (f"endpoint_groups/{group_id}/projects/{project_id}",
                     f"projects/{project_id}/endpoints/{endpoint_id}"):
            await world.call("identity", "PUT", f"/v3/OS-EP-FILTER/{path}", expect=204)


# An import task from a host no sweep's cloud allows: it fails at once, unresolved.
IMPORT_TASK = {"type": "import", "input": {
    "import_from": "http://sweep-image.invalid/disk.qcow2", "import_from_format": "qcow2",
    "image_properties": {"name": "sweep-import", "disk_format": "qcow2",
                         "container_format": "bare"}}}


async def _image(world: World) -> None:
    r = await world.call("image", "POST", "/v2/images", expect=201, json={
        "name": unique("sweep-public"), "disk_format": "raw", "container_format": "bare",
        "visibility": "public"})
    world.shared["image:public"] = r.json()["id"]
    await _upload(world, r.json()["id"], None)
    own, other = world.tenants["own"], world.tenants["other"]
    for tenant, member in ((own, other.project_id), (other, str(uuid.uuid4()))):
        token = tenant.callers["member"].token
        tenant.ids["image_id"] = await _shared_image(world, token)
        tenant.ids["member"] = member
        await world.call("image", "POST", f"/v2/images/{tenant.ids['image_id']}/members",
                         token=token, expect=200, json={"member": member})
    for tenant in (own, other):
        r = await world.call("image", "POST", "/v2/tasks", expect=201,
                             token=tenant.callers["admin"].token, json=IMPORT_TASK)
        tenant.ids["task_id"] = r.json()["id"]
    for tenant, member in ((own, own.project_id), (other, str(uuid.uuid4()))):
        image_id = await _shared_image(world, other.callers["member"].token)
        tenant.ids["incoming_image"], tenant.ids["incoming_member"] = image_id, member
        await world.call("image", "POST", f"/v2/images/{image_id}/members",
                         token=other.callers["member"].token, expect=200,
                         json={"member": member})


    for tenant in world.tenants.values():
        tenant.ids.update(await make_metadef_namespace(world, tenant))


async def make_metadef_namespace(world: World, tenant: Tenant) -> dict[str, str]:
    """A private metadata definitions namespace of the tenant's (the admin writes them),
    with an object, a property, a tag and a resource type: their path parameters."""
    name = unique("sweep-ns")
    await world.call("image", "POST", "/v2/metadefs/namespaces", expect=201, json={
        "namespace": name, "owner": tenant.project_id, "visibility": "private",
        "objects": [{"name": "sweep-object"}], "tags": [{"name": "sweep-tag"}],
        "properties": {"sweep_property": {"title": "Sweep", "type": "string"}},
        "resource_type_associations": [{"name": "OS::Glance::Image"}]})
    return {"metadef:namespace": name, "metadef:object_name": "sweep-object",
            "metadef:property_name": "sweep_property", "metadef:tag_name": "sweep-tag",
            "metadef:resource_type": "OS::Glance::Image"}


async def _shared_image(world: World, token: str) -> str:
    r = await world.call("image", "POST", "/v2/images", token=token, expect=201, json={
        "name": unique("sweep-image"), "disk_format": "raw", "container_format": "bare",
        "visibility": "shared", "tags": ["sweep-tag"], "sweep_key": "1"})
    await _upload(world, r.json()["id"], token)
    return str(r.json()["id"])


async def _upload(world: World, image_id: str, token: str | None) -> None:
    await world.call("image", "PUT", f"/v2/images/{image_id}/file", token=token, expect=204,
                     content=b"sweep" * 512,
                     headers={"Content-Type": "application/octet-stream"})


async def _placement(world: World) -> None:
    """A provider with inventory, a trait and an aggregate; consumers whose allocations
    are against a second provider (so the first one's inventory may be deleted); a
    resource class and a trait nothing uses (so they may be deleted)."""
    shared = world.shared
    for key in ("trait", "provider_trait", "resource_class"):
        shared[f"placement:{key}"] = name = f"CUSTOM_SWEEP_{uuid.uuid4().hex[:8].upper()}"
        kind = "resource_classes" if key == "resource_class" else "traits"
        await world.call("placement", "PUT", f"/{kind}/{name}", expect=201)
    shared["placement:aggregate"] = str(uuid.uuid4())
    generations: dict[str, int] = {}
    for key in ("provider", "allocated_provider"):
        r = await world.call("placement", "POST", "/resource_providers", expect=200,
                             json={"name": unique("sweep-rp")})
        shared[f"placement:{key}"] = rp = r.json()["uuid"]
        r = await world.call("placement", "PUT", f"/resource_providers/{rp}/inventories",
                             expect=200, json={"resource_provider_generation": 0,
                                               "inventories": {
                                                   "VCPU": {"total": 1024},
                                                   "MEMORY_MB": {"total": 1 << 20}}})
        generations[key] = r.json()["resource_provider_generation"]
    rp = shared["placement:provider"]
    generation = generations["provider"]
    r = await world.call("placement", "PUT", f"/resource_providers/{rp}/traits", expect=200,
                         json={"resource_provider_generation": generation,
                               "traits": [shared["placement:provider_trait"]]})
    generation = r.json()["resource_provider_generation"]
    await world.call("placement", "PUT", f"/resource_providers/{rp}/aggregates", expect=200,
                     json={"resource_provider_generation": generation,
                           "aggregates": [shared["placement:aggregate"]]})
    for tenant in world.tenants.values():
        tenant.ids["consumer"] = consumer = str(uuid.uuid4())
        await world.call("placement", "PUT", f"/allocations/{consumer}", expect=204, json={
            "allocations": {shared["placement:allocated_provider"]: {
                "resources": {"VCPU": 1}}}, "consumer_generation": None,
            "project_id": tenant.project_id, "user_id": tenant.callers["member"].user_id,
            "consumer_type": "INSTANCE"})


async def _compute(world: World) -> None:
    shared = world.shared
    for key, public in (("compute:flavor", True), ("compute:private_flavor", False)):
        r = await world.call("compute", "POST", "/v2.1/flavors", expect=200, json={"flavor": {
            "name": unique("sweep-flavor"), "ram": 64, "vcpus": 1, "disk": 1,
            "os-flavor-access:is_public": public}})
        shared[key] = r.json()["flavor"]["id"]
    await world.call("compute", "POST", f"/v2.1/flavors/{shared['compute:flavor']}"
                     "/os-extra_specs", expect=200, json={"extra_specs": {"sweep_key": "1"}})
    await world.call("compute", "POST", f"/v2.1/flavors/{shared['compute:private_flavor']}"
                     "/action", expect=200, json={"addTenantAccess": {
                         "tenant": world.tenants["own"].project_id}})
    for tenant in world.tenants.values():
        member = tenant.callers["member"].token
        tenant.ids["server_id"] = server_id = await world.make_server(tenant)
        await _give_address(world, tenant)
        await world.call("compute", "PUT", f"/v2.1/servers/{server_id}/tags/sweep-tag",
                         token=member, expect=201)
        await world.call("compute", "PUT", f"/v2.1/servers/{server_id}/metadata/sweep_key",
                         token=member, expect=200, json={"meta": {"sweep_key": "1"}})
        r = await world.call("compute", "GET", f"/v2.1/servers/{server_id}/os-instance-actions",
                             token=member, expect=200)
        tenant.ids["request_id"] = r.json()["instanceActions"][0]["request_id"]
        r = await world.call("compute", "POST", "/v2.1/os-server-groups", token=member,
                             expect=200, json={"server_group": {
                                 "name": unique("sweep-group"), "policy": "affinity"}})
        tenant.ids["group_id"] = r.json()["server_group"]["id"]
    for tenant in world.tenants.values():
        for caller in tenant.callers.values():
            name = "sweep-kp" if tenant.side == "own" else "sweep-kp-other"
            await world.call("compute", "POST", "/v2.1/os-keypairs", token=caller.token,
                             expect=201, json={"keypair": {"name": name,
                                                           "public_key": PUBLIC_KEY}})
    _give_consoles(world)
    r = await world.call("compute", "POST", f"/v2.1/servers/{shared_server(world)}"
                         "/remote-consoles", expect=200, json={"remote_console": {
                             "protocol": "serial", "type": "serial"}})
    shared["compute:console_token"] = r.json()["remote_console"]["url"].split("token=")[1]
    r = await world.call("compute", "GET", "/v2.1/os-hypervisors", expect=200)
    shared["compute:hypervisor_id"] = r.json()["hypervisors"][0]["id"]
    shared["compute:hypervisor_hostname_pattern"] = \
        r.json()["hypervisors"][0]["hypervisor_hostname"]
    r = await world.call("compute", "GET", "/v2.1/os-services?binary=nova-compute",
                         expect=200)
    shared["compute:service_id"] = r.json()["services"][0]["id"]
    shared["compute:host"] = r.json()["services"][0]["host"]
    r = await world.call("compute", "POST", "/v2.1/os-aggregates", expect=200,
                         json={"aggregate": {"name": "sweep-aggregate"}})
    shared["compute:aggregate_id"] = str(r.json()["aggregate"]["id"])


def shared_server(world: World) -> str:
    return world.tenants["own"].ids["server_id"]


def _give_consoles(world: World) -> None:
    """The fake driver has no console sockets (its console requests are 400s); the sweep
    asks for consoles as for everything else, so its agents name a socket (the sweep
    never connects to it: the proxies are tested in tests/api/compute/test_console_proxy.py).
    """
    async def console_socket(server_id: str, kind: Any) -> Path:
        return Path(f"/run/ownstack-sweep/{server_id}.{kind}")

    for agent in world.cloud.agents.agents:
        agent.driver.console_socket = console_socket


SWEEP_NETWORK_LABEL = "sweep-net"
# A quota class of the sweeps' own: the default class would change every project's limits.
SWEEP_QUOTA_CLASS = "sweep-class"


async def _give_address(world: World, tenant: Tenant) -> None:
    """An interface of the server on a network of its own named
    :data:`SWEEP_NETWORK_LABEL` (no other sweep deletes it), attached through os-interface:
    its port is the sweeps' ``port_id`` of the server."""
    member = tenant.callers["member"].token
    r = await world.call("network", "POST", "/v2.0/networks", token=member, expect=201,
                         json={"network": {"name": SWEEP_NETWORK_LABEL}})
    tenant.ids["interface_network_id"] = network_id = r.json()["network"]["id"]
    await world.call("network", "POST", "/v2.0/subnets", token=member, expect=201,
                     json={"subnet": {"network_id": network_id, "ip_version": 4,
                                      "cidr": "192.0.2.0/24"}})
    tenant.ids["interface_port_id"] = await attach_interface(world, tenant, member)


async def attach_interface(world: World, tenant: Tenant, token: str) -> str:
    """A new port of the tenant's server on its interface network: the port's id."""
    r = await world.call("compute", "POST",
                         f"/v2.1/servers/{tenant.ids['server_id']}/os-interface",
                         token=token, expect=200, json={"interfaceAttachment": {
                             "net_id": tenant.ids["interface_network_id"]}})
    return str(r.json()["interfaceAttachment"]["port_id"])


async def report_network_agent(world: World, host: str) -> str:
    """A network agent on ``host`` reports itself over the bus, as one does at start-up:
    its row's id."""
    answer = await world.cloud.apps["network"].svc.bus.call("network", "report_agent", {
        "host": host, "agent_type": "Linux bridge agent", "topic": f"network.{host}",
        "binary": "neutron-linuxbridge-agent", "availability_zone": "nova",
        "configurations": {}}, timeout=10)
    return str(answer["id"])


async def _network(world: World) -> None:
    # The admin's external network, for every project's router gateway and floating IPs.
    r = await world.call("network", "POST", "/v2.0/networks", expect=201, json={
        "network": {"name": unique("sweep-public"), "router:external": True}})
    world.shared["network:external_id"] = public = r.json()["network"]["id"]
    world.shared["network:external_name"] = r.json()["network"]["name"]
    await world.call("network", "POST", "/v2.0/subnets", expect=201, json={"subnet": {
        "network_id": public, "ip_version": 4, "cidr": "172.24.0.0/16", "enable_dhcp": False}})
    for tenant in world.tenants.values():
        tenant.ids["agent_id"] = await report_network_agent(world, unique("sweep-host"))
        member = tenant.callers["member"].token
        r = await world.call("network", "POST", "/v2.0/networks", token=member, expect=201,
                             json={"network": {"name": unique("sweep-net")}})
        tenant.ids["network_id"] = network_id = r.json()["network"]["id"]
        await world.call("network", "PUT", f"/v2.0/networks/{network_id}/tags/sweep-tag",
                         token=member, expect=201)
        r = await world.call("network", "POST", "/v2.0/rbac-policies", token=member,
                             expect=201, json={"rbac_policy": {
                                 "object_type": "network", "object_id": network_id,
                                 "action": "access_as_shared",
                                 "target_tenant": uuid.uuid4().hex}})
        tenant.ids["policy_id"] = r.json()["rbac_policy"]["id"]
        r = await world.call("network", "POST", "/v2.0/security-groups", token=member,
                             expect=201, json={"security_group": {"name": unique("sweep-sg")}})
        tenant.ids["security_group_id"] = group_id = r.json()["security_group"]["id"]
        await world.call("network", "PUT", f"/v2.0/security-groups/{group_id}/tags/sweep-tag",
                         token=member, expect=201)
        r = await world.call("network", "POST", "/v2.0/security-group-rules", token=member,
                             expect=201, json={"security_group_rule": {
                                 "security_group_id": group_id, "direction": "ingress",
                                 "protocol": "tcp", "port_range_min": 22,
                                 "port_range_max": 22}})
        tenant.ids["security_group_rule_id"] = r.json()["security_group_rule"]["id"]
        await world.call("network", "PUT", f"/v2.0/quotas/{tenant.project_id}", expect=200,
                         json={"quota": {"network": 50, "router": 50, "floatingip": 50,
                                             "security_group": 50,
                                             "security_group_rule": 500}})
        r = await world.call("network", "POST", "/v2.0/subnets", token=member, expect=201,
                             json={"subnet": {"network_id": network_id, "ip_version": 4,
                                              "cidr": "192.168.0.0/24"}})
        tenant.ids["subnet_id"] = subnet_id = r.json()["subnet"]["id"]
        r = await world.call("network", "POST", "/v2.0/subnetpools", token=member, expect=201,
                             json={"subnetpool": {"prefixes": ["10.128.0.0/9"]}})
        tenant.ids["subnetpool_id"] = pool_id = r.json()["subnetpool"]["id"]
        for path in (f"/v2.0/subnets/{subnet_id}", f"/v2.0/subnetpools/{pool_id}"):
            await world.call("network", "PUT", f"{path}/tags/sweep-tag", token=member,
                             expect=201)
        r = await world.call("network", "POST", "/v2.0/ports", token=member, expect=201,
                             json={"port": {"network_id": network_id,
                                            "name": unique("sweep-port")}})
        tenant.ids["port_id"] = port_id = r.json()["port"]["id"]
        await world.call("network", "PUT", f"/v2.0/ports/{port_id}/tags/sweep-tag",
                         token=member, expect=201)
        await _l3(world, tenant, public)


async def _l3(world: World, tenant: Tenant, public: str) -> None:
    """A router of the project with its gateway on the external network and an interface on
    the project's subnet, and a floating IP of the project."""
    member = tenant.callers["member"].token
    r = await world.call("network", "POST", "/v2.0/routers", token=member, expect=201,
                         json={"router": {"name": unique("sweep-router"),
                                          "external_gateway_info": {"network_id": public}}})
    tenant.ids["router_id"] = router_id = r.json()["router"]["id"]
    await world.call("network", "PUT", f"/v2.0/routers/{router_id}/add_router_interface",
                     token=member, expect=200, json={"subnet_id": tenant.ids["subnet_id"]})
    r = await world.call("network", "POST", "/v2.0/floatingips", token=member, expect=201,
                         json={"floatingip": {"floating_network_id": public}})
    tenant.ids["floatingip_id"] = fip_id = r.json()["floatingip"]["id"]
    for path in (f"/v2.0/routers/{router_id}", f"/v2.0/floatingips/{fip_id}"):
        await world.call("network", "PUT", f"{path}/tags/sweep-tag", token=member,
                         expect=201)


# --- volume --------------------------------------------------------------------------------

async def wait_volume_status(world: World, path: str, key: str, token: str) -> None:
    """Until the volume or snapshot at ``path`` leaves the statuses its agent works on."""
    for _ in range(500):
        r = await world.call("volume", "GET", path, token=token, expect=200)
        if r.json()[key]["status"] not in ("creating", "deleting", "extending", "uploading",
                                           "reverting", "restoring"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never settled")


async def make_volume(world: World, tenant: Tenant, **fields: Any) -> str:
    """An available volume of ``tenant``, made by its member; its id."""
    token = tenant.callers["member"].token
    r = await world.call("volume", "POST", "/v3/volumes", token=token, expect=202,
                         json={"volume": {"size": 1, "name": unique("sweep-vol"), **fields}})
    volume_id = str(r.json()["volume"]["id"])
    await wait_volume_status(world, f"/v3/volumes/{volume_id}", "volume", token)
    return volume_id


async def make_snapshot(world: World, tenant: Tenant, volume_id: str) -> str:
    token = tenant.callers["member"].token
    await wait_snapshots_settled(world, tenant, volume_id)
    r = await world.call("volume", "POST", "/v3/snapshots", token=token, expect=202,
                         json={"snapshot": {"volume_id": volume_id,
                                            "metadata": {"sweep_key": "1"}}})
    snapshot_id = str(r.json()["snapshot"]["id"])
    await wait_volume_status(world, f"/v3/snapshots/{snapshot_id}", "snapshot", token)
    return snapshot_id


async def wait_snapshots_settled(world: World, tenant: Tenant, volume_id: str) -> None:
    """A volume takes one snapshot at a time: until none of its snapshots is being made."""
    token = tenant.callers["member"].token
    for _ in range(500):
        r = await world.call("volume", "GET", f"/v3/snapshots?volume_id={volume_id}",
                             token=token, expect=200)
        if all(s["status"] not in ("creating", "deleting") for s in r.json()["snapshots"]):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the snapshots of {volume_id} never settled")


async def attach_volume(world: World, tenant: Tenant) -> str:
    """A new volume of the tenant's, attached to its server (in-use): the volume's id."""
    volume_id = await make_volume(world, tenant)
    token = tenant.callers["member"].token
    await world.call("compute", "POST",
                     f"/v2.1/servers/{tenant.ids['server_id']}/os-volume_attachments",
                     token=token, expect=200,
                     json={"volumeAttachment": {"volumeId": volume_id}})
    # The volume turns in-use (the attachment completed) just before the server's mapping
    # says attached; a detach in between is refused as still attaching.
    for _ in range(500):
        r = await world.call("volume", "GET", f"/v3/volumes/{volume_id}", token=token,
                             expect=200)
        async with world.cloud.svc.read() as db:
            mapping = await block_devices.find_volume(db, tenant.ids["server_id"], volume_id)
        if r.json()["volume"]["status"] == "in-use" and mapping is not None and \
                mapping.attach_state == block_devices.ATTACHED:
            return volume_id
        await asyncio.sleep(0.02)
    raise AssertionError(f"volume {volume_id} never in-use and attached")


async def make_attachment(world: World, tenant: Tenant) -> str:
    """A reserved attachment of a volume of its own (attaching changes the volume)."""
    volume_id = await make_volume(world, tenant)
    r = await world.call("volume", "POST", "/v3/attachments",
                         token=tenant.callers["member"].token, expect=200, json={
                             "attachment": {"volume_uuid": volume_id,
                                            "instance_uuid": str(uuid.uuid4())}})
    return str(r.json()["attachment"]["id"])


async def make_message(world: World, tenant: Tenant) -> str:
    """A user message of ``tenant``'s: a volume of the public type no backend meets, which
    ends in error; the message's id."""
    token = tenant.callers["member"].token
    r = await world.call("volume", "POST", "/v3/volumes", token=token, expect=202, json={
        "volume": {"size": 1, "volume_type": world.shared["volume:nowhere_type_id"]}})
    volume_id = str(r.json()["volume"]["id"])
    r = await world.call("volume", "GET", f"/v3/messages?resource_uuid={volume_id}",
                         token=token, expect=200)
    return str(r.json()["messages"][0]["id"])


async def make_group(world: World, tenant: Tenant) -> str:
    """An empty group of the tenant's (available at once), of the sweeps' group type."""
    r = await world.call("volume", "POST", "/v3/groups", expect=202,
                         token=tenant.callers["member"].token, json={"group": {
                             "group_type": world.shared["volume:group_type_id"],
                             "volume_types": ["__DEFAULT__"]}})
    return str(r.json()["group"]["id"])


def transfer_key(world: World, transfer_id: str) -> str:
    """The auth key of a transfer the sweeps made (any string for one they did not)."""
    return world.shared.get(f"volume:transfer_key:{transfer_id}", "not-a-key")


async def make_transfer(world: World, tenant: Tenant) -> str:
    """A transfer of a new volume of the tenant's, offered by its member; its id (its
    auth key kept for :func:`transfer_key`)."""
    volume_id = await make_volume(world, tenant)
    r = await world.call("volume", "POST", "/v3/os-volume-transfer", expect=202,
                         token=tenant.callers["member"].token,
                         json={"transfer": {"volume_id": volume_id}})
    transfer = r.json()["transfer"]
    world.shared[f"volume:transfer_key:{transfer['id']}"] = transfer["auth_key"]
    return str(transfer["id"])


async def _volume(world: World) -> None:
    """A private volume type the own project may use, with an extra spec; QoS specs; and
    in each project (quotas raised for the sweeps) an available volume with metadata, a
    snapshot of it, an attachment, a transfer of another volume, and a default type."""
    r = await world.call("volume", "POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("sweep-type"), "os-volume-type-access:is_public": False,
        "extra_specs": {"multiattach": "<is> False"}}})
    world.shared["volume:type_id"] = type_id = r.json()["volume_type"]["id"]
    await world.call("volume", "POST", f"/v3/types/{type_id}/action", expect=202, json={
        "addProjectAccess": {"project": world.tenants["own"].project_id}})
    r = await world.call("volume", "POST", "/v3/qos-specs", expect=200, json={"qos_specs": {
        "name": unique("sweep-qos"), "sweep_key": "1"}})
    world.shared["volume:qos_id"] = r.json()["qos_specs"]["id"]
    r = await world.call("volume", "GET", "/v3/os-hosts", expect=200)
    world.shared["volume:host"] = next(host["host_name"] for host in r.json()["hosts"]
                                       if host["service"] == "cinder-volume")
    r = await world.call("volume", "POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("sweep-nowhere"), "extra_specs": {"storage_protocol": "nowhere"}}})
    world.shared["volume:nowhere_type_id"] = r.json()["volume_type"]["id"]
    # The sweeps' group type is the default one (GET /group_types/default), with a spec.
    r = await world.call("volume", "POST", "/v3/group_types", expect=202, json={
        "group_type": {"name": "default_group_type", "group_specs": {"sweep_key": "1"}}})
    world.shared["volume:group_type_id"] = r.json()["group_type"]["id"]
    for tenant in world.tenants.values():
        project = tenant.project_id
        await world.call("volume", "PUT", f"/v3/os-quota-sets/{project}", expect=200, json={
            "quota_set": {"volumes": 500, "snapshots": 500, "gigabytes": 5000,
                          "groups": 500}})
        await world.call("volume", "PUT", f"/v3/default-types/{project}", expect=200,
                         json={"default_type": {"volume_type": "__DEFAULT__"}})
        volume_id = await make_volume(world, tenant, metadata={"sweep_key": "1"})
        tenant.ids["volume:volume_id"] = volume_id
        tenant.ids["volume:snapshot_id"] = await make_snapshot(world, tenant, volume_id)
        tenant.ids["volume:attachment_id"] = await make_attachment(world, tenant)
        tenant.ids["volume:transfer_id"] = await make_transfer(world, tenant)
        tenant.ids["volume:message_id"] = await make_message(world, tenant)
        tenant.ids["volume:group_id"] = group_id = await make_group(world, tenant)
        r = await world.call("volume", "POST", "/v3/group_snapshots", expect=202,
                             token=tenant.callers["member"].token,
                             json={"group_snapshot": {"group_id": group_id}})
        tenant.ids["volume:group_snapshot_id"] = str(r.json()["group_snapshot"]["id"])
