"""Host object names and binding details: Neutron's Linux bridge names, within 15 chars."""

from __future__ import annotations

import uuid

from ownstack.network.drivers.naming import (
    MAX_DEVICE_NAME,
    binding_details,
    bridge_name,
    tap_name,
)


def test_names_are_neutrons_linuxbridge_names() -> None:
    network_id, port_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert bridge_name(network_id) == "brq" + network_id[:11]
    assert tap_name(port_id) == "tap" + port_id[:11]
    assert len(bridge_name(network_id)) == len(tap_name(port_id)) == 14 <= MAX_DEVICE_NAME


def test_a_bound_port_is_a_filtered_bridge_port_on_its_networks_bridge() -> None:
    network_id = str(uuid.uuid4())
    assert binding_details(network_id, "node-1") == ("bridge", {
        "bridge_name": "brq" + network_id[:11], "port_filter": True, "connectivity": "l2"})
    assert binding_details(network_id, "") == ("unbound", {})
