"""The instance metadata documents cloud-init reads, as Nova writes them.

One source for both places a guest finds its metadata: the config drive (an ISO9660 disk
labelled ``config-2``, :func:`config_drive_files`) and the metadata service on
169.254.169.254 (:mod:`.tree`, over :func:`openstack_document` and :func:`ec2_meta_data`).
Every builder takes one :class:`~.instance.InstanceMetadata`. The layout and field names
follow Nova's ``nova/api/metadata/base.py`` (``InstanceMetadata.metadata_for_config_drive``):

* ``openstack/<version>/`` for every dated version in :data:`OPENSTACK_VERSIONS` and for
  ``latest``: ``meta_data.json``, ``user_data`` (only when the server has user data),
  ``vendor_data.json`` (from Havana), ``network_data.json`` (from Liberty),
  ``vendor_data2.json`` (from Newton). Fields of ``meta_data.json`` appear from the
  version Nova added them in: ``random_seed`` (Grizzly), ``project_id`` (Liberty),
  ``devices`` (Newton), ``dedicated_cpus`` (Victoria). ``latest`` is the newest version.
* ``ec2/2009-04-04/`` and ``ec2/latest/``: ``meta-data.json`` and ``user-data``. Nova's
  default ``config_drive_skip_versions`` leaves out the older EC2 versions, and its
  ``latest`` is 2009-04-04, so both directories hold the same documents.
* No ``openstack/content/``: ownstack injects no files.

What differs from Nova, and why:

* The EC2 ``instance-id`` is ``i-`` and the first 8 hex digits of the uuid (its top 32
  bits, so ``i-%08x`` as in Nova), and ``ami-id`` likewise from the image's uuid. Nova
  formats integer database ids; ownstack has none, and the uuid prefix is stable.
* What the maker of the input does not know is left out rather than faked. The config
  drive is made on the compute node from the agent's NIC list, with no addresses: it has
  no ``local-ipv4``, ``public-ipv4``, ``ami-id`` or ``instance-type``, ``security-groups``
  is empty and ``reservation-id`` is ``""``, and ``network_data.json`` describes each NIC
  as one DHCP-configured IPv4 network. The metadata service knows the ports: it writes
  all of those, and ``network_data.json`` as Nova's ``get_network_metadata`` does (a
  DHCP subnet is ``ipv4_dhcp``; a subnet without DHCP is static, with its address,
  netmask, default route and host routes; DNS servers as services). No
  ``block-device-mapping``: ownstack has no block device mappings yet.
* With no NIC ``network_data.json`` is ``{"links": [], "networks": [], "services": []}``
  (Nova writes ``{}``).
* ``hostname`` is the instance's hostname as given: ownstack adds no DHCP domain.
* ``vendor_data.json`` is ``{}`` and ``vendor_data2.json`` is ``{"static": {}}``: what
  Nova writes with its default ``StaticJSON`` provider and no vendor-data file.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from ownstack.compute.metadata.instance import FixedIp, InstanceMetadata, Nic

__all__ = [
    "EC2_SERVICE_VERSIONS",
    "EC2_VERSIONS",
    "LATEST",
    "OPENSTACK_VERSIONS",
    "config_drive_files",
    "ec2_document",
    "ec2_id",
    "ec2_instance_id",
    "ec2_meta_data",
    "meta_data",
    "network_data",
    "openstack_document",
    "openstack_versions",
]

# Nova's OpenStack metadata versions, oldest first (nova/api/metadata/base.py).
FOLSOM = "2012-08-10"        # meta_data.json, user_data
GRIZZLY = "2013-04-04"       # random_seed, password
HAVANA = "2013-10-17"        # vendor_data.json
LIBERTY = "2015-10-15"       # network_data.json, project_id
NEWTON_ONE = "2016-06-30"    # devices
NEWTON_TWO = "2016-10-06"    # vendor_data2.json
OCATA = "2017-02-22"         # device vlans (no devices here yet)
ROCKY = "2018-08-27"         # device vf_trusted (no devices here yet)
VICTORIA = "2020-10-14"      # dedicated_cpus

OPENSTACK_VERSIONS: tuple[str, ...] = (
    FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY, VICTORIA)
LATEST = "latest"
# The EC2 versions the metadata service answers (Nova's VERSIONS); ``latest`` is the last.
EC2_SERVICE_VERSIONS: tuple[str, ...] = (
    "1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
    "2008-02-01", "2008-09-01", "2009-04-04")
# Nova writes only the newest EC2 version to a config drive (config_drive_skip_versions).
EC2_VERSIONS: tuple[str, ...] = (EC2_SERVICE_VERSIONS[-1],)

RANDOM_SEED_BYTES = 512

MD_JSON = "meta_data.json"
USER_DATA = "user_data"
PASSWORD = "password"  # noqa: S105 - a file name, not a password
VENDOR_DATA = "vendor_data.json"
VENDOR_DATA2 = "vendor_data2.json"
NETWORK_DATA = "network_data.json"
EC2_META_DATA = "meta-data.json"
EC2_USER_DATA = "user-data"


def _at_least(version: str, required: str) -> bool:
    """Whether OpenStack metadata ``version`` (a date or ``latest``) includes ``required``."""
    return version == LATEST or version >= required


def _dump(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")


def openstack_versions(now: datetime | None = None) -> list[str]:
    """The dated versions published at ``now`` (Nova hides future ones), then ``latest``."""
    today = (now or datetime.now(UTC)).date()
    return [v for v in OPENSTACK_VERSIONS if date.fromisoformat(v) <= today] + [LATEST]


def ec2_id(prefix: str, uuid: str) -> str:
    """``<prefix>-`` and the uuid's first 8 hex digits: Nova's ``%08x`` shape, stable."""
    return f"{prefix}-" + uuid.replace("-", "")[:8].lower()


def ec2_instance_id(uuid: str) -> str:
    return ec2_id("i", uuid)


def meta_data(md: InstanceMetadata, version: str = LATEST, *,
              config_drive: bool) -> dict[str, Any]:
    """``openstack/<version>/meta_data.json``.

    ``admin_pass`` is only ever in the config drive (``config_drive=True``), as in Nova,
    where it travels in ``extra_md`` of the config drive and never to the metadata API.
    ``random_seed`` is fresh on every call.
    """
    document: dict[str, Any] = {"uuid": md.uuid}
    if md.metadata:
        document["meta"] = dict(md.metadata)
    if config_drive and md.admin_pass:
        document["admin_pass"] = md.admin_pass
    if md.key_name and md.key_data:
        document["public_keys"] = {md.key_name: md.key_data}
        document["keys"] = [{"name": md.key_name, "type": "ssh", "data": md.key_data}]
    document["hostname"] = md.hostname
    document["name"] = md.name
    document["launch_index"] = md.launch_index
    document["availability_zone"] = md.availability_zone
    if _at_least(version, GRIZZLY):
        document["random_seed"] = base64.b64encode(
            secrets.token_bytes(RANDOM_SEED_BYTES)).decode("ascii")
    if _at_least(version, LIBERTY):
        document["project_id"] = md.project_id
    if _at_least(version, NEWTON_ONE):
        document["devices"] = []          # no tagged devices until device tagging exists
    if _at_least(version, VICTORIA):
        document["dedicated_cpus"] = []   # no CPU pinning
    return document


def _link(nic: Nic) -> dict[str, Any]:
    return {"id": nic.devname, "vif_id": nic.port_id, "type": "bridge", "mtu": nic.mtu,
            "ethernet_mac_address": nic.mac}


def _route(destination: str, gateway: str) -> dict[str, str]:
    net = ipaddress.ip_network(destination, strict=False)
    return {"network": str(net.network_address), "netmask": str(net.netmask),
            "gateway": gateway}


def _dhcp_type(ip: FixedIp) -> str | None:
    """The network's type when it is configured dynamically, else ``None`` (static)."""
    subnet = ip.subnet
    if ip.version == 6 and subnet.ipv6_address_mode in ("slaac", "dhcpv6-stateless"):
        return "ipv6_slaac" if subnet.ipv6_address_mode == "slaac" \
            else "ipv6_dhcpv6-stateless"
    if not subnet.enable_dhcp:
        return None
    return "ipv4_dhcp" if ip.version == 4 else "ipv6_dhcpv6-stateful"


