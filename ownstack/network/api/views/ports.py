"""The port body, as Neutron's API reference shows it with the ``binding``,
``port-security``, ``allowed-address-pairs`` and ``security-group`` extensions."""

from __future__ import annotations

from typing import Any

from ownstack.network.api.common import standard
from ownstack.network.objects.models import Port
from ownstack.network.objects.ports import ListedPort


def port(row: Port | ListedPort, *, fixed_ips: list[dict[str, str]], security_groups: list[str],
         tags: list[str], hidden: set[str]) -> dict[str, Any]:
    body = standard(row, tags)
    body.update({
        "name": row.name,
        "network_id": row.network_id,
        "mac_address": row.mac_address,
        "admin_state_up": row.admin_state_up,
        "status": row.status,
        "device_id": row.device_id,
        "device_owner": row.device_owner,
        "fixed_ips": fixed_ips,
        "allowed_address_pairs": [dict(pair) for pair in row.allowed_address_pairs or []],
        "security_groups": security_groups,
        "port_security_enabled": row.port_security_enabled,
        "binding:host_id": row.binding_host_id,
        "binding:vif_type": row.binding_vif_type,
        "binding:vif_details": dict(row.binding_vif_details or {}),
        "binding:vnic_type": row.binding_vnic_type,
        "binding:profile": dict(row.binding_profile or {}),
    })
    for name in hidden:
        body.pop(name, None)
    return body
