"""The names of the host objects behind networks and ports, in one place.

They are Neutron's Linux bridge names, so that an operator who knows Neutron finds the same
devices: a network's bridge is ``brq`` and the first 11 characters of its id, a port's tap
is ``tap`` and the first 11 of its id. Both fit Linux's 15-character interface names
(``IFNAMSIZ`` less the terminating byte). The compute side plugs a guest's NIC into the tap
of that name (:class:`ownstack.compute.drivers.base.NicSpec` carries it), the network side
puts the tap on the bridge; both learn the names from the port's binding details
(:func:`binding_details`), which the network service computes here.
"""

from __future__ import annotations

from typing import Any, Final

MAX_DEVICE_NAME: Final = 15        # Linux's IFNAMSIZ (16) less the terminating NUL
ID_PREFIX_LENGTH: Final = 11       # as Neutron's linuxbridge agent cuts ids
BRIDGE_PREFIX: Final = "brq"
TAP_PREFIX: Final = "tap"

VIF_TYPE_BRIDGE: Final = "bridge"
VIF_TYPE_UNBOUND: Final = "unbound"


def bridge_name(network_id: str) -> str:
    """The Linux bridge of a network: ``brq`` + the first 11 characters of its id."""
    return BRIDGE_PREFIX + network_id[:ID_PREFIX_LENGTH]


def tap_name(port_id: str) -> str:
    """The tap of a port: ``tap`` + the first 11 characters of its id."""
    return TAP_PREFIX + port_id[:ID_PREFIX_LENGTH]


def binding_details(network_id: str, host: str) -> tuple[str, dict[str, Any]]:
    """A port's ``binding:vif_type`` and ``binding:vif_details`` once ``binding:host_id``
    is ``host``: a bridge port (what Nova's libvirt driver plugs a tap into), filtered by
    the agent, with plain L2 connectivity; ``unbound`` with no details when ``host`` is
    empty. The ports code calls it whenever it sets or clears a binding."""
    if not host:
        return VIF_TYPE_UNBOUND, {}
    return VIF_TYPE_BRIDGE, {"bridge_name": bridge_name(network_id), "port_filter": True,
                             "connectivity": "l2"}


ROUTER_NAMESPACE_PREFIX: Final = "qrouter-"
ROUTER_INTERFACE_PREFIX: Final = "qr-"
ROUTER_GATEWAY_PREFIX: Final = "qg-"


def router_namespace(router_id: str) -> str:
    """The network namespace of a router, as Neutron's L3 agent names it."""
    return ROUTER_NAMESPACE_PREFIX + router_id


def router_interface_name(port_id: str) -> str:
    """A router interface inside its namespace: ``qr-`` + the first 11 of its port id."""
    return ROUTER_INTERFACE_PREFIX + port_id[:ID_PREFIX_LENGTH]


def router_gateway_name(port_id: str) -> str:
    """A router's gateway leg inside its namespace: ``qg-`` + the first 11 of its port id."""
    return ROUTER_GATEWAY_PREFIX + port_id[:ID_PREFIX_LENGTH]

