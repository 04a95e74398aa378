"""A valid request for each route of the route tables, for the sweeps of every route.

:func:`valid_body` gives the body a route accepts (None for a route that takes none);
:func:`prepare` makes what a destructive request is about to consume (a fresh server to
delete, the grant to revoke again), so that each allowed call can really succeed and the
shared resources of :mod:`helpers.sweeps.world` survive the sweep.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from helpers.names import unique
from helpers.oauth1 import request_token as oauth_request_token
from helpers.sweeps.routes import Route, route_table
from helpers.sweeps.world import (
    IMAGE_PATCH,
    IMPORT_TASK,
    OAUTH_ROLES,
    PASSWORD,
    PUBLIC_KEY,
    SWEEP_DOMAIN_CONFIG,
    World,
    attach_interface,
    attach_volume,
    make_access_rule,
    make_attachment,
    make_message,
    make_metadef_namespace,
    make_snapshot,
    make_transfer,
    make_volume,
    report_network_agent,
    transfer_key,
    wait_snapshots_settled,
)


@dataclass
class Cell:
    """One request of a sweep: ``route``, about ``side``'s resources, made by ``role`` of
    the own project."""

    world: World
    route: Route
    side: str
    role: str
    params: dict[str, str]

    @property
    def tenant_project(self) -> str:
        return self.world.tenants[self.side].project_id

    @property
    def caller_token(self) -> str:
        return self.world.tenants["own"].callers[self.role].token

    @property
    def member_token(self) -> str:
        """The token of a member of ``side``'s project, who may make what it owns."""
        return self.world.tenants[self.side].callers["member"].token


@dataclass(frozen=True)
class Body:
    content: bytes
    media_type: str


Builder = Callable[[Cell], Awaitable[Any]]
BODIES: dict[Route, Builder] = {}


def body(service: str, method: str, *templates: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for template in templates:
            BODIES[Route(service, template, method)] = builder
        return builder
    return register


async def valid_body(cell: Cell) -> Body | None:
    """The body ``cell.route`` accepts, as the media type it takes; None when it takes none."""
    builder = BODIES.get(cell.route)
    if builder is None:
        return None
    document = await builder(cell)
    if isinstance(document, Body):
        return document
    media = IMAGE_PATCH if cell.route == Route("image", "/v2/images/{image_id}", "PATCH") \
        else "application/json"
    return Body(httpx.Request("POST", "/", json=document).content, media)


# --- identity ------------------------------------------------------------------------------

def _named(key: str, **fields: Any) -> Builder:
    async def build(cell: Cell) -> Any:
        return {key: {"name": unique(f"sweep-{key}"), **fields}}
    return build


def _described(key: str) -> Builder:
    async def build(cell: Cell) -> Any:
        return {key: {"description": "swept"}}
    return build


@body("identity", "POST", "/v3/auth/tokens")
async def _auth(cell: Cell) -> Any:
    caller = cell.world.tenants["own"].callers[cell.role]
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": caller.user_id, "password": PASSWORD}}},
        "scope": {"project": {"id": cell.world.tenants["own"].project_id}}}}


body("identity", "POST", "/v3/domains")(_named("domain"))
body("identity", "POST", "/v3/groups")(_named("group"))
body("identity", "POST", "/v3/roles")(_named("role"))
body("identity", "POST", "/v3/projects")(_named("project", domain_id="default"))
body("identity", "POST", "/v3/users")(_named("user", password=PASSWORD))
body("identity", "POST", "/v3/users/{user_id}/application_credentials")(
    _named("application_credential"))
for _key, _template in (("domain", "/v3/domains/{domain_id}"),
                        ("group", "/v3/groups/{group_id}"),
                        ("role", "/v3/roles/{role_id}"),
                        ("project", "/v3/projects/{project_id}"),
                        ("user", "/v3/users/{user_id}"),
                        ("region", "/v3/regions/{region_id}"),
                        ("service", "/v3/services/{service_id}")):
    body("identity", "PATCH", _template)(_described(_key))


body("identity", "POST", "/v3/OS-OAUTH1/consumers")(_described("consumer"))
body("identity", "PATCH", "/v3/OS-OAUTH1/consumers/{consumer_id}")(_described("consumer"))


@body("identity", "PUT", "/v3/OS-OAUTH1/authorize/{request_token_id}")
async def _oauth_roles(cell: Cell) -> Any:
    return {"roles": OAUTH_ROLES}


@body("identity", "PUT", "/v3/domains/{domain_id}/config")
async def _domain_config(cell: Cell) -> Any:
    return {"config": SWEEP_DOMAIN_CONFIG}


@body("identity", "PATCH", "/v3/domains/{domain_id}/config",
      "/v3/domains/{domain_id}/config/{group}")
async def _domain_config_group(cell: Cell) -> Any:
    return {"config": {"ldap": {"url": "ldap://sweep.example"}}}


@body("identity", "PATCH", "/v3/domains/{domain_id}/config/{group}/{option}")
async def _domain_config_option(cell: Cell) -> Any:
    return {"config": {"url": "ldap://sweep.example"}}


@body("identity", "POST", "/v3/credentials")
async def _credential(cell: Cell) -> Any:
    owner = cell.world.tenants[cell.side].callers[cell.role if cell.side == "own" else "member"]
    return {"credential": {"user_id": owner.user_id, "type": "sweep", "blob": "swept"}}


@body("identity", "PATCH", "/v3/credentials/{credential_id}")
async def _credential_blob(cell: Cell) -> Any:
    return {"credential": {"blob": "swept again"}}


@body("identity", "POST", "/v3/users/{user_id}/credentials/OS-EC2")
async def _ec2_key_pair(cell: Cell) -> Any:
    return {"tenant_id": cell.tenant_project}


@body("identity", "POST", "/v3/policies")
async def _policy(cell: Cell) -> Any:
    return {"policy": {"type": "application/json", "blob": "{}"}}


@body("identity", "PATCH", "/v3/policies/{policy_id}")
async def _policy_blob(cell: Cell) -> Any:
    return {"policy": {"blob": '{"swept": ""}'}}


@body("identity", "POST", "/v3/OS-EP-FILTER/endpoint_groups")
async def _endpoint_group(cell: Cell) -> Any:
    return {"endpoint_group": {"name": unique("sweep-group"),
                               "filters": {"interface": "public"}}}


