"""The network driver contract: every network driver passes this same suite.

:class:`NetworkDriverContract` holds the suite; a driver's test module subclasses it and
gives it a fixture ``h``: a :class:`NetworkHarness` over that driver on a clean host.
tests/unit/network/drivers/test_driver_contract.py runs it over the fake driver and over the
Linux driver, the latter inside a network namespace the test makes.

A harness holds a driver and the things only a driver's own test harness can do: restart
the agent (a new driver on the same host), and act behind the driver's back: remove a
port's tap (an operator's ``ip link del``), or make one of its name off any bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

import pytest

from ownstack.network.drivers import naming
from ownstack.network.drivers.base import (
    ACTIVE,
    DOWN,
    AddressPair,
    Capability,
    DhcpHost,
    DhcpSpec,
    DhcpSubnet,
    DriverError,
    FixedIp,
    NetworkDriver,
    NetworkMissing,
    NetworkSpec,
    PortNotWired,
    PortSpec,
    SecurityGroupSpec,
)
from ownstack.network.sg_rules import RuleSpec


@dataclass
class NetworkHarness:
    driver: NetworkDriver
    restart: Callable[[], Awaitable[NetworkDriver]]   # close the driver, return a new one
    add_tap: Callable[[str], Awaitable[None]]       # behind its back: a tap, on no bridge
    remove_tap: Callable[[str], Awaitable[None]]    # behind its back: the tap is removed
    event_timeout: float = 2.0


def a_network(segmentation_id: int = 1001, mtu: int = 1450) -> NetworkSpec:
    return NetworkSpec(network_id=str(uuid.uuid4()), network_type="vxlan",
                       segmentation_id=segmentation_id, mtu=mtu)


def a_port(network: NetworkSpec, **changes: object) -> PortSpec:
    port_id = str(uuid.uuid4())
    spec = PortSpec(port_id=port_id, network=network, mac_address="fa:16:3e:00:00:01",
                    fixed_ips=(FixedIp(str(uuid.uuid4()), "10.0.0.5"),),
                    security_group_ids=(str(uuid.uuid4()),),
                    allowed_address_pairs=(AddressPair("10.0.0.99", "fa:16:3e:00:00:01"),),
                    device_owner="compute:nova", device_id=str(uuid.uuid4()))
    return replace(spec, **changes)  # type: ignore[arg-type]


async def plugged(h: NetworkHarness, network: NetworkSpec, **changes: object) -> PortSpec:
    """A port wired on its ensured network."""
    await h.driver.ensure_network(network)
    spec = a_port(network, **changes)
    await h.driver.wire_port(spec)
    return spec


class Events:
    """A driver's events, read by a task of their own (a timed-out wait must not cancel the
    driver's iterator, as ``wait_for(anext(...))`` would)."""

    def __init__(self, events: AsyncIterator[str]) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._pump(events))

    async def _pump(self, events: AsyncIterator[str]) -> None:
        async for port_id in events:
            self.queue.put_nowait(port_id)

    async def next(self, timeout: float) -> str:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def quiet(self, settle: float = 0.3) -> None:
        """Drop the events already under way (those of the driver's own changes) until
        none comes for ``settle`` seconds."""
        while True:
            try:
                await asyncio.wait_for(self.queue.get(), settle)
            except TimeoutError:
                return

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def a_dhcp_spec(network: NetworkSpec, *hosts: DhcpHost) -> DhcpSpec:
    subnet = DhcpSubnet(str(uuid.uuid4()), "10.0.0.0/24", 4, gateway_ip="10.0.0.1")
    return DhcpSpec(network, str(uuid.uuid4()), "fa:16:3e:00:00:02",
                    (FixedIp(subnet.subnet_id, "10.0.0.2"),), (subnet,), hosts)


def a_dhcp_host(spec: DhcpSpec, n: int) -> DhcpHost:
    return DhcpHost(str(uuid.uuid4()), f"fa:16:3e:00:01:{n:02x}",
                    (FixedIp(spec.subnets[0].subnet_id, f"10.0.0.{n}"),), f"host-10-0-0-{n}")


