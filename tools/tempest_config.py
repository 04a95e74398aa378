#!/usr/bin/env python3
"""Write a Tempest workspace's ``etc/tempest.conf`` from a running ownstack.

Usage: tools/tempest_config.py --state-dir DIR --output WORKSPACE/etc/tempest.conf

It asks the cloud, through its public APIs only, as a client would:

- credentials: the ``OS_*`` variables of an openrc when ``OS_AUTH_URL`` is set, else the
  state directory's ``clouds.yaml`` (cloud ``ownstack-admin``), the file ``make up`` wrote;
- the services in the catalog (``service_available``) and the highest microversion each
  one's version document reports (compute, volume, placement);
- the images: ``ownstack-tiny`` (``make up`` registers it) and a second one it uploads
  from the first one's bytes, ``ownstack-tiny-alt``, when missing;
- the flavors ``m1.nano`` and ``m1.tiny``, created as ``ownstack seed`` makes them when
  missing;
- the external network ``public`` (``floating_network_name``, ``public_network_id``);
- the volume backend's vendor and protocol, from the scheduler's pools;
- the network's and the volume service's extensions (``GET /v2.0/extensions``,
  ``GET /v3/{project}/extensions``) as their ``api_extensions``.

What the API cannot say (which Nova actions ownstack has, Keystone's security-compliance
settings) comes from :data:`COMPUTE_FEATURES` here and from the state directory's
``ownstack.toml`` when it is readable.

Tempest runs with dynamic credentials: for every test class it makes a project and users
with the roles it needs (and a network, subnet and router for them), which takes an admin.
So only the admin's credentials go into the file.
"""

from __future__ import annotations

import argparse
import configparser
import io
import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

CLOUD_NAME = "ownstack-admin"
IMAGE_NAME = "ownstack-tiny"
ALT_IMAGE_NAME = "ownstack-tiny-alt"
# name -> (id, vcpus, RAM MiB, disk GiB), as `ownstack seed` registers them.
FLAVORS: dict[str, tuple[str, int, int, int]] = {
    "m1.nano": ("42", 1, 128, 1),
    "m1.tiny": ("1", 1, 512, 1),
}
PUBLIC_NETWORK = "public"

# Keystone's extensions that ownstack serves and Tempest gates tests on (Keystone lists
# no extensions over its API any more): OS-EC2 is a user's EC2 key pairs.
IDENTITY_EXTENSIONS = ["OS-EC2"]

# Nova's optional features, as ownstack has them today (the API does not say). An action
# listed False is one ownstack answers with a 400 "not supported by ownstack yet"; flip it
# when the action lands, and Tempest runs its tests.
COMPUTE_FEATURES: dict[str, bool] = {
    "disk_config": False,
    "change_password": False,
    "console_output": True,
    "resize": True,
    "pause": True,
    "shelve": True,
    "shelve_migrate": False,
    "suspend": True,
    "cold_migration": True,
    "live_migration": False,
    "live_migrate_back_and_forth": False,
    "block_migration_for_live_migration": False,
    "can_migrate_between_any_hosts": False,
    "vnc_console": True,
    "spice_console": False,
    "serial_console": True,
    "rescue": True,
    "stable_rescue": False,
    "enable_instance_password": True,
    "interface_attach": True,
    "snapshot": True,
    "personality": False,
    "attach_encrypted_volume": False,
    "config_drive": True,
    "metadata_service": True,
    "swap_volume": False,
    "volume_backed_live_migration": False,
    "volume_multiattach": False,
    "unified_limits": False,
}
# Hypervisor types whose guests have the VNC and serial consoles.
CONSOLE_HYPERVISORS: frozenset[str] = frozenset({"QEMU"})
VOLUME_FEATURES: dict[str, bool] = {
    "multi_backend": False,
    "backup": False,
    "snapshot": True,
    "clone": True,
    "manage_snapshot": False,
    "manage_volume": False,
    "replication": False,
    "extend_attached_volume": True,
    "extend_attached_encrypted_volume": False,
    "extend_volume_with_snapshot": True,
}
# Seconds Tempest waits for a server, volume or image to reach a state (its default: 300).
# ownstack builds them in seconds, with the fake compute driver in under one; a test that
# waits for a state ownstack never reaches (an action it lacks) fails sooner this way.
BUILD_TIMEOUT = 120
# Catalog type -> Tempest's name for the service in [service_available].
SERVICE_NAMES = {"image": "glance", "compute": "nova", "network": "neutron",
                 "block-storage": "cinder", "volumev3": "cinder",
                 "object-store": "swift", "dashboard": "horizon"}


