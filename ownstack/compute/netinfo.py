"""The network info cache: what compute keeps of a server's ports, and what is read from it.

Nova keeps a server's network info (its VIFs) in ``instance_info_caches`` so that showing
a server never asks Neutron. ownstack keeps the same in ``compute_instances.network_info``:
a list of VIFs, one per port, in the order the user asked for them::

    {"id": port id, "address": MAC, "devname": "tap" + port id[:11], "bridge": bridge,
     "mtu": int, "network": {"id", "label": network name}, "active": bool,
     "fixed_ips": [{"address", "version", "subnet_id",
                    "floating_ips": [{"address", "version"}]}],
     "preserve_on_delete": bool, "tag": str | None}

A fixed IP's ``floating_ips`` are those associated with it (Nova's cache nests them so);
the server's ``addresses`` show them, as Nova does, after the network's fixed addresses
with ``OS-EXT-IPS:type: floating``.

``bridge`` is the port's ``binding:vif_details["bridge_name"]`` when the network service
set one, else Neutron's linuxbridge name for the network (``brq`` + network id[:11]).
``preserve_on_delete`` is Nova's flag: the user brought the port, so deleting the server
unbinds it rather than deleting it.

Pure functions, shared by the API's views (``addresses``), the conductor (which builds the
cache from ports) and the agent's side of the InstanceSpec (the NICs to plug).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, Final

TAP_PREFIX: Final = "tap"
BRIDGE_PREFIX: Final = "brq"          # Neutron's linuxbridge agent names bridges so
DEVNAME_LENGTH: Final = 14            # Nova's NIC_NAME_LEN: "tap" and 11 characters
DEFAULT_MTU: Final = 1500


def tap_name(port_id: str) -> str:
    return (TAP_PREFIX + port_id)[:DEVNAME_LENGTH]


def bridge_name(port: Mapping[str, Any]) -> str:
    details = port.get("binding:vif_details") or {}
    bridge = details.get("bridge_name") if isinstance(details, Mapping) else None
    return str(bridge) if bridge else (BRIDGE_PREFIX + str(port["network_id"]))[:DEVNAME_LENGTH]


def ip_version(address: str) -> int:
    return ipaddress.ip_address(address).version


def vif(port: Mapping[str, Any], network: Mapping[str, Any] | None, *,
        preserve_on_delete: bool, tag: str | None = None,
        floating: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """One VIF of the cache, from a Neutron port body and its network's body;
    ``floating``: the floating addresses of each fixed address (see
    :func:`floating_by_fixed`)."""
    network = network or {}
    floating = floating or {}
    return {
        "id": port["id"], "address": port.get("mac_address"),
        "devname": tap_name(str(port["id"])), "bridge": bridge_name(port),
        "mtu": int(network.get("mtu") or DEFAULT_MTU),
        "network": {"id": port["network_id"], "label": network.get("name") or ""},
        "active": port.get("status") == "ACTIVE",
        "fixed_ips": [{"address": ip["ip_address"], "version": ip_version(ip["ip_address"]),
                       "subnet_id": ip.get("subnet_id"),
                       "floating_ips": [{"address": address, "version": ip_version(address)}
                                        for address in floating.get(ip["ip_address"], ())]}
                      for ip in port.get("fixed_ips") or []],
        "preserve_on_delete": preserve_on_delete, "tag": tag}


def floating_by_fixed(port_id: str, floating_ips: Iterable[Mapping[str, Any]]
                      ) -> dict[str, list[str]]:
    """The floating addresses associated with each fixed address of ``port_id``, from
    Neutron floating IP bodies."""
    result: dict[str, list[str]] = {}
    for fip in floating_ips:
        if fip.get("port_id") == port_id and fip.get("fixed_ip_address"):
            result.setdefault(str(fip["fixed_ip_address"]), []).append(
                str(fip["floating_ip_address"]))
    return result


def addresses(network_info: Iterable[Mapping[str, Any]] | None, *, extended: bool = True
              ) -> dict[str, list[dict[str, Any]]]:
    """A server's ``addresses``: by network name, each fixed IP with its version, then
    the floating IPs associated with them (Nova's order), and (``extended``, the server
    views; not ``/ips``) each one's type and the port's MAC."""
    fixed: dict[str, list[dict[str, Any]]] = {}
    floating: dict[str, list[dict[str, Any]]] = {}
    for item in network_info or ():
        label = str(item["network"]["label"])
        fixed.setdefault(label, [])
        floating.setdefault(label, [])
        for ip in item.get("fixed_ips") or ():
            fixed[label].append(_address(ip, "fixed", item, extended))
            floating[label] += [_address(fip, "floating", item, extended)
                                for fip in ip.get("floating_ips") or ()]
    return {label: fixed[label] + floating[label] for label in fixed}


def _address(ip: Mapping[str, Any], kind: str, item: Mapping[str, Any], extended: bool
             ) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": ip["version"], "addr": ip["address"]}
    if extended:
        entry["OS-EXT-IPS:type"] = kind
        entry["OS-EXT-IPS-MAC:mac_addr"] = item.get("address")
    return entry


def nics(network_info: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The NICs an agent plugs (the InstanceSpec's ``nics``), in order: the fields of
    :class:`ownstack.compute.drivers.base.NicSpec`, and ``active`` (the network service
    reported the port ACTIVE: a spawning guest waits for every one of them)."""
    return [{"port_id": item["id"], "mac": item["address"], "tap_name": item["devname"],
             "bridge": item["bridge"], "mtu": int(item.get("mtu") or DEFAULT_MTU),
             "network_id": str(item["network"]["id"]), "active": bool(item.get("active"))}
            for item in network_info or ()]


def security_group_names(groups: Iterable[Mapping[str, str]] | None) -> list[dict[str, str]]:
    """The view's ``security_groups``: the server's groups; ``default`` when none was asked
    for at create (``None``); none once every group was removed (``[]``)."""
    if groups is None:
        return [{"name": "default"}]
    return [{"name": group["name"]} for group in groups]
