"""The instance metadata documents cloud-init reads, as Nova writes them.

One source for both places a guest finds its metadata: the config drive (an ISO9660 disk
labelled ``config-2``, :func:`config_drive_files`) and, in a later issue, the metadata
service on 169.254.169.254 (:func:`openstack_document`, :func:`ec2_document`). The
layout and field names follow Nova's ``nova/api/metadata/base.py``
(``InstanceMetadata.metadata_for_config_drive``):

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
  bits, so ``i-%08x`` as in Nova). Nova formats an integer database id; ownstack has none,
  and the uuid prefix is stable for the instance's life and needs no table.
* EC2 fields ownstack cannot know yet are left out rather than faked: ``ami-id``,
  ``instance-type``, ``local-ipv4``/``public-ipv4`` (addresses come from DHCP) and
  ``block-device-mapping``. ``security-groups`` is empty and ``reservation-id`` is ``""``
  until the network service and reservations exist.
* ``network_data.json`` describes each NIC as a DHCP-configured IPv4 network (its
  ``network_id`` the port's network); with no NIC it is
  ``{"links": [], "networks": [], "services": []}`` (Nova writes ``{}``).
* ``hostname`` is ``GuestSpec.hostname`` as given: ownstack adds no DHCP domain.
* ``vendor_data.json`` is ``{}`` and ``vendor_data2.json`` is ``{"static": {}}``: what
  Nova writes with its default ``StaticJSON`` provider and no vendor-data file.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from ownstack.compute.drivers.base import GuestSpec, NicSpec

__all__ = [
    "EC2_VERSIONS",
    "LATEST",
    "OPENSTACK_VERSIONS",
    "config_drive_files",
    "ec2_document",
    "ec2_instance_id",
    "meta_data",
    "network_data",
    "openstack_document",
    "openstack_versions",
]

# Nova's OpenStack metadata versions, oldest first (nova/api/metadata/base.py).
FOLSOM = "2012-08-10"        # meta_data.json, user_data
GRIZZLY = "2013-04-04"       # random_seed
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
# Nova writes only the newest EC2 version to a config drive (config_drive_skip_versions).
EC2_VERSIONS: tuple[str, ...] = ("2009-04-04",)

RANDOM_SEED_BYTES = 512

MD_JSON = "meta_data.json"
USER_DATA = "user_data"
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


def ec2_instance_id(uuid: str) -> str:
    """``i-`` and the uuid's first 8 hex digits: Nova's ``i-%08x`` shape, stable per uuid."""
    return "i-" + uuid.replace("-", "")[:8].lower()


def meta_data(spec: GuestSpec, version: str = LATEST, *, config_drive: bool) -> dict[str, Any]:
    """``openstack/<version>/meta_data.json``.

    ``admin_pass`` is only ever in the config drive (``config_drive=True``), as in Nova,
    where it travels in ``extra_md`` of the config drive and never to the metadata API.
    ``random_seed`` is fresh on every call.
    """
    document: dict[str, Any] = {"uuid": spec.uuid}
    if spec.metadata:
        document["meta"] = dict(spec.metadata)
    if config_drive and spec.admin_pass:
        document["admin_pass"] = spec.admin_pass
    if spec.key_name and spec.key_data:
        document["public_keys"] = {spec.key_name: spec.key_data}
        document["keys"] = [{"name": spec.key_name, "type": "ssh", "data": spec.key_data}]
    document["hostname"] = spec.hostname
    document["name"] = spec.name
    document["launch_index"] = spec.launch_index
    document["availability_zone"] = spec.availability_zone
    if _at_least(version, GRIZZLY):
        document["random_seed"] = base64.b64encode(
            secrets.token_bytes(RANDOM_SEED_BYTES)).decode("ascii")
    if _at_least(version, LIBERTY):
        document["project_id"] = spec.project_id
    if _at_least(version, NEWTON_ONE):
        document["devices"] = []          # no tagged devices until device tagging exists
    if _at_least(version, VICTORIA):
        document["dedicated_cpus"] = []   # no CPU pinning
    return document


def _link(nic: NicSpec) -> dict[str, Any]:
    return {"id": nic.tap_name, "vif_id": nic.port_id, "type": "bridge", "mtu": nic.mtu,
            "ethernet_mac_address": nic.mac}


def network_data(nics: Iterable[NicSpec]) -> dict[str, Any]:
    """``network_data.json``: one link and one DHCP IPv4 network per NIC, in order."""
    nics = list(nics)
    links = [_link(nic) for nic in nics]
    networks = [{"id": f"network{index}", "type": "ipv4_dhcp", "link": link["id"],
                 "network_id": nic.network_id}
                for index, (nic, link) in enumerate(zip(nics, links, strict=True))]
    return {"links": links, "networks": networks, "services": []}


def openstack_document(spec: GuestSpec, version: str, name: str, *,
                       config_drive: bool) -> bytes | None:
    """One file of ``openstack/<version>/``, or ``None`` where Nova has none.

    ``version`` is a dated version from :data:`OPENSTACK_VERSIONS` or ``latest``; an
    unknown version raises :class:`KeyError`, as a 404 would in the metadata service.
    """
    if version != LATEST and version not in OPENSTACK_VERSIONS:
        raise KeyError(version)
    if name == MD_JSON:
        return _dump(meta_data(spec, version, config_drive=config_drive))
    if name == USER_DATA:
        return spec.user_data
    if name == VENDOR_DATA and _at_least(version, HAVANA):
        return _dump({})
    if name == NETWORK_DATA and _at_least(version, LIBERTY):
        return _dump(network_data(spec.nics))
    if name == VENDOR_DATA2 and _at_least(version, NEWTON_TWO):
        return _dump({"static": {}})
    return None


def ec2_meta_data(spec: GuestSpec) -> dict[str, Any]:
    """``ec2/<version>/meta-data.json``, for EC2 version 2009-04-04 (Nova's newest)."""
    document: dict[str, Any] = {
        "instance-id": ec2_instance_id(spec.uuid),
        "ami-launch-index": spec.launch_index,
        "hostname": spec.hostname,
        "local-hostname": spec.hostname,
        "public-hostname": spec.hostname,
        "placement": {"availability-zone": spec.availability_zone},
        "reservation-id": "",
        "security-groups": [],
        "instance-action": "none",
    }
    if spec.key_name and spec.key_data:
        document["public-keys"] = {"0": {"openssh-key": spec.key_data}}
    return document


def ec2_document(spec: GuestSpec, version: str, name: str) -> bytes | None:
    """One file of ``ec2/<version>/``, or ``None`` where Nova has none (unknown: KeyError)."""
    if version != LATEST and version not in EC2_VERSIONS:
        raise KeyError(version)
    if name == EC2_META_DATA:
        return _dump(ec2_meta_data(spec))
    if name == EC2_USER_DATA:
        return spec.user_data
    return None


def config_drive_files(spec: GuestSpec, *, now: datetime | None = None) -> dict[str, bytes]:
    """Every file of the config drive, path -> content (paths relative, '/'-separated).

    ``now`` decides which dated versions are published (Nova hides versions dated in the
    future); every version Nova knows is dated in the past, so it matters only to tests.
    """
    files: dict[str, bytes] = {}
    for version in [*EC2_VERSIONS, LATEST]:
        for name in (EC2_META_DATA, EC2_USER_DATA):
            content = ec2_document(spec, version, name)
            if content is not None:
                files[f"ec2/{version}/{name}"] = content
    for version in openstack_versions(now):
        for name in (MD_JSON, USER_DATA, VENDOR_DATA, NETWORK_DATA, VENDOR_DATA2):
            content = openstack_document(spec, version, name, config_drive=True)
            if content is not None:
                files[f"openstack/{version}/{name}"] = content
    return files