class ConfigError(Exception):
    """The cloud cannot be described: the message says what is missing."""


@dataclass
class Credentials:
    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"
    region: str = "RegionOne"


@dataclass
class CloudFacts:
    """Everything tempest.conf says about the cloud, as found."""

    credentials: Credentials
    services: set[str]                         # catalog types
    image_ref: str
    image_ref_alt: str
    flavor_ref: str
    flavor_ref_alt: str
    public_network_id: str
    public_network_name: str
    compute_max_microversion: str
    compute_nodes: int                         # hypervisors the admin sees
    hypervisor_types: set[str]                 # QEMU, fake
    volume_max_microversion: str | None
    placement_max_microversion: str | None
    network_extensions: list[str]
    volume_extensions: list[str] = field(default_factory=list)
    volume_backend: Mapping[str, Any] = field(default_factory=dict)   # a pool's capabilities
    security_compliance: Mapping[str, Any] = field(default_factory=dict)


def credentials_from(environ: Mapping[str, str], state_dir: Path) -> Credentials:
    """The admin's credentials: an openrc's ``OS_*`` variables when ``OS_AUTH_URL`` is
    set, else the state directory's ``clouds.yaml``."""
    if environ.get("OS_AUTH_URL"):
        missing = [name for name in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME")
                   if not environ.get(name)]
        if missing:
            raise ConfigError(f"OS_AUTH_URL is set but not {', '.join(missing)}")
        return Credentials(
            auth_url=environ["OS_AUTH_URL"], username=environ["OS_USERNAME"],
            password=environ["OS_PASSWORD"], project_name=environ["OS_PROJECT_NAME"],
            user_domain_name=environ.get("OS_USER_DOMAIN_NAME", "Default"),
            project_domain_name=environ.get("OS_PROJECT_DOMAIN_NAME", "Default"),
            region=environ.get("OS_REGION_NAME", "RegionOne"))
    path = state_dir / "clouds.yaml"
    try:
        clouds = yaml.safe_load(path.read_text())["clouds"]
        entry = clouds[CLOUD_NAME]
        auth = entry["auth"]
        return Credentials(
            auth_url=auth["auth_url"], username=auth["username"],
            password=auth["password"], project_name=auth["project_name"],
            user_domain_name=auth.get("user_domain_name", "Default"),
            project_domain_name=auth.get("project_domain_name", "Default"),
            region=entry.get("region_name", "RegionOne"))
    except OSError as exc:
        raise ConfigError(f"no credentials: OS_AUTH_URL is not set and {path} cannot be "
                          f"read ({exc.strerror}); is the cloud up (make up)?") from exc
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path} has no cloud {CLOUD_NAME} with password auth") from exc


