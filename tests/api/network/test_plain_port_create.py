"""Decision 104: a port create (``POST /v2.0/ports``) runs on a plain write
(``Database.plain_write()``): every statement Core, no ORM session opened, its port an
object of no session. A bound port's blocks are set with the statements a new row needs
(no lock of the row, no delete of blocks it cannot have, no rewrite of its DOWN status),
and pairs without a MAC take the drawn MAC in the port's insert (no update after it).
What the create answers and leaves in the database stays the same."""

from __future__ import annotations

import traceback
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from helpers.inprocess import ServiceClient
from helpers.network import make, make_subnet_row
from helpers.network_statements import drawn_once, rows, statements
from ownstack.common.db.database import Database
from ownstack.network.objects.models import Port, PortSecurityGroup, ProvisioningBlock


async def _dhcp_agent(network: ServiceClient) -> None:
    """An agent of host-a serving DHCP, as its first heartbeat registers it."""
    await network.app.svc.bus.call("network", "report_agent", {
        "host": "host-a", "agent_type": "Linux bridge agent",
        "binary": "neutron-linuxbridge-agent", "topic": "network.host-a",
        "availability_zone": "nova", "start_flag": True, "configurations": {
            "driver": "fake", "capabilities": {"supports_dhcp": True,
                                               "supports_routers": False}}})


async def _server_port(network: ServiceClient, network_id: str) -> dict[str, Any]:
    r = await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": network_id, "binding:host_id": "host-a",
        "device_owner": "compute:nova", "device_id": str(uuid.uuid4())}})
    return dict(r.json()["port"])


async def test_a_port_create_opens_a_plain_write_and_no_session(
        network: ServiceClient, monkeypatch: pytest.MonkeyPatch) -> None:
    net = (await network.call("POST", "/v2.0/networks", expect=201,
                              json={"network": {"name": "n"}})).json()["network"]
    await network.call("POST", "/v2.0/subnets", expect=201, json={"subnet": {
        "network_id": net["id"], "ip_version": 4, "cidr": "10.6.0.0/24"}})
    opened: list[str] = []
    kinds = ("read", "write", "plain_read", "plain_write")
    real = {kind: getattr(Database, kind) for kind in kinds}

    def opener(kind: str) -> Any:
        def open_(db: Any) -> Any:
            if any(frame.name == "create_port" for frame in traceback.extract_stack()):
                opened.append(kind)
            return real[kind](db)
        return open_

    for kind in kinds:
        monkeypatch.setattr(Database, kind, opener(kind))
    # The project's first port (its default group made with it), then a second.
    first = (await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net["id"], "name": "a"}})).json()["port"]
    second = (await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net["id"]}})).json()["port"]
    monkeypatch.undo()
    assert opened == ["plain_write", "plain_write"], opened
    shown = (await network.call("GET", f"/v2.0/ports/{first['id']}")).json()["port"]
    assert shown == first
    assert second["security_groups"] == first["security_groups"]
    (group,) = first["security_groups"]
    assert len(await rows(network, sa.select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id == group))) == 2
    rules = (await network.call("GET", f"/v2.0/security-groups/{group}")
             ).json()["security_group"]["security_group_rules"]
    assert len(rules) == 4


async def test_a_bound_port_create_sets_its_blocks_alone(network: ServiceClient) -> None:
    await _dhcp_agent(network)
    net = await make(network, "network", name="n")
    await make_subnet_row(network, net["id"], "10.0.0.0/24", enable_dhcp=True)
    await _server_port(network, net["id"])            # the default group made
    async with statements(network) as sent:
        port = await _server_port(network, net["id"])
    assert port["status"] == "DOWN" and port["binding:host_id"] == "host-a"
    blocks = await rows(network, sa.select(ProvisioningBlock.entity).where(
        ProvisioningBlock.port_id == port["id"]))
    assert sorted(entity for (entity,) in blocks) == ["DHCP", "L2"]
    # The network and the rest; the port, its address, its group; the L2 block; whether
    # DHCP serves the network and the port has an address there; the DHCP block; the
    # nudge lookup. No lock of the new row, no delete of blocks, no update of its status,
    # no read of its network again.
    assert len(drawn_once(sent)) == 9, sent
    assert not any(s.lstrip().upper().startswith(("UPDATE", "DELETE")) for s in sent), sent
    assert not any("FOR UPDATE" in s for s in sent), sent
    shown = (await network.call("GET", f"/v2.0/ports/{port['id']}")).json()["port"]
    assert shown == port


async def test_pairs_without_a_mac_take_the_ports_in_its_insert(network: ServiceClient
                                                                ) -> None:
    net = (await network.call("POST", "/v2.0/networks", expect=201,
                              json={"network": {"name": "n"}})).json()["network"]
    await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net["id"]}})                  # the default group made
    async with statements(network) as sent:
        port = (await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
            "network_id": net["id"], "allowed_address_pairs": [
                {"ip_address": "10.0.0.100"}]}})).json()["port"]
    assert port["allowed_address_pairs"] == [
        {"ip_address": "10.0.0.100", "mac_address": port["mac_address"]}]
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in sent), sent
    (stored,) = await rows(network, sa.select(Port.allowed_address_pairs).where(
        Port.id == port["id"]))
    assert stored[0] == port["allowed_address_pairs"]
