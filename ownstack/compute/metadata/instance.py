"""What a guest's metadata is made of: one :class:`InstanceMetadata`, the single input of
every document builder (:mod:`.documents`).

Two places make one:

* the metadata service, from the instance row and its ports as the network service has
  them (:func:`from_ports`): fixed IPs with their subnets (gateway, DNS, host routes,
  DHCP), floating IPs, security groups. ``addresses_known`` is true.
* the compute agent, for the config drive, from the InstanceSpec the conductor sent
  (``ownstack.compute.drivers.metadata.instance_metadata``): the same instance fields, and
  NICs from the network info cache with no subnets (``fixed_ips`` is ``None``), which the
  builders describe as DHCP, as the config drive always has.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ownstack.compute.netinfo import DEFAULT_MTU, tap_name


@dataclass(frozen=True, slots=True)
class Subnet:
    cidr: str
    ip_version: int
    gateway_ip: str | None = None
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()     # (destination CIDR, nexthop)
    ipv6_address_mode: str | None = None


@dataclass(frozen=True, slots=True)
class FixedIp:
    address: str
    subnet: Subnet

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.address).version


@dataclass(frozen=True, slots=True)
class Nic:
    port_id: str
    mac: str
    devname: str                  # the host's tap, the link's id in network_data.json
    network_id: str = ""
    mtu: int = DEFAULT_MTU
    # None: not known to the maker (the agent's NIC list), described as one DHCP network.
    fixed_ips: tuple[FixedIp, ...] | None = None
    floating_ips: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InstanceMetadata:
    uuid: str
    name: str
    hostname: str
    project_id: str
    availability_zone: str = ""
    launch_index: int = 0
    key_name: str | None = None
    key_data: str | None = None
    user_data: bytes | None = None           # already base64-decoded
    admin_pass: str | None = None            # config drive only
    metadata: Mapping[str, str] = field(default_factory=dict)
    nics: tuple[Nic, ...] = ()
    # Known to the metadata service only; the config drive leaves them out (see documents).
    addresses_known: bool = False            # local-ipv4 and public-ipv4 can be told
    image_id: str | None = None
    instance_type: str | None = None         # the flavor's name
    reservation_id: str = ""
    security_groups: tuple[str, ...] = ()

    @property
    def local_ipv4(self) -> str:
        for nic in self.nics:
            for ip in nic.fixed_ips or ():
                if ip.version == 4:
                    return ip.address
        return ""

    @property
    def public_ipv4(self) -> str:
        for nic in self.nics:
            if nic.floating_ips:
                return nic.floating_ips[0]
        return ""


def subnet_of(body: Mapping[str, Any]) -> Subnet:
    """A :class:`Subnet` from the network service's subnet body."""
    return Subnet(
        cidr=str(body["cidr"]), ip_version=int(body["ip_version"]),
        gateway_ip=body.get("gateway_ip") or None,
        enable_dhcp=bool(body.get("enable_dhcp", True)),
        dns_nameservers=tuple(str(d) for d in body.get("dns_nameservers") or ()),
        host_routes=tuple((str(r["destination"]), str(r["nexthop"]))
                          for r in body.get("host_routes") or ()),
        ipv6_address_mode=body.get("ipv6_address_mode") or None)


def nics_of(ports: Iterable[Mapping[str, Any]], subnets: Mapping[str, Mapping[str, Any]],
            networks: Mapping[str, Mapping[str, Any]],
            floating_ips: Iterable[Mapping[str, Any]]) -> tuple[Nic, ...]:
    """The NICs of an instance from the network service's bodies: its ports (in the order
    given), their subnets and networks by id, and the floating IPs on them."""
    floating: dict[str, list[str]] = {}
    for fip in floating_ips:
        if fip.get("port_id"):
            floating.setdefault(str(fip["port_id"]), []).append(str(fip["floating_ip_address"]))
    nics = []
    for port in ports:
        network = networks.get(str(port["network_id"])) or {}
        fixed = tuple(FixedIp(str(ip["ip_address"]), subnet_of(subnets[str(ip["subnet_id"])]))
                      for ip in port.get("fixed_ips") or () if str(ip["subnet_id"]) in subnets)
        nics.append(Nic(port_id=str(port["id"]), mac=str(port["mac_address"]),
                        devname=tap_name(str(port["id"])), network_id=str(port["network_id"]),
                        mtu=int(network.get("mtu") or DEFAULT_MTU), fixed_ips=fixed,
                        floating_ips=tuple(sorted(floating.get(str(port["id"]), ())))))
    return tuple(nics)