def security_compliance_from(state_dir: Path) -> dict[str, Any]:
    """``[identity.security_compliance]`` of the state directory's ``ownstack.toml``, or
    nothing when the file is not there (a cloud elsewhere)."""
    try:
        data = tomllib.loads((state_dir / "ownstack.toml").read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    section = data.get("identity", {}).get("security_compliance", {})
    return dict(section) if isinstance(section, dict) else {}


class Cloud:
    """An admin token and the catalog's public endpoints."""

    def __init__(self, client: httpx.Client, credentials: Credentials) -> None:
        self.client = client
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": credentials.username, "password": credentials.password,
            "domain": {"name": credentials.user_domain_name}}}},
            "scope": {"project": {"name": credentials.project_name,
                                  "domain": {"name": credentials.project_domain_name}}}}}
        url = credentials.auth_url.rstrip("/")
        response = client.post(f"{url}/auth/tokens", json=body)
        if response.status_code != 201:
            raise ConfigError(f"cannot log in at {url} as {credentials.username}: "
                              f"{response.status_code} {response.text[:300]}")
        self.token = response.headers["X-Subject-Token"]
        self.endpoints: dict[str, str] = {}
        for service in response.json()["token"].get("catalog", []):
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == "public" and (
                        endpoint.get("region_id") or endpoint.get("region")
                        ) in (None, credentials.region):
                    self.endpoints[service["type"]] = endpoint["url"].rstrip("/")

    def call(self, method: str, service: str, path: str, *, expect: tuple[int, ...] = (200,),
             **kwargs: Any) -> httpx.Response:
        if service not in self.endpoints:
            raise ConfigError(f"the catalog has no {service} service")
        headers = {"X-Auth-Token": self.token, **kwargs.pop("headers", {})}
        response = self.client.request(method, self.endpoints[service] + path,
                                       headers=headers, **kwargs)
        if response.status_code not in expect:
            raise ConfigError(f"{method} {service} {path}: {response.status_code} "
                              f"{response.text[:300]}")
        return response

    def root_document(self, service: str) -> Any:
        """The service's version document at the root of its endpoint's host."""
        url = httpx.URL(self.endpoints[service])
        return self.client.get(str(url.copy_with(path="/", query=None))).json()


def max_microversion(document: Any, major: str) -> str | None:
    """The highest microversion of API ``major`` (``"v2.1"``, ``"v3"``, ``"v1"``) in a
    version document (Nova's and Cinder's ``version``, Placement's ``max_version``)."""
    versions = document.get("versions", [])
    if isinstance(versions, dict):
        versions = versions.get("values", [])
    for version in versions:
        if str(version.get("id", "")).startswith(major):
            found = version.get("version") or version.get("max_version")
            return str(found) if found else None
    return None


def ensure_flavors(cloud: Cloud) -> list[str]:
    """The ids of the two flavors, made when missing."""
    flavors = cloud.call("GET", "compute", "/flavors?is_public=None").json()["flavors"]
    by_name = {flavor["name"]: flavor["id"] for flavor in flavors}
    ids = []
    for name, (flavor_id, vcpus, ram, disk) in FLAVORS.items():
        if name not in by_name:
            cloud.call("POST", "compute", "/flavors", expect=(200,), json={"flavor": {
                "name": name, "id": flavor_id, "vcpus": vcpus, "ram": ram, "disk": disk}})
            by_name[name] = flavor_id
        ids.append(str(by_name[name]))
    return ids


def _active_image(cloud: Cloud, name: str) -> dict[str, Any] | None:
    images = cloud.call("GET", "image", f"/v2/images?name={name}").json()["images"]
    active = [image for image in images if image["status"] == "active"]
    return active[0] if active else None


def ensure_images(cloud: Cloud) -> tuple[str, str]:
    """The ids of ``ownstack-tiny`` and of its copy ``ownstack-tiny-alt`` (uploaded from
    the first one's bytes when missing)."""
    image = _active_image(cloud, IMAGE_NAME)
    if image is None:
        raise ConfigError(f"no active image {IMAGE_NAME}: `make up` registers it "
                          f"(ownstack seed --image PATH)")
    alt = _active_image(cloud, ALT_IMAGE_NAME)
    if alt is None:
        data = cloud.call("GET", "image", f"/v2/images/{image['id']}/file").content
        alt = cloud.call("POST", "image", "/v2/images", expect=(201,), json={
            "name": ALT_IMAGE_NAME, "disk_format": image["disk_format"],
            "container_format": image["container_format"], "visibility": "public",
            "description": f"A copy of {IMAGE_NAME}, Tempest's second image"}).json()
        cloud.call("PUT", "image", f"/v2/images/{alt['id']}/file", expect=(204,),
                   content=data, headers={"Content-Type": "application/octet-stream"})
    return str(image["id"]), str(alt["id"])


