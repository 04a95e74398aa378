"""Which groups' members a port change changes: the pure half of the network service's
``group_members_changed`` casts."""

from __future__ import annotations

from dataclasses import replace

from ownstack.network.objects.bindings import PortState
from ownstack.network.rpc_handlers import membership_changes

PORT = PortState("p", "n", "host-a", "DOWN", "compute:nova", "s", ("g1", "g2"), ("10.0.0.5",))


def test_a_new_or_deleted_port_with_addresses_changes_all_its_groups() -> None:
    assert membership_changes(None, PORT) == {"g1", "g2"}
    assert membership_changes(PORT, None) == {"g1", "g2"}
    assert membership_changes(None, replace(PORT, addresses=())) == set()


def test_joining_and_leaving_change_only_those_groups() -> None:
    assert membership_changes(PORT, replace(PORT, security_groups=("g2", "g3"))) == \
        {"g1", "g3"}


def test_new_addresses_change_every_group_of_the_port() -> None:
    assert membership_changes(PORT, replace(PORT, addresses=("10.0.0.6",))) == {"g1", "g2"}


def test_a_status_or_binding_change_changes_no_members() -> None:
    assert membership_changes(PORT, replace(PORT, status="ACTIVE", host="host-b")) == set()