@body("identity", "PATCH", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}")
async def _endpoint_group_name(cell: Cell) -> Any:
    return {"endpoint_group": {"description": "swept"}}


@body("identity", "POST", "/v3/regions")
@body("identity", "PUT", "/v3/regions/{region_id}")
async def _region(cell: Cell) -> Any:
    return {"region": {"description": "swept"}}


@body("identity", "POST", "/v3/services")
async def _service(cell: Cell) -> Any:
    return {"service": {"type": unique("sweep-type")}}


@body("identity", "POST", "/v3/endpoints")
async def _endpoint(cell: Cell) -> Any:
    return {"endpoint": {"interface": "internal", "url": "http://sweep.test/",
                         "service_id": cell.world.shared["identity:service_id"]}}


@body("identity", "PATCH", "/v3/endpoints/{endpoint_id}")
async def _endpoint_url(cell: Cell) -> Any:
    return {"endpoint": {"url": "http://sweep.test/again"}}


@body("identity", "PUT", "/v3/projects/{project_id}/tags")
async def _project_tags(cell: Cell) -> Any:
    return {"tags": ["sweep-tag"]}


@body("identity", "POST", "/v3/users/{user_id}/password")
async def _password(cell: Cell) -> Any:
    return {"user": {"original_password": PASSWORD, "password": unique("new-password")}}


# --- image ---------------------------------------------------------------------------------

@body("image", "POST", "/v2/images")
async def _image(cell: Cell) -> Any:
    return {"name": unique("sweep-image"), "disk_format": "raw", "container_format": "bare"}


@body("image", "POST", "/v2/tasks")
async def _task(cell: Cell) -> Any:
    return IMPORT_TASK


@body("image", "PATCH", "/v2/images/{image_id}")
async def _image_patch(cell: Cell) -> Any:
    return [{"op": "replace", "path": "/name", "value": "swept"}]


@body("image", "PUT", "/v2/images/{image_id}/file")
async def _image_data(cell: Cell) -> Any:
    return Body(b"sweep" * 64, "application/octet-stream")


@body("image", "POST", "/v2/images/{image_id}/members")
async def _member(cell: Cell) -> Any:
    return {"member": uuid.uuid4().hex}


@body("image", "PUT", "/v2/images/{image_id}/members/{member_id}")
async def _member_status(cell: Cell) -> Any:
    return {"status": "accepted"}


_METADEF = "/v2/metadefs/namespaces/{namespace}"


@body("image", "POST", "/v2/metadefs/namespaces")
async def _metadef_namespace(cell: Cell) -> Any:
    return {"namespace": unique("sweep-ns"), "owner": cell.tenant_project}


@body("image", "PUT", _METADEF)
async def _metadef_namespace_update(cell: Cell) -> Any:
    # An update without an owner gives the namespace to the caller's project, as Glance.
    return {"namespace": cell.params["namespace"], "owner": cell.tenant_project,
            "visibility": "private"}


@body("image", "POST", f"{_METADEF}/resource_types")
async def _metadef_association(cell: Cell) -> Any:
    return {"name": unique("OS::Sweep"), "prefix": "sweep_"}


@body("image", "POST", f"{_METADEF}/objects")
async def _metadef_object(cell: Cell) -> Any:
    return {"name": unique("sweep-object"), "required": ["p"],
            "properties": {"p": {"title": "P", "type": "string"}}}


@body("image", "PUT", f"{_METADEF}/objects/{{object_name}}")
async def _metadef_object_update(cell: Cell) -> Any:
    return {"name": cell.params["object_name"], "description": "swept"}


@body("image", "POST", f"{_METADEF}/properties")
async def _metadef_property(cell: Cell) -> Any:
    return {"name": unique("sweep_property"), "title": "Swept", "type": "string"}


@body("image", "PUT", f"{_METADEF}/properties/{{property_name}}")
async def _metadef_property_update(cell: Cell) -> Any:
    return {"name": cell.params["property_name"], "title": "Swept", "type": "string"}


@body("image", "POST", f"{_METADEF}/tags")
async def _metadef_tags(cell: Cell) -> Any:
    return {"tags": [{"name": unique("sweep-tag")}]}


@body("image", "PUT", f"{_METADEF}/tags/{{tag_name}}")
async def _metadef_tag_update(cell: Cell) -> Any:
    return {"name": cell.params["tag_name"]}


# --- placement -----------------------------------------------------------------------------

async def _generation(cell: Cell) -> int:
    r = await cell.world.call("placement", "GET",
                              f"/resource_providers/{cell.params.get('uuid')}")
    return int(r.json().get("generation", 0)) if r.status_code == 200 else 0


def _allocation(cell: Cell, generation: int | None) -> dict[str, Any]:
    tenant = cell.world.tenants[cell.side]
    return {"allocations": {cell.world.shared["placement:allocated_provider"]: {
        "resources": {"VCPU": 1}}}, "project_id": tenant.project_id,
        "user_id": tenant.callers["member"].user_id, "consumer_generation": generation,
        "consumer_type": "INSTANCE"}


@body("placement", "POST", "/allocations")
async def _allocations(cell: Cell) -> Any:
    return {str(uuid.uuid4()): _allocation(cell, None)}


@body("placement", "PUT", "/allocations/{consumer_uuid}")
async def _consumer_allocations(cell: Cell) -> Any:
    r = await cell.world.call("placement", "GET",
                              f"/allocations/{cell.params['consumer_uuid']}")
    generation = r.json().get("consumer_generation") if r.status_code == 200 else None
    return _allocation(cell, generation)


@body("placement", "POST", "/reshaper")
async def _reshape(cell: Cell) -> Any:
    rp = cell.world.shared["placement:provider"]
    r = await cell.world.call("placement", "GET", f"/resource_providers/{rp}/inventories")
    return {"inventories": {rp: r.json()}, "allocations": {}}


@body("placement", "POST", "/resource_classes")
async def _resource_class(cell: Cell) -> Any:
    return {"name": f"CUSTOM_SWEEP_{uuid.uuid4().hex[:12].upper()}"}


@body("placement", "POST", "/resource_providers")
@body("placement", "PUT", "/resource_providers/{uuid}")
async def _provider(cell: Cell) -> Any:
    return {"name": unique("sweep-rp")}