def public_network(cloud: Cloud) -> tuple[str, str]:
    """The external network ``public`` (``make up`` makes it), else the first external
    network there is."""
    networks = cloud.call("GET", "network",
                          "/v2.0/networks?router:external=true").json()["networks"]
    networks.sort(key=lambda network: network["name"] != PUBLIC_NETWORK)
    if not networks:
        raise ConfigError("no external network: `make up` makes `public` (ownstack seed)")
    return str(networks[0]["id"]), str(networks[0]["name"])


def discover(cloud: Cloud, credentials: Credentials, state_dir: Path) -> CloudFacts:
    image_ref, image_ref_alt = ensure_images(cloud)
    flavor_ref, flavor_ref_alt = ensure_flavors(cloud)
    network_id, network_name = public_network(cloud)
    extensions = cloud.call("GET", "network", "/v2.0/extensions").json()["extensions"]
    compute = max_microversion(cloud.root_document("compute"), "v2.1")
    if compute is None:
        raise ConfigError("the compute service reports no v2.1 microversion")
    hypervisors = cloud.call("GET", "compute",
                             "/os-hypervisors/detail").json()["hypervisors"]
    volume_type = next((t for t in ("block-storage", "volumev3") if t in cloud.endpoints),
                       None)
    volume_extensions = [] if volume_type is None else sorted(
        extension["alias"] for extension in cloud.call(
            "GET", volume_type, "/extensions").json()["extensions"])
    backend: dict[str, Any] = {}
    if volume_type is not None:
        pools = cloud.call("GET", volume_type, "/scheduler-stats/get_pools?detail=true",
                           expect=(200, 403, 404))
        if pools.status_code == 200 and pools.json().get("pools"):
            backend = dict(pools.json()["pools"][0].get("capabilities") or {})
    return CloudFacts(
        credentials=credentials, services=set(cloud.endpoints),
        image_ref=image_ref, image_ref_alt=image_ref_alt,
        flavor_ref=flavor_ref, flavor_ref_alt=flavor_ref_alt,
        public_network_id=network_id, public_network_name=network_name,
        compute_max_microversion=compute, compute_nodes=len(hypervisors),
        hypervisor_types={str(h.get("hypervisor_type")) for h in hypervisors},
        volume_max_microversion=(max_microversion(cloud.root_document(volume_type), "v3")
                                 if volume_type else None),
        placement_max_microversion=(max_microversion(cloud.root_document("placement"), "v1")
                                    if "placement" in cloud.endpoints else None),
        network_extensions=sorted(extension["alias"] for extension in extensions),
        volume_extensions=volume_extensions, volume_backend=backend,
        security_compliance=security_compliance_from(state_dir))


def _flag(value: bool) -> str:
    return "true" if value else "false"