def _network(nic: Nic, ip: FixedIp, index: int, link_id: str) -> dict[str, Any]:
    """One entry of ``networks`` for the first address of one IP version on a NIC."""
    dynamic = _dhcp_type(ip)
    if dynamic is not None:
        return {"id": f"network{index}", "type": dynamic, "link": link_id,
                "network_id": nic.network_id}
    subnet = ip.subnet
    default = "0.0.0.0/0" if ip.version == 4 else "::/0"
    routes = [_route(default, subnet.gateway_ip)] if subnet.gateway_ip else []
    routes += [_route(destination, nexthop) for destination, nexthop in subnet.host_routes]
    return {"id": f"network{index}", "type": f"ipv{ip.version}", "link": link_id,
            "ip_address": ip.address,
            "netmask": str(ipaddress.ip_network(subnet.cidr, strict=False).netmask),
            "routes": routes, "network_id": nic.network_id}


def network_data(nics: Iterable[Nic]) -> dict[str, Any]:
    """``network_data.json``, as Nova's ``get_network_metadata``: a link per NIC with an
    address, a network for its first IPv4 and first IPv6 address, DNS servers as services.
    A NIC whose addresses are unknown (the config drive's) is one DHCP IPv4 network."""
    links: list[dict[str, Any]] = []
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for nic in nics:
        link = _link(nic)
        if nic.fixed_ips is None:
            links.append(link)
            networks.append({"id": f"network{len(networks)}", "type": "ipv4_dhcp",
                             "link": link["id"], "network_id": nic.network_id})
            continue
        firsts = [next((ip for ip in nic.fixed_ips if ip.version == v), None) for v in (4, 6)]
        if not any(firsts):
            continue
        links.append(link)
        for ip in firsts:
            if ip is None:
                continue
            networks.append(_network(nic, ip, len(networks), link["id"]))
            for address in ip.subnet.dns_nameservers:
                service = {"type": "dns", "address": address}
                if service not in services:
                    services.append(service)
    return {"links": links, "networks": networks, "services": services}