@body("placement", "PUT", "/resource_providers/{uuid}/aggregates")
async def _aggregates(cell: Cell) -> Any:
    return {"resource_provider_generation": await _generation(cell),
            "aggregates": [cell.world.shared["placement:aggregate"]]}


@body("placement", "PUT", "/resource_providers/{uuid}/traits")
async def _provider_traits(cell: Cell) -> Any:
    return {"resource_provider_generation": await _generation(cell),
            "traits": [cell.world.shared["placement:provider_trait"]]}


@body("placement", "PUT", "/resource_providers/{uuid}/inventories")
async def _inventories(cell: Cell) -> Any:
    return {"resource_provider_generation": await _generation(cell),
            "inventories": {"VCPU": {"total": 1024}, "MEMORY_MB": {"total": 1 << 20}}}


@body("placement", "PUT", "/resource_providers/{uuid}/inventories/{resource_class}")
async def _inventory(cell: Cell) -> Any:
    return {"resource_provider_generation": await _generation(cell), "total": 1024}


@body("placement", "POST", "/resource_providers/{uuid}/inventories")
async def _new_inventory(cell: Cell) -> Any:
    r = await cell.world.call("placement", "POST", "/resource_classes", expect=201,
                              json=await _resource_class(cell))
    name = r.headers["location"].rsplit("/", 1)[-1]
    return {"resource_provider_generation": await _generation(cell),
            "resource_class": name, "total": 8}


# --- compute -------------------------------------------------------------------------------

@body("compute", "POST", "/v2.1/flavors")
async def _flavor(cell: Cell) -> Any:
    return {"flavor": {"name": unique("sweep-flavor"), "ram": 64, "vcpus": 1, "disk": 1}}


body("compute", "PUT", "/v2.1/flavors/{flavor_id}")(_described("flavor"))
body("compute", "PUT", "/v2.1/servers/{server_id}")(_described("server"))


@body("compute", "POST", "/v2.1/flavors/{flavor_id}/action")
async def _flavor_access(cell: Cell) -> Any:
    return {"addTenantAccess": {"tenant": uuid.uuid4().hex}}


@body("compute", "POST", "/v2.1/flavors/{flavor_id}/os-extra_specs")
async def _extra_specs(cell: Cell) -> Any:
    return {"extra_specs": {"sweep_key": "1"}}


@body("compute", "PUT", "/v2.1/flavors/{flavor_id}/os-extra_specs/{key}")
async def _extra_spec(cell: Cell) -> Any:
    return {"sweep_key": "1"}


@body("compute", "POST", "/v2.1/os-keypairs")
async def _keypair(cell: Cell) -> Any:
    return {"keypair": {"name": unique("sweep-kp"), "public_key": PUBLIC_KEY}}


@body("compute", "PUT", "/v2.1/os-quota-sets/{project_id}")
async def _quota_set(cell: Cell) -> Any:
    return {"quota_set": {"instances": 50}}


@body("compute", "PUT", "/v2.1/os-quota-class-sets/{quota_class}")
async def _quota_class_set(cell: Cell) -> Any:
    return {"quota_class_set": {"instances": 50}}


@body("compute", "POST", "/v2.1/os-server-external-events")
async def _external_events(cell: Cell) -> Any:
    return {"events": [{"name": "network-vif-plugged",
                        "server_uuid": cell.world.tenants[cell.side].ids["server_id"]}]}


@body("compute", "POST", "/v2.1/os-server-groups")
async def _server_group(cell: Cell) -> Any:
    return {"server_group": {"name": unique("sweep-group"), "policy": "affinity"}}


@body("compute", "POST", "/v2.1/os-aggregates")
@body("compute", "PUT", "/v2.1/os-aggregates/{aggregate_id}")
async def _aggregate(cell: Cell) -> Any:
    return {"aggregate": {"name": unique("sweep-agg")}}


@body("compute", "POST", "/v2.1/os-aggregates/{aggregate_id}/action")
async def _aggregate_action(cell: Cell) -> Any:
    return {"set_metadata": {"metadata": {"sweep_key": "1"}}}


@body("compute", "PUT", "/v2.1/os-services/{service_id}")
async def _service_status(cell: Cell) -> Any:
    return {"status": "enabled"}


@body("compute", "PUT", "/v2.1/os-hosts/{host}")
async def _host_status(cell: Cell) -> Any:
    return {"status": "enable"}


@body("compute", "POST", "/v2.1/servers")
async def _server(cell: Cell) -> Any:
    return {"server": {"name": unique("sweep-vm"), "imageRef": cell.world.shared["image:public"],
                       "flavorRef": cell.world.shared["compute:flavor"], "networks": "none"}}


@body("compute", "POST", "/v2.1/servers/{server_id}/action")
async def _server_action(cell: Cell) -> Any:
    return {"os-getConsoleOutput": {"length": 5}}


@body("compute", "POST", "/v2.1/servers/{server_id}/remote-consoles")
async def _remote_console(cell: Cell) -> Any:
    return {"remote_console": {"protocol": "vnc", "type": "novnc"}}


@body("compute", "POST", "/v2.1/servers/{server_id}/metadata",
      "/v2.1/images/{image_id}/metadata")
@body("compute", "PUT", "/v2.1/servers/{server_id}/metadata",
      "/v2.1/images/{image_id}/metadata")
async def _metadata(cell: Cell) -> Any:
    return {"metadata": {"sweep_key": "1"}}


@body("compute", "PUT", "/v2.1/servers/{server_id}/metadata/{key}",
      "/v2.1/images/{image_id}/metadata/{key}")
async def _metadata_item(cell: Cell) -> Any:
    return {"meta": {"sweep_key": "1"}}


@body("compute", "PUT", "/v2.1/servers/{server_id}/tags")
async def _server_tags(cell: Cell) -> Any:
    return {"tags": ["sweep-tag"]}


@body("compute", "POST", "/v2.1/servers/{server_id}/os-interface")
async def _interface(cell: Cell) -> Any:
    return {"interfaceAttachment": {
        "net_id": cell.world.tenants[cell.side].ids["interface_network_id"]}}