def render(facts: CloudFacts) -> str:
    """tempest.conf for the cloud ``facts`` describes."""
    conf = configparser.ConfigParser(interpolation=None)
    credentials = facts.credentials
    conf["DEFAULT"] = {"log_file": "tempest.log", "debug": "false"}
    conf["auth"] = {
        "use_dynamic_credentials": "true",
        "create_isolated_networks": _flag("network" in facts.services),
        "admin_username": credentials.username,
        "admin_password": credentials.password,
        "admin_project_name": credentials.project_name,
        "admin_domain_name": credentials.user_domain_name,
        "admin_user_domain_name": credentials.user_domain_name,
        "admin_project_domain_name": credentials.project_domain_name,
    }
    conf["identity"] = {
        "uri_v3": credentials.auth_url.rstrip("/"),
        "auth_version": "v3",
        "region": credentials.region,
        "v3_endpoint_type": "public",
    }
    compliance = facts.security_compliance
    lockout = int(compliance.get("lockout_failure_attempts", 0) or 0)
    history = int(compliance.get("unique_last_password_count", 0) or 0)
    conf["identity-feature-enabled"] = {
        "trust": "false",
        # The identity extensions ownstack serves and Tempest gates tests on.
        "api_extensions": ",".join(IDENTITY_EXTENSIONS),
        "security_compliance": _flag(lockout > 0 and history > 0),
    }
    if lockout > 0:
        conf["identity"].update({
            "user_lockout_failure_attempts": str(lockout),
            "user_lockout_duration": str(compliance.get("lockout_duration", 1800)),
            "user_unique_last_password_count": str(history),
            "user_minimum_password_age": str(compliance.get("minimum_password_age", 0)),
        })
    conf["compute"] = {
        "build_timeout": str(BUILD_TIMEOUT),
        "image_ref": facts.image_ref,
        "image_ref_alt": facts.image_ref_alt,
        "flavor_ref": facts.flavor_ref,
        "flavor_ref_alt": facts.flavor_ref_alt,
        "region": credentials.region,
        # Tempest's migration tests need two hosts (fake nodes count: compute.fake_nodes).
        "min_compute_nodes": str(max(1, facts.compute_nodes)),
        "min_microversion": "2.1",
        "max_microversion": facts.compute_max_microversion,
    }
    conf["compute-feature-enabled"] = {name: _flag(value)
                                       for name, value in COMPUTE_FEATURES.items()}
    # Consoles are QEMU's (a VNC screen and a serial port); the fake driver has none.
    if facts.hypervisor_types and CONSOLE_HYPERVISORS.isdisjoint(facts.hypervisor_types):
        for console in ("vnc_console", "serial_console"):
            conf["compute-feature-enabled"][console] = "false"
    conf["image"] = {"region": credentials.region, "build_timeout": str(BUILD_TIMEOUT)}
    conf["image-feature-enabled"] = {"import_image": "false", "manage_locations": "false"}
    conf["network"] = {
        "region": credentials.region,
        "public_network_id": facts.public_network_id,
        "floating_network_name": facts.public_network_name,
        "project_network_cidr": "10.100.0.0/16",
        "build_timeout": str(BUILD_TIMEOUT),
    }
    conf["network-feature-enabled"] = {
        "ipv6": "true",
        "ipv6_subnet_attributes": "true",
        "api_extensions": ",".join(facts.network_extensions),
        "port_security": _flag("port-security" in facts.network_extensions),
        "floating_ips": _flag("router" in facts.network_extensions),
    }
    conf["volume"] = {"region": credentials.region, "min_microversion": "3.0",
                      "build_timeout": str(BUILD_TIMEOUT)}
    if facts.volume_max_microversion:
        conf["volume"]["max_microversion"] = facts.volume_max_microversion
    for name in ("vendor_name", "storage_protocol"):      # what a pool says of its backend
        if facts.volume_backend.get(name):
            conf["volume"][name] = str(facts.volume_backend[name])
    conf["volume-feature-enabled"] = {name: _flag(value)
                                      for name, value in VOLUME_FEATURES.items()}
    conf["volume-feature-enabled"]["api_extensions"] = ",".join(facts.volume_extensions)
    if facts.placement_max_microversion:
        conf["placement"] = {"min_microversion": "1.0",
                             "max_microversion": facts.placement_max_microversion}
    cinder = "block-storage" in facts.services or "volumev3" in facts.services
    conf["service_available"] = {
        "glance": _flag("image" in facts.services),
        "nova": _flag("compute" in facts.services),
        "neutron": _flag("network" in facts.services),
        "cinder": _flag(cinder),
        "swift": _flag("object-store" in facts.services),
        "horizon": _flag("dashboard" in facts.services),
    }
    # API tests only: no guest is logged into (the fake compute driver has none).
    conf["validation"] = {"run_validation": "false"}
    out = io.StringIO()
    conf.write(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True,
                        help="the cloud's state directory (its clouds.yaml, ownstack.toml)")
    parser.add_argument("--output", type=Path, required=True, help="the tempest.conf to write")
    args = parser.parse_args(argv)
    try:
        credentials = credentials_from(os.environ, args.state_dir)
        with httpx.Client(timeout=120.0) as client:
            facts = discover(Cloud(client, credentials), credentials, args.state_dir)
    except (ConfigError, httpx.HTTPError) as exc:
        print(f"tempest-config: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(facts))
    args.output.chmod(0o600)             # it holds the admin's password
    print(f"wrote {args.output}: images {facts.image_ref} {facts.image_ref_alt}, flavors "
          f"{facts.flavor_ref} {facts.flavor_ref_alt}, public network "
          f"{facts.public_network_name}, services {', '.join(sorted(facts.services))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
