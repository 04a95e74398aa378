"""Operator commands that talk to a running cloud as its admin: ``seed`` and ``show``.

They use the public APIs, as any client would, with the admin credentials in the state
directory: nothing here reads the database or an agent's files, so they work the same
against a multi-node cloud.

* ``ownstack seed --image PATH``: registers the test image ``ownstack-tiny`` (public,
  qcow2) unless an active image of that name has the same checksum, and the flavors
  ``m1.nano`` and ``m1.tiny`` unless they exist. ``make up`` runs it after building the
  image, so a fresh cloud can boot a guest at once.
  It also creates the host-only external network ``public`` (``network.public_cidr``, the
  host its first address) and lets SSH and ping into the admin project's default group.
* ``ownstack show port|router|network NAME|ID``: the resource, and what the network
  agents of its hosts have behind it: the tap, bridge and filter chains of a port; the
  namespace, legs, routes and NAT rules (with packet counters) of a router; the bridge of
  a network on each host and its DHCP server (namespace, dnsmasq's pid and command line,
  host entries, leases).
* ``ownstack show volume NAME|ID``: the volume as the API sees it, its file on its host
  (format, sizes, backing file, from ``qemu-img info -U`` by its volume agent:
  ``GET /v3/volumes/{id}/diagnostics``) and, for each server it is attached to, the QMP
  block node and device QEMU has for it (the server's diagnostics).
* ``ownstack show server NAME|ID``: the server as the API sees it, the host-side objects
  behind it (``GET /servers/{id}/diagnostics``, which asks the server's compute agent: for
  QEMU the pid, the command line, the QMP socket and the devices added over it, the disk
  files and the taps), and the timed phases of its boot (its first instance action).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from ownstack.common import statedir
from ownstack.common.config import Config
from ownstack.roles import API_SERVICES

TEST_IMAGE_NAME = "ownstack-tiny"
# name -> (id, vcpus, ram MiB, disk GiB). m1.nano as DevStack makes it; m1.tiny as Nova's
# classic default flavors had it.
FLAVORS: dict[str, tuple[str, int, int, int]] = {
    "m1.nano": ("42", 1, 128, 1),
    "m1.tiny": ("1", 1, 512, 1),
}
COMPUTE_VERSION = "2.96"


class AdminError(Exception):
    """A request failed; the message says which and why."""


class AdminSession:
    """An admin token and the local URL of every service."""

    def __init__(self, config: Config, client: httpx.Client) -> None:
        self.config = config
        self.client = client
        # The volume service's project-less URLs (decision 43) serve every version.
        self.urls = {spec.type: spec.local_url(config)
                     + spec.catalog_path.replace("/%(project_id)s", "")
                     for spec in API_SERVICES}
        self.token = self._token()

    def _token(self) -> str:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"},
            "password": statedir.read_admin_password(self.config)}}},
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
        response = self.client.post(self.urls["identity"] + "/auth/tokens", json=body)
        if response.status_code != 201:
            raise AdminError(f"cannot log in as admin: {response.status_code} {response.text}")
        return response.headers["X-Subject-Token"]

    def request(self, method: str, service: str, path: str, *, expect: tuple[int, ...],
                version: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        if version:
            headers["OpenStack-API-Version"] = f"{service} {version}"
        response = self.client.request(method, self.urls[service] + path, headers=headers,
                                       **kwargs)
        if response.status_code not in expect:
            raise AdminError(f"{method} {service} {path}: {response.status_code} "
                             f"{response.text[:500]}")
        return response


@contextmanager
def admin_session(config: Config) -> Iterator[AdminSession]:
    with httpx.Client(timeout=120.0) as client:
        yield AdminSession(config, client)


# --- seed ---------------------------------------------------------------------------------

def seed(config: Config, image_path: Path | None) -> list[str]:
    """Register the test image and flavors that are missing; what was done, line by line."""
    done: list[str] = []
    with admin_session(config) as admin:
        flavors = admin.request("GET", "compute", "/flavors?is_public=None",
                                expect=(200,)).json()["flavors"]
        names = {flavor["name"] for flavor in flavors}
        for name, (flavor_id, vcpus, ram, disk) in FLAVORS.items():
            if name in names:
                continue
            admin.request("POST", "compute", "/flavors", expect=(200,), version="2.55",
                          json={"flavor": {"name": name, "id": flavor_id, "vcpus": vcpus,
                                           "ram": ram, "disk": disk}})
            done.append(f"flavor {name}: {vcpus} VCPU, {ram} MiB RAM, {disk} GiB disk")
        done += _seed_network(admin)
        if image_path is not None:
            done += _seed_image(admin, image_path)
    return done


PUBLIC_NETWORK = "public"
# The rules `make up` adds to the admin project's default security group, as DevStack's
# guides do first: SSH and ping from anywhere.
SEED_RULES: tuple[dict[str, Any], ...] = (
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 22,
     "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"},
    {"direction": "ingress", "ethertype": "IPv4", "protocol": "icmp",
     "remote_ip_prefix": "0.0.0.0/0"},
)


def _seed_network(admin: AdminSession) -> list[str]:
    """The host-only external network ``public`` and SSH and ping in the admin project's
    default security group, where missing."""
    done = []
    settings = admin.config.network
    found = admin.request("GET", "network", f"/v2.0/networks?name={PUBLIC_NETWORK}",
                          expect=(200,)).json()["networks"]
    if not found:
        cidr = ipaddress.ip_network(settings.public_cidr)
        gateway = str(next(cidr.hosts()))
        network = admin.request("POST", "network", "/v2.0/networks", expect=(201,), json={
            "network": {"name": PUBLIC_NETWORK, "router:external": True,
                        "provider:network_type": "flat",
                        "provider:physical_network": settings.public_physnet,
                        "description": "Host-only external network (ownstack seed)"}}
        ).json()["network"]
        admin.request("POST", "network", "/v2.0/subnets", expect=(201,), json={"subnet": {
            "name": f"{PUBLIC_NETWORK}-subnet", "network_id": network["id"], "ip_version": 4,
            "cidr": str(cidr), "gateway_ip": gateway, "enable_dhcp": False}})
        done.append(f"network {PUBLIC_NETWORK}: {cidr} (flat on physical network "
                    f"{settings.public_physnet}), the host is {gateway}")
    project = admin.request("GET", "identity", "/projects?name=admin",
                            expect=(200,)).json()["projects"][0]["id"]
    groups = admin.request("GET", "network",
                           f"/v2.0/security-groups?name=default&project_id={project}",
                           expect=(200,)).json()["security_groups"]
    for group in groups:
        for rule in SEED_RULES:
            created = admin.request("POST", "network", "/v2.0/security-group-rules",
                                    expect=(201, 409), json={"security_group_rule": {
                                        **rule, "security_group_id": group["id"]}})
            if created.status_code == 201:
                done.append(f"security group default: {rule['protocol']} "
                            f"{rule.get('port_range_min') or ''} in".replace("  ", " "))
    return done


def _seed_image(admin: AdminSession, path: Path) -> list[str]:
    digest = _sha512(path)
    images = admin.request("GET", "image", f"/v2/images?name={TEST_IMAGE_NAME}",
                           expect=(200,)).json()["images"]
    for image in images:
        if image.get("status") == "active" and image.get("os_hash_value") == digest:
            return []
    created = admin.request("POST", "image", "/v2/images", expect=(201,), json={
        "name": TEST_IMAGE_NAME, "disk_format": "qcow2", "container_format": "bare",
        "visibility": "public", "os_distro": "ownstack-tiny",
        "description": "Test guest built from Debian packages by tools/build-test-image"}
    ).json()
    with path.open("rb") as data:
        admin.request("PUT", "image", f"/v2/images/{created['id']}/file", expect=(204,),
                      content=data,
                      headers={"Content-Type": "application/octet-stream"})
    for old in images:        # an older build of the image: replaced, not kept beside
        admin.request("DELETE", "image", f"/v2/images/{old['id']}", expect=(204, 404))
    return [f"image {TEST_IMAGE_NAME}: {created['id']} from {path}"]


def _sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- show server --------------------------------------------------------------------------

def show_server(config: Config, name_or_id: str) -> dict[str, Any]:
    """The server, its host-side objects and its boot phases, as one document."""
    with admin_session(config) as admin:
        server = _find_server(admin, name_or_id)
        uuid = server["id"]
        diagnostics: Any
        response = admin.request("GET", "compute", f"/servers/{uuid}/diagnostics",
                                 expect=(200, 409), version="2.1")
        diagnostics = response.json() if response.status_code == 200 else {
            "unavailable": response.json()}
        actions = admin.request("GET", "compute", f"/servers/{uuid}/os-instance-actions",
                                expect=(200,), version=COMPUTE_VERSION).json()
        phases: list[dict[str, Any]] = []
        create = [a for a in actions["instanceActions"] if a["action"] == "create"]
        if create:
            action = admin.request(
                "GET", "compute", f"/servers/{uuid}/os-instance-actions/"
                f"{create[-1]['request_id']}", expect=(200,), version=COMPUTE_VERSION
            ).json()["instanceAction"]
            phases = sorted(({"event": e["event"], "start_time": e["start_time"],
                              "finish_time": e["finish_time"], "result": e["result"]}
                             for e in action.get("events", [])),
                            key=lambda e: str(e["start_time"]))
    return {"server": {key: server.get(key) for key in (
                "id", "name", "status", "OS-EXT-STS:power_state", "OS-EXT-STS:task_state",
                "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name", "fault")},
            "host_objects": diagnostics, "boot_phases": phases}


def _find_server(admin: AdminSession, name_or_id: str) -> dict[str, Any]:
    response = admin.request("GET", "compute", f"/servers/{name_or_id}",
                             expect=(200, 404), version=COMPUTE_VERSION)
    if response.status_code == 200:
        server: dict[str, Any] = response.json()["server"]
        return server
    servers = admin.request("GET", "compute", "/servers/detail", expect=(200,),
                            version=COMPUTE_VERSION,
                            params={"all_tenants": "1", "name": f"^{re.escape(name_or_id)}$"}
                            ).json()["servers"]
    if not servers:
        raise AdminError(f"no server named or with id {name_or_id!r}")
    if len(servers) > 1:
        ids = ", ".join(s["id"] for s in servers)
        raise AdminError(f"{len(servers)} servers are named {name_or_id!r} ({ids}); "
                         f"give an id")
    found: dict[str, Any] = servers[0]
    return found


# --- show port / router ---------------------------------------------------------------

NETWORK_RESOURCES = {"port": "ports", "router": "routers", "network": "networks"}


def show_network_resource(config: Config, kind: str, name_or_id: str) -> dict[str, Any]:
    """A port or router as the API sees it, and the host objects behind it (the agent of its
    host describes them: ``GET /v2.0/<kind>s/{id}/diagnostics``)."""
    collection = NETWORK_RESOURCES[kind]
    with admin_session(config) as admin:
        resource = _find_network_resource(admin, kind, collection, name_or_id)
        diagnostics = admin.request("GET", "network",
                                    f"/v2.0/{collection}/{resource['id']}/diagnostics",
                                    expect=(200,)).json()["diagnostics"]
    if kind == "network":
        return {kind: resource, "dhcp_host": diagnostics.get("dhcp_host"),
                "hosts": diagnostics.get("hosts") or {}}
    return {kind: resource, "host": diagnostics.get("objects"),
            "bound_to": diagnostics.get("host"), "error": diagnostics.get("error")}


def _find_network_resource(admin: AdminSession, kind: str, collection: str,
                           name_or_id: str) -> dict[str, Any]:
    response = admin.request("GET", "network", f"/v2.0/{collection}/{name_or_id}",
                             expect=(200, 404))
    if response.status_code == 200:
        found: dict[str, Any] = response.json()[kind]
        return found
    matches = admin.request("GET", "network", f"/v2.0/{collection}", expect=(200,),
                            params={"name": name_or_id}).json()[collection]
    if not matches:
        raise AdminError(f"no {kind} named or with id {name_or_id!r}")
    if len(matches) > 1:
        ids = ", ".join(m["id"] for m in matches)
        raise AdminError(f"{len(matches)} {collection} are named {name_or_id!r} ({ids}); "
                         "give an id")
    one: dict[str, Any] = matches[0]
    return one


def format_network_show(kind: str, document: dict[str, Any]) -> str:
    """The document for a terminal: the resource's key fields, then its host objects."""
    resource = document[kind]
    lines = [f"{kind} {resource.get('name') or ''} ({resource['id']})".replace("  ", " ")]
    for key in ("status", "network_id", "mac_address", "fixed_ips", "binding:host_id",
                "device_owner", "external_gateway_info", "routes"):
        if resource.get(key) not in (None, "", [], {}):
            lines.append(f"  {key:<24} {json.dumps(resource[key])}")
    if kind == "network":
        if not document["hosts"]:
            lines.append("host objects: none (no port of it is bound, no DHCP server)")
        for host, answer in document["hosts"].items():
            role = " (its DHCP server)" if host == document["dhcp_host"] else ""
            lines.append(f"host objects on {host}{role}:")
            if answer["error"]:
                lines.append(f"  unavailable ({answer['error']})")
                continue
            for part, value in (answer["objects"] or {}).items():
                lines.append(f"  {part}:")
                for key, item in (value or {}).items():
                    shown = json.dumps(item) if isinstance(item, (dict, list)) else item
                    lines.append(f"    {key:<22} {shown}")
        return "\n".join(lines)
    if document["error"]:
        lines.append(f"host objects: unavailable ({document['error']})")
    elif document["host"] is None:
        lines.append("host objects: none (not bound to a host, or not on it yet)")
    else:
        lines.append(f"host objects on {document['bound_to']}:")
        for key, value in document["host"].items():
            if isinstance(value, list):
                lines.append(f"  {key}:")
                lines += [f"    {json.dumps(item)}" for item in value]
            else:
                shown = json.dumps(value) if isinstance(value, dict) else value
                lines.append(f"  {key:<24} {shown}")
    return "\n".join(lines)