@body("compute", "POST", "/v2.1/servers/{server_id}/os-volume_attachments")
async def _volume_attachment(cell: Cell) -> Any:
    """A new available volume of the side's (an attach consumes one)."""
    volume_id = await make_volume(cell.world, cell.world.tenants[cell.side])
    return {"volumeAttachment": {"volumeId": volume_id}}


@body("compute", "PUT", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def _volume_attachment_update(cell: Cell) -> Any:
    return {"volumeAttachment": {"volumeId": cell.params["volume_id"],
                                 "delete_on_termination": False}}


@body("compute", "POST", "/v2.1/os-security-groups")
@body("compute", "PUT", "/v2.1/os-security-groups/{security_group_id}")
async def _compute_security_group(cell: Cell) -> Any:
    """Nova's proxy takes both a name and a description, on create and on update."""
    return {"security_group": {"name": unique("sweep-sg"), "description": "swept"}}


@body("compute", "POST", "/v2.1/os-security-group-rules")
async def _compute_rule(cell: Cell) -> Any:
    """A rule no other call made, in Nova's shape: a port of its own, drawn at random."""
    port = 1024 + uuid.uuid4().int % 60000
    return {"security_group_rule": {
        "parent_group_id": cell.world.tenants[cell.side].ids["security_group_id"],
        "ip_protocol": "tcp", "from_port": port, "to_port": port, "cidr": "10.0.0.0/8"}}


@body("compute", "POST", "/v2.1/os-floating-ips")
async def _compute_floating_ip(cell: Cell) -> Any:
    return {"pool": cell.world.shared["network:external_name"]}


@body("compute", "POST", "/v2.1/os-networks/{network_id}/action")
async def _nova_network_action(cell: Cell) -> Any:
    """One of the actions Nova removed with nova-network (a 410): the action is known."""
    return {"disassociate": None}


@body("compute", "POST", "/v2.1/os-volumes")
async def _compute_volume(cell: Cell) -> Any:
    return {"volume": {"size": 1, "display_name": unique("sweep-vol")}}


@body("compute", "POST", "/v2.1/os-snapshots")
async def _compute_snapshot(cell: Cell) -> Any:
    """Through the volume proxy: a snapshot of the side's volume, once it takes one."""
    tenant = cell.world.tenants[cell.side]
    volume_id = tenant.ids["volume:volume_id"]
    await wait_snapshots_settled(cell.world, tenant, volume_id)
    return {"snapshot": {"volume_id": volume_id, "display_name": unique("sweep-snap")}}


# --- preparing what a destructive request consumes -----------------------------------------

# --- network -------------------------------------------------------------------------------

body("network", "POST", "/v2.0/networks")(_named("network"))
body("network", "PUT", "/v2.0/networks/{network_id}")(_described("network"))


@body("network", "POST", "/v2.0/rbac-policies")
async def _rbac_policy(cell: Cell) -> Any:
    return {"rbac_policy": {"object_type": "network", "action": "access_as_shared",
                            "object_id": cell.world.tenants[cell.side].ids["network_id"],
                            "target_tenant": uuid.uuid4().hex}}


@body("network", "PUT", "/v2.0/rbac-policies/{policy_id}")
async def _rbac_target(cell: Cell) -> Any:
    return {"rbac_policy": {"target_tenant": uuid.uuid4().hex}}


body("network", "POST", "/v2.0/security-groups")(_named("security_group"))
body("network", "PUT", "/v2.0/security-groups/{security_group_id}")(
    _described("security_group"))


@body("network", "POST", "/v2.0/security-group-rules")
async def _security_group_rule(cell: Cell) -> Any:
    """A rule no other call made: a port of its own, drawn at random."""
    port = 1024 + uuid.uuid4().int % 60000
    return {"security_group_rule": {
        "security_group_id": cell.world.tenants[cell.side].ids["security_group_id"],
        "direction": "ingress", "protocol": "tcp", "port_range_min": port,
        "port_range_max": port}}


@body("network", "PUT", "/v2.0/quotas/{project_id}")
async def _network_quota(cell: Cell) -> Any:
    """Also what a quota DELETE is undone with: room for the security groups the compute
    proxy's sweep made in the project."""
    return {"quota": {"network": 50, "security_group": 50, "security_group_rule": 500}}


@body("network", "POST", "/v2.0/ports")
async def _port(cell: Cell) -> Any:
    return {"port": {"network_id": cell.world.tenants[cell.side].ids["network_id"],
                     "name": unique("sweep-port")}}


body("network", "PUT", "/v2.0/ports/{port_id}")(_described("port"))


@body("network", "PUT", "/v2.0/networks/{resource_id}/tags")
@body("network", "PUT", "/v2.0/security-groups/{resource_id}/tags")
@body("network", "PUT", "/v2.0/networks/{resource_id}/tags",
      "/v2.0/subnets/{resource_id}/tags", "/v2.0/subnetpools/{resource_id}/tags")
@body("network", "PUT", "/v2.0/ports/{resource_id}/tags")
@body("network", "PUT", "/v2.0/routers/{resource_id}/tags",
      "/v2.0/floatingips/{resource_id}/tags")
async def _network_tags(cell: Cell) -> Any:
    return {"tags": ["sweep-tag"]}


_SUBNETS_MADE = iter(range(1, 2**16))


@body("network", "POST", "/v2.0/subnets")
async def _subnet(cell: Cell) -> Any:
    """A subnet on the network of the side asked about, a new /24 of 10.0.0.0/8 each time
    (the network's subnets must not overlap)."""
    n = next(_SUBNETS_MADE)
    return {"subnet": {"network_id": cell.world.tenants[cell.side].ids["network_id"],
                       "ip_version": 4, "cidr": f"10.{n // 256}.{n % 256}.0/24",
                       "name": unique("sweep-subnet")}}


body("network", "POST", "/v2.0/subnetpools")(_named("subnetpool", prefixes=["10.0.0.0/8"]))
body("network", "PUT", "/v2.0/agents/{agent_id}")(_described("agent"))
body("network", "POST", "/v2.0/routers")(_named("router"))
body("network", "PUT", "/v2.0/routers/{router_id}")(_described("router"))
body("network", "PUT", "/v2.0/floatingips/{floatingip_id}")(_described("floatingip"))


@body("network", "POST", "/v2.0/floatingips")
async def _floating_ip(cell: Cell) -> Any:
    return {"floatingip": {"floating_network_id": cell.world.shared["network:external_id"]}}


async def _new_subnet_of(cell: Cell) -> str:
    """A new subnet on the side's network, overlapping none the side's router has."""
    r = await cell.world.call("network", "POST", "/v2.0/subnets", expect=201,
                              token=cell.member_token, json=await _subnet(cell))
    return str(r.json()["subnet"]["id"])


@body("network", "PUT", "/v2.0/routers/{router_id}/add_router_interface")
async def _router_interface(cell: Cell) -> Any:
    return {"subnet_id": await _new_subnet_of(cell)}


@body("network", "PUT", "/v2.0/routers/{router_id}/remove_router_interface")
async def _attached_interface(cell: Cell) -> Any:
    """An interface to remove: a new subnet, added to the side's router first."""
    subnet_id = await _new_subnet_of(cell)
    router_id = cell.world.tenants[cell.side].ids["router_id"]
    await cell.world.call("network", "PUT", f"/v2.0/routers/{router_id}/add_router_interface",
                          expect=200, token=cell.member_token, json={"subnet_id": subnet_id})
    return {"subnet_id": subnet_id}


@body("network", "PUT", "/v2.0/routers/{router_id}/add_extraroutes",
      "/v2.0/routers/{router_id}/remove_extraroutes")
async def _extra_routes(cell: Cell) -> Any:
    """A route through an address of the side's subnet (192.168.0.0/24, on its router)."""
    return {"router": {"routes": [{"destination": "10.255.0.0/24",
                                   "nexthop": "192.168.0.50"}]}}
body("network", "PUT", "/v2.0/subnets/{subnet_id}")(_described("subnet"))
body("network", "PUT", "/v2.0/subnetpools/{subnetpool_id}")(_described("subnetpool"))


# --- volume --------------------------------------------------------------------------------

def volume_templates(*paths: str) -> tuple[str, ...]:
    """Both URL forms of each volume path (with and without the project)."""
    return tuple(f"/v3{prefix}{path}" for path in paths for prefix in ("", "/{project_id}"))


def volume_body(method: str, *paths: str) -> Callable[[Builder], Builder]:
    return body("volume", method, *volume_templates(*paths))


def _constant(document: Any) -> Builder:
    async def build(cell: Cell) -> Any:
        return document
    return build


volume_body("POST", "/volumes")(_named("volume", size=1))
volume_body("PUT", "/volumes/{volume_id}")(_described("volume"))
volume_body("POST", "/volumes/{volume_id}/action")(
    _constant({"os-set_bootable": {"bootable": False}}))
volume_body("POST", "/volumes/{volume_id}/metadata", "/snapshots/{snapshot_id}/metadata")(
    _constant({"metadata": {"sweep_key": "1"}}))
volume_body("PUT", "/volumes/{volume_id}/metadata", "/snapshots/{snapshot_id}/metadata")(
    _constant({"metadata": {"sweep_key": "1"}}))
volume_body("PUT", "/volumes/{volume_id}/metadata/{key}",
            "/snapshots/{snapshot_id}/metadata/{key}")(_constant({"meta": {"sweep_key": "1"}}))
volume_body("PUT", "/snapshots/{snapshot_id}")(_described("snapshot"))
volume_body("POST", "/snapshots/{snapshot_id}/action")(
    _constant({"os-reset_status": {"status": "available"}}))
volume_body("PUT", "/attachments/{attachment_id}")(
    _constant({"attachment": {"connector": {"host": "test-node"}}}))
volume_body("POST", "/attachments/{attachment_id}/action")(_constant({"os-complete": None}))
volume_body("POST", "/types")(_named("volume_type"))
volume_body("PUT", "/types/{type_id}")(_described("volume_type"))
volume_body("POST", "/types/{type_id}/extra_specs")(
    _constant({"extra_specs": {"multiattach": "<is> False"}}))
volume_body("PUT", "/types/{type_id}/extra_specs/{key}")(
    _constant({"multiattach": "<is> False"}))
volume_body("POST", "/types/{type_id}/encryption")(
    _constant({"encryption": {"provider": "luks", "control_location": "front-end"}}))
volume_body("PUT", "/types/{type_id}/encryption/{key}")(
    _constant({"encryption": {"key_size": 256}}))
volume_body("PUT", "/default-types/{target_project_id}")(
    _constant({"default_type": {"volume_type": "__DEFAULT__"}}))
volume_body("POST", "/qos-specs")(_named("qos_specs"))
volume_body("PUT", "/qos-specs/{qos_id}")(_constant({"qos_specs": {"sweep_key": "1"}}))
volume_body("PUT", "/qos-specs/{qos_id}/delete_keys")(_constant({"keys": ["sweep_key"]}))
volume_body("PUT", "/os-quota-sets/{target_project_id}")(_constant({"quota_set": {
    "volumes": 500, "snapshots": 500, "gigabytes": 5000, "groups": 500}}))
volume_body("PUT", "/os-quota-class-sets/{quota_class}")(_constant({"quota_class_set": {
    "volumes": 500}}))
volume_body("PUT", "/os-services/{action}")(_constant({"host": "test-node"}))
volume_body("POST", "/group_types")(_named("group_type"))
volume_body("PUT", "/group_types/{group_type_id}")(_described("group_type"))
volume_body("POST", "/group_types/{group_type_id}/group_specs")(
    _constant({"group_specs": {"sweep_key": "1"}}))
volume_body("PUT", "/group_types/{group_type_id}/group_specs/{key}")(
    _constant({"sweep_key": "1"}))
volume_body("PUT", "/groups/{group_id}")(_described("group"))
volume_body("POST", "/groups/{group_id}/action", "/group_snapshots/{group_snapshot_id}/action")(
    _constant({"reset_status": {"status": "available"}}))


@volume_body("POST", "/groups")
async def _volume_group(cell: Cell) -> Any:
    return {"group": {"group_type": cell.world.shared["volume:group_type_id"],
                      "volume_types": ["__DEFAULT__"]}}


@volume_body("POST", "/groups/action")
async def _group_from_group(cell: Cell) -> Any:
    """A copy of the side's (empty) group."""
    return {"create-from-src": {
        "source_group_id": cell.world.tenants[cell.side].ids["volume:group_id"]}}


@volume_body("POST", "/group_snapshots")
async def _group_snapshot(cell: Cell) -> Any:
    return {"group_snapshot": {
        "group_id": cell.world.tenants[cell.side].ids["volume:group_id"]}}


@volume_body("POST", "/types/{type_id}/action")
async def _type_access(cell: Cell) -> Any:
    return {"addProjectAccess": {"project": uuid.uuid4().hex}}


@volume_body("POST", "/snapshots")
async def _volume_snapshot(cell: Cell) -> Any:
    """A snapshot of the side's volume, once it takes one (one at a time)."""
    tenant = cell.world.tenants[cell.side]
    volume_id = tenant.ids["volume:volume_id"]
    await wait_snapshots_settled(cell.world, tenant, volume_id)
    return {"snapshot": {"volume_id": volume_id, "name": unique("sweep-snap")}}


@volume_body("POST", "/os-volume-transfer", "/volume-transfers")
async def _volume_transfer(cell: Cell) -> Any:
    """A transfer takes its volume out of use: a new available volume of the side's."""
    volume_id = await make_volume(cell.world, cell.world.tenants[cell.side])
    return {"transfer": {"volume_id": volume_id, "name": unique("sweep-transfer")}}


@volume_body("POST", "/os-volume-transfer/{transfer_id}/accept",
             "/volume-transfers/{transfer_id}/accept")
async def _transfer_key(cell: Cell) -> Any:
    return {"accept": {"auth_key": transfer_key(cell.world, cell.params["transfer_id"])}}


@volume_body("POST", "/attachments")
async def _volume_attachment(cell: Cell) -> Any:
    """An attachment reserves its volume: a volume of the side's own for each."""
    volume_id = await make_volume(cell.world, cell.world.tenants[cell.side])
    return {"attachment": {"volume_uuid": volume_id, "instance_uuid": str(uuid.uuid4())}}


Prepare = Callable[[Cell], Awaitable[dict[str, str]]]
Restore = Callable[[Cell], Awaitable[None]]
PREPARATIONS: dict[Route, Prepare] = {}
RESTORATIONS: dict[Route, Restore] = {}


def prepares(service: str, method: str, *templates: str) -> Callable[[Prepare], Prepare]:
    def register(hook: Prepare) -> Prepare:
        for template in templates:
            PREPARATIONS[Route(service, template, method)] = hook
        return hook
    return register


def restores(service: str, method: str, *templates: str) -> Callable[[Restore], Restore]:
    def register(hook: Restore) -> Restore:
        for template in templates:
            RESTORATIONS[Route(service, template, method)] = hook
        return hook
    return register


async def prepare(cell: Cell) -> dict[str, str]:
    """Before an allowed ``cell``: make what it consumes; the path parameters naming it.

    A DELETE of something its collection makes (a server, a user) deletes a new one, made
    by its owner through the collection's POST; other requests that consume something
    name their preparation in ``PREPARATIONS``.
    """
    special = PREPARATIONS.get(cell.route)
    if special is not None:
        return await special(cell)
    route = cell.route
    collection = route.template.rsplit("/", 1)[0]
    if route.method != "DELETE" or "POST" not in route_table(route.service).get(collection, {}):
        return {}
    post = Route(route.service, collection, "POST")
    document = await valid_body(Cell(cell.world, post, cell.side, cell.role, cell.params))
    assert document is not None, f"no body to make what {route} deletes"
    r = await cell.world.call(route.service, "POST", post.path(cell.params),
                              expect=(200, 201, 202), token=_owner_token(cell, post),
                              content=document.content,
                              headers={"Content-Type": document.media_type})
    made = _new_id(r.json()) if r.content else None
    return {route.params[-1]: made} if made else {}


async def restore(cell: Cell) -> None:
    """After an allowed ``cell`` that consumed a shared thing (``prepare`` made none for
    it): put the thing back. A relation (a grant, a tag, a trait list: its template also
    takes a PUT) is put again; others name their restoration in ``RESTORATIONS``."""
    special = RESTORATIONS.get(cell.route)
    if special is not None:
        await special(cell)
        return
    route = cell.route
    if route.method != "DELETE" or "PUT" not in route_table(route.service)[route.template]:
        return
    put = Route(route.service, route.template, "PUT")
    document = await valid_body(Cell(cell.world, put, cell.side, "admin", cell.params))
    await cell.world.call(route.service, "PUT", route.path(cell.params),
                          expect=(200, 201, 204), token=_owner_token(cell, put),
                          content=document.content if document else None,
                          headers={"Content-Type": document.media_type} if document else {})


def _owner_token(cell: Cell, route: Route) -> str:
    """Who makes a thing for a cell: its owner for what a project or a user owns, the cloud
    admin for the rest."""
    owned = {("compute", "/v2.1/servers"), ("compute", "/v2.1/os-server-groups"),
             ("compute", "/v2.1/os-security-groups"),
             ("compute", "/v2.1/os-security-group-rules"),
             ("compute", "/v2.1/os-floating-ips"), ("image", "/v2/images")}
    # What the cloud admin keeps even in the network service: each project's quotas.
    admins = {("network", "/v2.0/quotas/{project_id}")}
    per_user = {("compute", "/v2.1/os-keypairs"),
                ("identity", "/v3/users/{user_id}/application_credentials"),
                ("identity", "/v3/credentials")}
    if (route.service, route.template) in per_user:
        return cell.caller_token if cell.side == "own" else cell.member_token
    if (route.service, route.template) in owned or (
            route.service == "network" and (route.service, route.template) not in admins):
        return cell.member_token
    if route.service == "volume":
        # A volume URL names the caller's project: the own project's admin, who may act
        # on either side's resources.
        return cell.world.tenants["own"].callers["admin"].token
    return cell.world.cloud.identity.admin_token


def _new_id(document: dict[str, Any]) -> str | None:
    """The id of what a POST made; None when it answers with no single new thing (a
    metadata POST merges keys into the server's). Links beside the thing (Cinder's QoS
    specs) are not it."""
    document = {key: value for key, value in document.items() if key != "links"}
    inner = next(iter(document.values())) if len(document) == 1 else document
    for key in ("id", "uuid", "name"):
        if isinstance(inner, dict) and key in inner:
            return str(inner[key])
    return None


@prepares("identity", "DELETE", "/v3/domains/{domain_id}")
async def _disabled_domain(cell: Cell) -> dict[str, str]:
    r = await cell.world.call("identity", "POST", "/v3/domains", expect=201, json={
        "domain": {"name": unique("sweep-domain"), "enabled": False}})
    return {"domain_id": r.json()["domain"]["id"]}


@prepares("identity", "DELETE", "/v3/users/{user_id}/credentials/OS-EC2/{credential_id}")
async def _new_key_pair(cell: Cell) -> dict[str, str]:
    """A key pair is named by its access key, which the generic preparation cannot find."""
    token = cell.caller_token if cell.side == "own" else cell.member_token
    r = await cell.world.call("identity", "POST",
                              f"/v3/users/{cell.params['user_id']}/credentials/OS-EC2",
                              token=token, expect=201, json={"tenant_id": cell.tenant_project})
    return {"credential_id": r.json()["credential"]["access"]}


@prepares("identity", "PUT", "/v3/regions/{region_id}")
async def _new_region_id(cell: Cell) -> dict[str, str]:
    return {"region_id": unique("sweep-region")}


@prepares("identity", "PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}")
@prepares("identity", "PUT",
          "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}",
          "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}")
async def _no_relation_yet(cell: Cell) -> dict[str, str]:
    """Keystone answers a PUT of a relation that exists with a 409: remove it first."""
    await cell.world.call("identity", "DELETE", cell.route.path(cell.params),
                          expect=(204, 404))
    return {}


@prepares("identity", "POST", "/v3/users/{user_id}/password")
async def _throwaway_user(cell: Cell) -> dict[str, str]:
    """A password change revokes the user's tokens: change a new user's, never a caller's."""
    tenant = cell.world.tenants[cell.side]
    return {"user_id": await cell.world.make_user(tenant.project_id, cell.role)}


@prepares("image", "PUT", "/v2/images/{image_id}/file")
@prepares("image", "POST", "/v2/images/{image_id}/actions/deactivate")
@prepares("image", "POST", "/v2/images/{image_id}/actions/reactivate")
@prepares("compute", "DELETE", "/v2.1/images/{image_id}")
async def _new_image(cell: Cell) -> dict[str, str]:
    """Data goes into a queued image only once, a deactivated image would hide the shared
    one from the routes after it, and compute's image proxy has no POST to make the one
    it deletes: each such call gets an image of its own."""
    r = await cell.world.call("image", "POST", "/v2/images", token=cell.member_token,
                              expect=201, json=await _image(cell))
    image_id = str(r.json()["id"])
    if not cell.route.template.endswith("/file"):
        await cell.world.call("image", "PUT", f"/v2/images/{image_id}/file", expect=204,
                              token=cell.member_token, content=b"sweep",
                              headers={"Content-Type": "application/octet-stream"})
    return {"image_id": image_id}


@prepares("image", "DELETE", _METADEF, f"{_METADEF}/objects", f"{_METADEF}/properties",
          f"{_METADEF}/tags")
@prepares("image", "POST", f"{_METADEF}/tags")
async def _new_metadef_namespace(cell: Cell) -> dict[str, str]:
    """A namespace of the side's to delete, or to empty (a bulk tag create replaces the
    tags): the world's own keeps what the routes after it read."""
    made = await make_metadef_namespace(cell.world, cell.world.tenants[cell.side])
    return {"namespace": made["metadef:namespace"]}


@prepares("image", "POST", f"{_METADEF}/tags/{{tag_name}}")
async def _new_metadef_tag_name(cell: Cell) -> dict[str, str]:
    return {"tag_name": unique("sweep-tag")}


@prepares("image", "DELETE", f"{_METADEF}/tags/{{tag_name}}")
async def _new_metadef_tag(cell: Cell) -> dict[str, str]:
    """A tag to delete (the collection's POST replaces every tag of the namespace)."""
    name = unique("sweep-tag")
    await cell.world.call("image", "POST", cell.route.path({**cell.params, "tag_name": name}),
                          expect=201)
    return {"tag_name": name}


@prepares("image", "DELETE", "/v2/images/{image_id}/members/{member_id}")
@prepares("placement", "DELETE", "/allocations/{consumer_uuid}",
          "/resource_providers/{uuid}/inventories/{resource_class}")
async def _nothing_to_make(cell: Cell) -> dict[str, str]:
    """These consume what the shared world holds, and ``restore`` puts it back (their
    collection's POST makes something else: a share with another project, a bulk
    allocation, an inventory of another class)."""
    return {}


@restores("identity", "DELETE", "/v3/domains/{domain_id}/config/{group}",
          "/v3/domains/{domain_id}/config/{group}/{option}")
async def _domain_config_back(cell: Cell) -> None:
    await cell.world.call("identity", "PUT",
                          f"/v3/domains/{cell.params['domain_id']}/config",
                          expect=(200, 201), json={"config": SWEEP_DOMAIN_CONFIG})


@prepares("identity", "PUT", "/v3/OS-OAUTH1/authorize/{request_token_id}")
async def _new_request_token(cell: Cell) -> dict[str, str]:
    """A request token of the side's project to authorize (the world's waits for others)."""
    token_id, _ = await oauth_request_token(cell.world.client("identity"), cell.world.consumer,
                                            cell.tenant_project)
    return {"request_token_id": token_id}


@prepares("identity", "DELETE", "/v3/users/{user_id}/OS-OAUTH1/access_tokens/{access_token_id}")
async def _new_access_token(cell: Cell) -> dict[str, str]:
    """An access token of the side's admin to delete: the world's stays for the reads."""
    tenant = cell.world.tenants[cell.side]
    return {"access_token_id": await cell.world.make_access_token(tenant)}


@prepares("identity", "DELETE", "/v3/users/{user_id}/access_rules/{access_rule_id}")
async def _unused_access_rule(cell: Cell) -> dict[str, str]:
    token = cell.caller_token if cell.side == "own" else cell.member_token
    return {"access_rule_id": await make_access_rule(cell.world, cell.params["user_id"],
                                                     token)}


@restores("image", "DELETE", "/v2/images/{image_id}/members/{member_id}")
async def _member_again(cell: Cell) -> None:
    await cell.world.call("image", "POST", f"/v2/images/{cell.params['image_id']}/members",
                          expect=200, token=cell.member_token,
                          json={"member": cell.params["member_id"]})


@restores("placement", "DELETE", "/resource_providers/{uuid}/inventories/{resource_class}")
async def _inventory_again(cell: Cell) -> None:
    put = Route("placement", "/resource_providers/{uuid}/inventories", "PUT")
    document = await _inventories(Cell(cell.world, put, cell.side, "admin", cell.params))
    await cell.world.call("placement", "PUT", put.path(cell.params), expect=200,
                          json=document)


@restores("placement", "DELETE", "/allocations/{consumer_uuid}")
async def _allocations_again(cell: Cell) -> None:
    put = Route("placement", "/allocations/{consumer_uuid}", "PUT")
    document = await _consumer_allocations(Cell(cell.world, put, cell.side, "admin",
                                                cell.params))
    await cell.world.call("placement", "PUT", put.path(cell.params), expect=204,
                          json=document)


@prepares("compute", "DELETE", "/v2.1/os-services/{service_id}")
async def _service_row(cell: Cell) -> dict[str, str]:
    """A compute service of a host that never ran: what deleting a retired host looks like."""
    from ownstack.compute.objects.models import ComputeService

    service_id = str(uuid.uuid4())
    async with cell.world.cloud.svc.write() as db:
        db.add(ComputeService(uuid=service_id, host=unique("retired-host"),
                              binary="nova-compute", topic="compute.retired",
                              availability_zone="nova"))
    return {"service_id": service_id}


@prepares("compute", "DELETE", "/v2.1/servers/{server_id}/os-interface/{port_id}")
async def _attached_port(cell: Cell) -> dict[str, str]:
    """A new interface of the side's server to detach; the world's own stays."""
    tenant = cell.world.tenants[cell.side]
    return {"port_id": await attach_interface(cell.world, tenant, cell.member_token)}


@prepares("compute", "DELETE", "/v2.1/servers/{server_id}/os-volume_attachments/{volume_id}")
async def _attached_volume(cell: Cell) -> dict[str, str]:
    """A new volume attached to the side's server to detach; the world's own stays."""
    return {"volume_id": await attach_volume(cell.world, cell.world.tenants[cell.side])}


@prepares("network", "DELETE", "/v2.0/agents/{agent_id}")
async def _network_agent(cell: Cell) -> dict[str, str]:
    """Agents are made by reporting, not by a POST: a new one for each delete."""
    return {"agent_id": await report_network_agent(cell.world, unique("retired-host"))}


@prepares("volume", "DELETE", *volume_templates("/volumes/{volume_id}"))
@prepares("compute", "DELETE", "/v2.1/os-volumes/{volume_id}")
async def _available_volume(cell: Cell) -> dict[str, str]:
    """A new volume of the side's, available (a volume still being made is not deleted)."""
    return {"volume_id": await make_volume(cell.world, cell.world.tenants[cell.side])}


@prepares("volume", "DELETE", *volume_templates("/snapshots/{snapshot_id}"))
@prepares("compute", "DELETE", "/v2.1/os-snapshots/{snapshot_id}")
async def _available_snapshot(cell: Cell) -> dict[str, str]:
    tenant = cell.world.tenants[cell.side]
    return {"snapshot_id": await make_snapshot(cell.world, tenant,
                                               tenant.ids["volume:volume_id"])}


@prepares("volume", "POST", *volume_templates("/os-volume-transfer/{transfer_id}/accept",
                                               "/volume-transfers/{transfer_id}/accept"))
async def _offered_transfer(cell: Cell) -> dict[str, str]:
    """An accept takes the transfer (and its volume): a new one of the side's each time."""
    return {"transfer_id": await make_transfer(cell.world, cell.world.tenants[cell.side])}


@prepares("volume", "DELETE", *volume_templates("/attachments/{attachment_id}"))
async def _reserved_attachment(cell: Cell) -> dict[str, str]:
    return {"attachment_id": await make_attachment(cell.world, cell.world.tenants[cell.side])}


@prepares("volume", "GET", *volume_templates("/types/{type_id}/encryption"))
@prepares("volume", "POST", *volume_templates("/types/{type_id}/encryption"))
async def _unencrypted_type(cell: Cell) -> dict[str, str]:
    """A type of its own each time, no volume's, without encryption."""
    r = await cell.world.call("volume", "POST", "/v3/types", expect=200, json={
        "volume_type": {"name": unique("sweep-encryption")}})
    return {"type_id": r.json()["volume_type"]["id"]}


@prepares("volume", "GET", *volume_templates("/types/{type_id}/encryption/{key}"))
@prepares("volume", "PUT", *volume_templates("/types/{type_id}/encryption/{key}"))
@prepares("volume", "DELETE", *volume_templates("/types/{type_id}/encryption/{key}"))
async def _encrypted_type(cell: Cell) -> dict[str, str]:
    """A type of its own each time, no volume's, with encryption; ``provider`` is both
    a field to show and what the ``openstack`` CLI sends as the id to change."""
    params = await _unencrypted_type(cell)
    await cell.world.call("volume", "POST", f"/v3/types/{params['type_id']}/encryption",
                          expect=200, json={"encryption": {
                              "provider": "luks", "control_location": "front-end"}})
    return {**params, "key": "provider"}


@prepares("volume", "DELETE", *volume_templates("/messages/{message_id}"))
async def _message(cell: Cell) -> dict[str, str]:
    return {"message_id": await make_message(cell.world, cell.world.tenants[cell.side])}


@restores("volume", "DELETE",
          *volume_templates("/group_types/{group_type_id}/group_specs/{key}"))
async def _group_spec_again(cell: Cell) -> None:
    await cell.world.call("volume", "POST",
                          f"/v3/group_types/{cell.params['group_type_id']}/group_specs",
                          expect=202, json={"group_specs": {"sweep_key": "1"}})


@restores("volume", "PUT", *volume_templates("/qos-specs/{qos_id}/delete_keys"))
async def _qos_key_again(cell: Cell) -> None:
    await cell.world.call("volume", "PUT", f"/v3/qos-specs/{cell.params['qos_id']}",
                          expect=200, json={"qos_specs": {"sweep_key": "1"}})
