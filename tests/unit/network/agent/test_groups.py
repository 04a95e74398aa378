"""The security-group controller: its plan as a pure function, one pass of each step against
the fake driver and a stand-in for the network service, and how a port's rules travel from
its PortInfo to its PortSpec."""

from __future__ import annotations

import uuid
from dataclasses import replace

from ownstack.common.agent import Retry
from ownstack.network.agent.groups import GroupController, GroupStep, Members, named_groups, plan
from ownstack.network.agent.ports import port_spec
from ownstack.network.drivers.base import NetworkSpec, PortSpec, SecurityGroupSpec
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.rpc import MembersInfo, PortInfo
from ownstack.network.sg_rules import RuleSpec

WEB, DB = str(uuid.uuid4()), str(uuid.uuid4())


def test_the_plan() -> None:
    some = Members.of(["10.0.0.5"], [])
    assert plan(None, None) == GroupStep.NOTHING
    assert plan(some, None) == GroupStep.SET
    assert plan(some, Members.of([], [])) == GroupStep.SET
    assert plan(some, some) == GroupStep.NOTHING
    assert plan(None, some) == GroupStep.REMOVE


def test_members_compare_as_networks_however_spelled() -> None:
    assert Members.of(["10.0.0.5", "10.0.0.0/24"], ["FD00::1"]) == \
        Members.of(["10.0.0.0/24"], ["fd00::1/128"])
    assert Members.of(["10.0.0.5"], []) != Members.of(["10.0.0.6"], [])


def _spec(*rules: RuleSpec, security: bool = True) -> PortSpec:
    return PortSpec(str(uuid.uuid4()), NetworkSpec("n", "vxlan", 1), "fa:16:3e:00:00:01",
                    port_security_enabled=security, security_group_ids=(DB,),
                    security_groups=(SecurityGroupSpec(DB, rules),))


def test_named_groups_are_those_of_filtered_ports_rules() -> None:
    remote = RuleSpec("ingress", "IPv4", remote_group_id=WEB)
    specs = [_spec(remote), _spec(RuleSpec("egress", "IPv4"))]
    assert named_groups(specs, filtering=True) == {WEB}
    assert named_groups(specs, filtering=False) == set()
    assert named_groups([_spec(remote, security=False)], filtering=True) == set()


def test_a_port_info_carries_its_groups_rules_into_the_spec() -> None:
    rule = {"direction": "ingress", "ethertype": "IPv6", "protocol": "tcp",
            "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": None,
            "remote_group_id": WEB}
    info: PortInfo = {
        "id": str(uuid.uuid4()), "network_id": "n", "host": "h", "status": "DOWN",
        "mac_address": "fa:16:3e:00:00:07", "admin_state_up": True, "device_owner": "",
        "device_id": "", "fixed_ips": [], "security_groups": [DB, WEB],
        "security_group_rules": {DB: [rule], WEB: []},  # type: ignore[list-item]
        "port_security_enabled": True, "allowed_address_pairs": [],
        "network": {"id": "n", "network_type": "vxlan", "segmentation_id": 7,
                    "physical_network": None, "mtu": 1450, "admin_state_up": True}}
    spec = port_spec(info)
    assert [group.group_id for group in spec.security_groups] == sorted([DB, WEB])
    (db,) = [group for group in spec.security_groups if group.group_id == DB]
    assert db.rules == (RuleSpec("ingress", "IPv6", "tcp", 22, 22, remote_group_id=WEB),)
    assert spec.remote_group_ids == {WEB}
    changed = port_spec({**info, "security_group_rules": {DB: [], WEB: []}})
    assert changed != spec                  # a rule change makes the agent re-wire


class FakeServer:
    def __init__(self, members: dict[str, MembersInfo]) -> None:
        self.members = members
        self.asked: list[list[str]] = []

    async def group_members(self, group_ids: list[str]) -> dict[str, MembersInfo]:
        self.asked.append(list(group_ids))
        return {gid: self.members.get(gid, {"v4": [], "v6": []}) for gid in group_ids}


async def test_a_pass_sets_members_and_removes_a_group_nothing_names() -> None:
    host = FakeNetworkHost("h")
    driver = FakeNetworkDriver(host)
    server = FakeServer({WEB: {"v4": ["10.0.0.7"], "v6": []}})
    controller = GroupController(driver=driver, server=server)  # type: ignore[arg-type]
    spec = _spec(RuleSpec("ingress", "IPv4", remote_group_id=WEB))
    await driver.ensure_network(spec.network)
    await driver.wire_port(spec)
    assert await controller.reconcile(WEB) is None
    assert host.group_sets[WEB] == (["10.0.0.7/32"], [])
    assert WEB in controller.set_here
    assert [item.key for item in await controller.survey() if controller.differs(item)] == []

    await driver.set_group_members(DB, ["10.0.0.9"], [])      # left by an earlier agent
    assert {item.key for item in await controller.survey() if controller.differs(item)} \
        == {DB}
    await controller.reconcile(DB)
    assert DB not in host.group_sets

    await driver.wire_port(replace(spec, security_groups=()))   # no rule names WEB now
    await controller.reconcile(WEB)
    assert host.group_sets == {}


async def test_a_group_a_port_still_names_is_retried_not_forced() -> None:
    host = FakeNetworkHost("h")
    driver = FakeNetworkDriver(host)
    controller = GroupController(driver=driver, server=FakeServer({}))  # type: ignore[arg-type]
    spec = _spec(RuleSpec("ingress", "IPv4", remote_group_id=WEB))
    await driver.ensure_network(spec.network)
    await driver.wire_port(spec)
    outcome = await controller.apply(WEB, GroupStep.REMOVE, None, Members.of([], []))
    assert isinstance(outcome, Retry)
    assert WEB in host.group_sets