def needs_dhcp(h: NetworkHarness) -> None:
    """Every driver under the contract runs DHCP servers (fake and Linux)."""
    assert h.driver.capabilities[Capability.DHCP.value] is True


class NetworkDriverContract:
    """The suite. Subclasses named ``Test...`` are collected, with a fixture ``h``."""

    # --- the interface as data ----------------------------------------------------------

    async def test_driver_satisfies_the_protocol(self, h: NetworkHarness) -> None:
        assert isinstance(h.driver, NetworkDriver)

    async def test_capabilities_are_a_dict_of_bools_naming_every_capability(
            self, h: NetworkHarness) -> None:
        caps = h.driver.capabilities
        assert set(caps) == {c.value for c in Capability}
        assert all(isinstance(value, bool) for value in caps.values())

    # --- networks -----------------------------------------------------------------------

    async def test_ensure_network_is_idempotent_and_listed(self, h: NetworkHarness) -> None:
        network = a_network()
        first = await h.driver.ensure_network(network)
        again = await h.driver.ensure_network(network)
        assert first.spec == again.spec == network
        assert [n.spec for n in await h.driver.networks()] == [network]
        assert network.bridge == naming.bridge_name(network.network_id)

    async def test_ensure_network_brings_an_existing_one_to_its_spec_keeping_ports(
            self, h: NetworkHarness) -> None:
        network = a_network(mtu=1450)
        spec = await plugged(h, network)
        bigger = replace(network, mtu=1400)
        await h.driver.ensure_network(bigger)
        assert [n.spec.mtu for n in await h.driver.networks()] == [1400]
        assert [(p.port_id, p.attached) for p in await h.driver.wired_ports()] == \
            [(spec.port_id, True)]

    async def test_remove_network_unwires_its_ports_and_succeeds_when_gone(
            self, h: NetworkHarness) -> None:
        network, other = a_network(), a_network(1002)
        await plugged(h, network)
        kept = await plugged(h, other)
        await h.driver.remove_network(network.network_id)
        await h.driver.remove_network(network.network_id)
        await h.driver.remove_network(str(uuid.uuid4()))
        assert [n.spec for n in await h.driver.networks()] == [other]
        assert [p.port_id for p in await h.driver.wired_ports()] == [kept.port_id]

    # --- ports --------------------------------------------------------------------------

    async def test_a_port_with_its_tap_is_attached_and_active(self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        (wired,) = await h.driver.wired_ports()
        assert wired.spec == spec and wired.attached and wired.status == ACTIVE
        details = await h.driver.describe_port(spec.port_id)
        assert details["tap"] == naming.tap_name(spec.port_id) == spec.tap
        assert details["bridge"] == spec.bridge
        assert len(spec.tap) <= naming.MAX_DEVICE_NAME >= len(spec.bridge)

    async def test_wire_port_is_idempotent(self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        again = await h.driver.wire_port(spec)
        assert again.spec == spec and again.attached
        assert len(await h.driver.wired_ports()) == 1

    async def test_wire_port_applies_a_new_spec(self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        changed = replace(spec, security_group_ids=(), admin_state_up=False)
        wired = await h.driver.wire_port(changed)
        assert wired.spec == changed and wired.status == DOWN      # administratively down
        assert [p.spec for p in await h.driver.wired_ports()] == [changed]

    async def test_wire_port_needs_its_network(self, h: NetworkHarness) -> None:
        spec = a_port(a_network())
        with pytest.raises(NetworkMissing):
            await h.driver.wire_port(spec)
        assert await h.driver.wired_ports() == []

    async def test_wire_port_makes_the_tap_on_its_bridge(self, h: NetworkHarness) -> None:
        network = a_network()
        await h.driver.ensure_network(network)
        spec = a_port(network)
        wired = await h.driver.wire_port(spec)
        assert wired.attached and wired.tap_exists and wired.status == ACTIVE
        (info,) = await h.driver.networks()
        assert info.details["taps"] == [spec.tap]

    async def test_a_port_moved_to_another_network_leaves_the_old_bridge(
            self, h: NetworkHarness) -> None:
        first, second = a_network(), a_network(1002)
        spec = await plugged(h, first)
        await h.driver.ensure_network(second)
        moved = await h.driver.wire_port(replace(spec, network=second))
        assert moved.attached and moved.spec.network == second
        taps = {n.spec.network_id: n.details["taps"] for n in await h.driver.networks()}
        assert taps == {first.network_id: [], second.network_id: [spec.tap]}

    async def test_a_tap_removed_behind_the_drivers_back_is_reported_and_wired_again(
            self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        await h.remove_tap(spec.port_id)
        (wired,) = await h.driver.wired_ports()
        assert not wired.tap_exists and not wired.attached and wired.status == DOWN
        assert (await h.driver.wire_port(spec)).attached
        (wired,) = await h.driver.wired_ports()
        assert wired.tap_exists and wired.attached and wired.status == ACTIVE

    async def test_an_administratively_down_port_is_wired_and_down(
            self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network(), admin_state_up=False)
        (wired,) = await h.driver.wired_ports()
        assert wired.spec == spec and wired.tap_exists and wired.status == DOWN

    async def test_unwire_port_succeeds_when_not_wired(self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        await h.driver.unwire_port(spec.port_id)
        await h.driver.unwire_port(spec.port_id)
        await h.driver.unwire_port(str(uuid.uuid4()))
        assert await h.driver.wired_ports() == []
        with pytest.raises(PortNotWired):
            await h.driver.describe_port(spec.port_id)

    async def test_a_tap_vanishing_and_appearing_is_an_event(self, h: NetworkHarness) -> None:
        spec = await plugged(h, a_network())
        events = Events(h.driver.events())
        try:
            await events.quiet()
            await h.remove_tap(spec.port_id)
            assert await events.next(h.event_timeout) == spec.port_id
            (wired,) = await h.driver.wired_ports()
            assert not wired.tap_exists and not wired.attached and wired.status == DOWN
            await events.quiet()
            await h.add_tap(spec.port_id)
            assert await events.next(h.event_timeout) == spec.port_id
            (found,) = await h.driver.wired_ports()
            assert found.tap_exists and not found.attached
            # Wired again (the agent's pass after the event), the port is attached.
            assert (await h.driver.wire_port(spec)).attached
        finally:
            await events.close()

    async def test_events_end_when_the_driver_closes(self, h: NetworkHarness) -> None:
        events = h.driver.events()
        await h.restart()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(anext(events), h.event_timeout)

    # --- security groups ----------------------------------------------------------------

    async def test_a_rule_change_rewires_the_port(self, h: NetworkHarness) -> None:
        group = str(uuid.uuid4())
        spec = await plugged(h, a_network(), security_group_ids=(group,),
                             security_groups=(SecurityGroupSpec(group, (
                                 RuleSpec("egress", "IPv4"),)),))
        changed = replace(spec, security_groups=(SecurityGroupSpec(group, (
            RuleSpec("egress", "IPv4"), RuleSpec("ingress", "IPv4", "tcp", 22, 22))),))
        assert changed != spec
        assert (await h.driver.wire_port(changed)).spec == changed
        assert [p.spec for p in await h.driver.wired_ports()] == [changed]

    async def test_group_members_are_set_whole_and_listed(self, h: NetworkHarness) -> None:
        group = str(uuid.uuid4())
        await h.driver.set_group_members(group, ["10.0.0.5", "10.0.0.6"], ["fd00::5"])
        await h.driver.set_group_members(group, ["10.0.0.5", "10.0.0.6"], ["fd00::5"])
        assert await h.driver.group_members() == {group: (["10.0.0.5", "10.0.0.6"],
                                                          ["fd00::5"])}
        await h.driver.set_group_members(group, ["10.0.0.7"], [])
        assert await h.driver.group_members() == {group: (["10.0.0.7"], [])}

    async def test_a_remote_group_is_kept_while_a_port_matches_it(
            self, h: NetworkHarness) -> None:
        own, remote = str(uuid.uuid4()), str(uuid.uuid4())
        spec = await plugged(h, a_network(), security_group_ids=(own,),
                             security_groups=(SecurityGroupSpec(own, (
                                 RuleSpec("ingress", "IPv4", remote_group_id=remote),)),))
        assert await h.driver.group_members() == {remote: ([], [])}   # made, empty
        with pytest.raises(DriverError):
            await h.driver.remove_group(remote)
        await h.driver.unwire_port(spec.port_id)
        await h.driver.remove_group(remote)
        await h.driver.remove_group(remote)
        assert await h.driver.group_members() == {}

    # --- restarts -----------------------------------------------------------------------

    async def test_a_new_driver_adopts_networks_and_ports(self, h: NetworkHarness) -> None:
        network = a_network()
        spec = await plugged(h, network)
        driver = await h.restart()
        await driver.init_host()
        assert [n.spec for n in await driver.networks()] == [network]
        assert [(p.spec, p.attached) for p in await driver.wired_ports()] == [(spec, True)]
        assert (await driver.wire_port(spec)).attached        # adopted, not made again
        await driver.unwire_port(spec.port_id)
        assert await driver.wired_ports() == []

    async def test_a_new_driver_adopts_group_members(self, h: NetworkHarness) -> None:
        group = str(uuid.uuid4())
        await h.driver.set_group_members(group, ["10.0.0.5"], [])
        driver = await h.restart()
        await driver.init_host()
        assert await driver.group_members() == {group: (["10.0.0.5"], [])}



    # --- DHCP (drivers with Capability.DHCP) ----------------------------------------------

    async def test_ensure_dhcp_needs_its_network(self, h: NetworkHarness) -> None:
        needs_dhcp(h)
        with pytest.raises(NetworkMissing):
            await h.driver.ensure_dhcp(a_dhcp_spec(a_network()))

    async def test_ensure_dhcp_runs_a_server_listed_and_described(
            self, h: NetworkHarness) -> None:
        needs_dhcp(h)
        network = a_network()
        await h.driver.ensure_network(network)
        spec = a_dhcp_spec(network)
        spec = replace(spec, hosts=(a_dhcp_host(spec, 5),))

        server = await h.driver.ensure_dhcp(spec)
        again = await h.driver.ensure_dhcp(spec)

        assert server.running and server.spec == spec and again.pid == server.pid
        assert await h.driver.dhcp_servers() == [again]
        described = await h.driver.describe_dhcp(network.network_id)
        assert described is not None
        assert described["namespace"] == f"qdhcp-{network.network_id}"
        assert await h.driver.describe_dhcp(str(uuid.uuid4())) is None

    async def test_new_hosts_keep_the_server_new_subnets_restart_it(
            self, h: NetworkHarness) -> None:
        needs_dhcp(h)
        network = a_network()
        await h.driver.ensure_network(network)
        spec = a_dhcp_spec(network)
        first = await h.driver.ensure_dhcp(spec)

        hosts = await h.driver.ensure_dhcp(replace(spec, hosts=(a_dhcp_host(spec, 7),)))
        other = DhcpSubnet(str(uuid.uuid4()), "10.1.0.0/24", 4)
        subnets = await h.driver.ensure_dhcp(replace(spec, subnets=(*spec.subnets, other)))

        assert hosts.pid == first.pid
        assert subnets.pid != first.pid and subnets.running
        # Listed as serving what it was last given (loaded, for the agent to report).
        assert await h.driver.dhcp_servers() == [subnets]

    async def test_remove_dhcp_removes_it_and_succeeds_when_gone(
            self, h: NetworkHarness) -> None:
        needs_dhcp(h)
        network = a_network()
        await h.driver.ensure_network(network)
        await h.driver.ensure_dhcp(a_dhcp_spec(network))

        await h.driver.remove_dhcp(network.network_id)
        await h.driver.remove_dhcp(network.network_id)

        assert await h.driver.dhcp_servers() == []
        assert await h.driver.describe_dhcp(network.network_id) is None

    async def test_a_new_driver_adopts_a_running_dhcp_server(self, h: NetworkHarness) -> None:
        needs_dhcp(h)
        network = a_network()
        await h.driver.ensure_network(network)
        spec = a_dhcp_spec(network)
        server = await h.driver.ensure_dhcp(spec)

        driver = await h.restart()
        await driver.init_host()

        assert await driver.dhcp_servers() == [server]
        assert (await driver.ensure_dhcp(spec)).pid == server.pid
