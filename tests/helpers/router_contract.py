"""The router part of the network driver contract: every driver with the routers
capability passes this suite (the fake here, the Linux driver inside namespaces of its own).
A driver's test module subclasses :class:`RouterDriverContract` and gives it the same ``h``
fixture as :class:`helpers.network_driver_contract.NetworkDriverContract`."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from helpers.network_driver_contract import NetworkHarness, a_network
from ownstack.network.drivers.base import (
    Capability,
    DriverError,
    ExtraRoute,
    FloatingIpSpec,
    NetworkSpec,
    RouterAddress,
    RouterGateway,
    RouterLeg,
    RouterSpec,
)


def a_leg(network: NetworkSpec, address: str, prefixlen: int = 24, mac: str = "fa:16:3e:00:01:01"
          ) -> RouterLeg:
    return RouterLeg(port_id=str(uuid.uuid4()), mac_address=mac, bridge=network.bridge,
                     addresses=(RouterAddress(address, prefixlen),), mtu=network.mtu,
                     network_id=network.network_id)


def a_router(internal: NetworkSpec, external: NetworkSpec) -> RouterSpec:
    return RouterSpec(
        router_id=str(uuid.uuid4()),
        interfaces=(a_leg(internal, "10.0.0.1"),),
        gateway=RouterGateway(a_leg(external, "172.24.4.10", mac="fa:16:3e:00:01:02"),
                              next_hops=("172.24.4.1",)),
        routes=(ExtraRoute("192.168.50.0/24", "10.0.0.254"),),
        floating_ips=(FloatingIpSpec("172.24.4.20", "10.0.0.5"),))


class RouterDriverContract:
    """Routers on a driver that reports :attr:`Capability.ROUTERS`."""

    async def _networks(self, h: NetworkHarness) -> tuple[NetworkSpec, NetworkSpec]:
        internal = a_network(segmentation_id=2001)
        external = replace(a_network(segmentation_id=2002), network_type="vxlan", mtu=1500)
        await h.driver.ensure_network(internal)
        await h.driver.ensure_network(external)
        return internal, external

    async def test_the_driver_reports_routers(self, h: NetworkHarness) -> None:
        assert h.driver.capabilities[Capability.ROUTERS.value] is True

    async def test_ensure_router_is_idempotent_and_listed(self, h: NetworkHarness) -> None:
        spec = a_router(*await self._networks(h))
        await h.driver.ensure_router(spec)
        await h.driver.ensure_router(spec)
        assert await h.driver.routers() == [spec]
        described = await h.driver.describe_router(spec.router_id)
        assert isinstance(described, dict) and described

    async def test_ensure_router_applies_a_new_spec(self, h: NetworkHarness) -> None:
        internal, external = await self._networks(h)
        spec = a_router(internal, external)
        await h.driver.ensure_router(spec)
        smaller = replace(spec, floating_ips=(), routes=())
        await h.driver.ensure_router(smaller)
        assert await h.driver.routers() == [smaller]
        without_gateway = replace(smaller, gateway=None)
        await h.driver.ensure_router(without_gateway)
        assert await h.driver.routers() == [without_gateway]

    async def test_a_leg_needs_its_network_on_the_host(self, h: NetworkHarness) -> None:
        internal, external = await self._networks(h)
        elsewhere = a_network(segmentation_id=2003)          # never ensured
        spec = replace(a_router(internal, external),
                       interfaces=(a_leg(elsewhere, "10.1.0.1"),), routes=())
        with pytest.raises(DriverError):
            await h.driver.ensure_router(spec)

    async def test_remove_router_succeeds_when_gone(self, h: NetworkHarness) -> None:
        spec = a_router(*await self._networks(h))
        await h.driver.ensure_router(spec)
        await h.driver.remove_router(spec.router_id)
        await h.driver.remove_router(spec.router_id)
        assert await h.driver.routers() == []
        with pytest.raises(DriverError):
            await h.driver.describe_router(spec.router_id)

    async def test_a_new_driver_adopts_routers(self, h: NetworkHarness) -> None:
        spec = a_router(*await self._networks(h))
        await h.driver.ensure_router(spec)
        driver = await h.restart()
        await driver.init_host()
        assert await driver.routers() == [spec]