def format_show(document: dict[str, Any]) -> str:
    """The document for a terminal: the server, then the objects, then the phases."""
    lines = []
    server = document["server"]
    lines.append(f"server {server['name']} ({server['id']})")
    for key, value in server.items():
        if key not in ("id", "name") and value not in (None, ""):
            shown = json.dumps(value) if isinstance(value, dict) else value
            lines.append(f"  {key:<32} {shown}")
    lines.append("host objects (GET /servers/{id}/diagnostics):")
    for key, value in document["host_objects"].items():
        if isinstance(value, (list, dict)):
            lines.append(f"  {key}:")
            for item in value if isinstance(value, list) else [value]:
                lines.append(f"    {json.dumps(item)}")
        else:
            lines.append(f"  {key:<32} {value}")
    if document["boot_phases"]:
        lines.append("boot phases (openstack server event show):")
        for phase in document["boot_phases"]:
            lines.append(f"  {phase['event']:<40} {phase['start_time']} -> "
                         f"{phase['finish_time']} {phase['result'] or ''}")
    return "\n".join(lines)


# --- show volume --------------------------------------------------------------------------

VOLUME_VERSION = "3.71"


def show_volume(config: Config, name_or_id: str) -> dict[str, Any]:
    """The volume, its file on its host, and where QEMU has it plugged, as one document."""
    with admin_session(config) as admin:
        volume = _find_volume(admin, name_or_id)
        diagnostics = admin.request("GET", "volume", f"/volumes/{volume['id']}/diagnostics",
                                    expect=(200,), version=VOLUME_VERSION
                                    ).json()["diagnostics"]
        plugged = []
        for attachment in volume.get("attachments") or ():
            server_id = str(attachment.get("server_id"))
            response = admin.request("GET", "compute", f"/servers/{server_id}/diagnostics",
                                     expect=(200, 404, 409), version="2.1")
            found = response.json() if response.status_code == 200 else {}
            qemu = [v for v in found.get("volumes") or () if v.get("volume_id") == volume["id"]]
            plugged.append({"server_id": server_id, "device": attachment.get("device"),
                            "attachment_id": attachment.get("attachment_id"),
                            "host": attachment.get("host_name"),
                            "guest": qemu[0] if qemu else None})
    return {"volume": {key: volume.get(key) for key in (
                "id", "name", "status", "size", "volume_type", "bootable", "multiattach",
                "os-vol-host-attr:host")},
            "file": diagnostics.get("file"), "attached_to": plugged}