def openstack_document(md: InstanceMetadata, version: str, name: str, *,
                       config_drive: bool) -> bytes | None:
    """One file of ``openstack/<version>/``, or ``None`` where Nova has none.

    ``version`` is a dated version from :data:`OPENSTACK_VERSIONS` or ``latest``; an
    unknown version raises :class:`KeyError`, as a 404 would in the metadata service.
    The password is not a document: the service keeps it (see :mod:`.tree`).
    """
    if version != LATEST and version not in OPENSTACK_VERSIONS:
        raise KeyError(version)
    if name == MD_JSON:
        return _dump(meta_data(md, version, config_drive=config_drive))
    if name == USER_DATA:
        return md.user_data
    if name == VENDOR_DATA and _at_least(version, HAVANA):
        return _dump({})
    if name == NETWORK_DATA and _at_least(version, LIBERTY):
        return _dump(network_data(md.nics))
    if name == VENDOR_DATA2 and _at_least(version, NEWTON_TWO):
        return _dump({"static": {}})
    return None


def openstack_listing(md: InstanceMetadata, version: str) -> list[str]:
    """What ``openstack/<version>/`` holds, in Nova's order (``_handle_version``)."""
    names = [MD_JSON]
    if md.user_data is not None:
        names.append(USER_DATA)
    for name, since in ((PASSWORD, GRIZZLY), (VENDOR_DATA, HAVANA), (NETWORK_DATA, LIBERTY),
                        (VENDOR_DATA2, NEWTON_TWO)):
        if _at_least(version, since):
            names.append(name)
    return names


def ec2_meta_data(md: InstanceMetadata, version: str = EC2_VERSIONS[-1]) -> dict[str, Any]:
    """The EC2 ``meta-data`` tree of ``version`` (a known EC2 version), fields appearing
    from the version Nova added them in (``get_ec2_metadata``)."""
    document: dict[str, Any] = {}
    if md.image_id:
        document["ami-id"] = ec2_id("ami", md.image_id)
    document.update({
        "instance-id": ec2_instance_id(md.uuid),
        "ami-launch-index": md.launch_index,
        "hostname": md.hostname,
        "reservation-id": md.reservation_id,
        "security-groups": list(md.security_groups),
    })
    if md.addresses_known:
        document["local-ipv4"] = md.local_ipv4
    if md.key_name and md.key_data:
        document["public-keys"] = {"0": {"openssh-key": md.key_data}}
    if version >= "2007-01-19":
        document["local-hostname"] = md.hostname
        document["public-hostname"] = md.hostname
        if md.addresses_known:
            document["public-ipv4"] = md.public_ipv4
    if version >= "2007-08-29" and md.instance_type:
        document["instance-type"] = md.instance_type
    if version >= "2008-02-01":
        document["placement"] = {"availability-zone": md.availability_zone}
    if version >= "2008-09-01":
        document["instance-action"] = "none"
    return document


def ec2_document(md: InstanceMetadata, version: str, name: str) -> bytes | None:
    """One file of the config drive's ``ec2/<version>/``, or ``None`` where Nova has none
    (an unknown version: KeyError)."""
    if version != LATEST and version not in EC2_VERSIONS:
        raise KeyError(version)
    if name == EC2_META_DATA:
        return _dump(ec2_meta_data(md))
    if name == EC2_USER_DATA:
        return md.user_data
    return None


def config_drive_files(md: InstanceMetadata, *, now: datetime | None = None
                       ) -> dict[str, bytes]:
    """Every file of the config drive, path -> content (paths relative, '/'-separated).

    ``now`` decides which dated versions are published (Nova hides versions dated in the
    future); every version Nova knows is dated in the past, so it matters only to tests.
    """
    files: dict[str, bytes] = {}
    for version in [*EC2_VERSIONS, LATEST]:
        for name in (EC2_META_DATA, EC2_USER_DATA):
            content = ec2_document(md, version, name)
            if content is not None:
                files[f"ec2/{version}/{name}"] = content
    for version in openstack_versions(now):
        for name in (MD_JSON, USER_DATA, VENDOR_DATA, NETWORK_DATA, VENDOR_DATA2):
            content = openstack_document(md, version, name, config_drive=True)
            if content is not None:
                files[f"openstack/{version}/{name}"] = content
    return files