def _find_volume(admin: AdminSession, name_or_id: str) -> dict[str, Any]:
    response = admin.request("GET", "volume", f"/volumes/{name_or_id}", expect=(200, 404),
                             version=VOLUME_VERSION)
    if response.status_code == 200:
        found: dict[str, Any] = response.json()["volume"]
        return found
    volumes = [v for v in admin.request(
        "GET", "volume", "/volumes/detail", expect=(200,), version=VOLUME_VERSION,
        params={"all_tenants": "1", "name": name_or_id}).json()["volumes"]
        if v.get("name") == name_or_id]
    if not volumes:
        raise AdminError(f"no volume named or with id {name_or_id!r}")
    if len(volumes) > 1:
        raise AdminError(f"{len(volumes)} volumes are named {name_or_id!r} "
                         f"({', '.join(v['id'] for v in volumes)}); give an id")
    first: dict[str, Any] = volumes[0]
    return first


def format_volume_show(document: dict[str, Any]) -> str:
    """The document for a terminal: the volume, its file, then each guest that has it."""
    volume = document["volume"]
    lines = [f"volume {volume.get('name') or ''} ({volume['id']})".replace("  ", " ")]
    lines += [f"  {key:<32} {value}" for key, value in volume.items()
              if key not in ("id", "name") and value not in (None, "")]
    lines.append("file (GET /volumes/{id}/diagnostics):")
    lines += [f"  {key:<32} {value}" for key, value in (document["file"] or {}).items()]
    if not document["attached_to"]:
        lines.append("attached to: nothing")
    for item in document["attached_to"]:
        lines.append(f"attached to server {item['server_id']} as {item['device']}:")
        guest = item["guest"] or {}
        if not guest:
            lines.append("  not plugged into its guest (yet)")
        lines += [f"  {key:<32} {value}" for key, value in guest.items()]
    return "\n".join(lines)
