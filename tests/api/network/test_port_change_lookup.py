"""What a port change nudges, read in one statement (``dhcp.port_change_lookup``): the
hosts holding members of the port's groups, and the network's DHCP host or the ports
waiting for one; the same answers as the lookups it stands for, and read from the bound
ports and the provisioning blocks, never from every port of the network."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event

from helpers.inprocess import ServiceClient
from ownstack.common.db.base import utcnow
from ownstack.network.objects import dhcp, sg_members
from ownstack.network.objects.inserts import insert_row
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    Network,
    NetworkAgent,
    Port,
    PortSecurityGroup,
    ProvisioningBlock,
    SecurityGroup,
    SecurityGroupRule,
)


async def _cloud(network: ServiceClient) -> dict[str, str]:
    """A network; group ``named`` and group ``naming``, whose rule names ``named`` as its
    remote group; port ``bound`` on host h1 in ``naming``, waiting for DHCP; unbound
    ports in ``named``."""
    ids = {"net": str(uuid.uuid4()), "named": str(uuid.uuid4()), "naming": str(uuid.uuid4())}
    async with network.app.svc.write() as db:
        db.add(Network(id=ids["net"], project_id="p", mtu=1450, network_type="vxlan",
                       segmentation_id=77))
        for name in ("named", "naming"):
            db.add(SecurityGroup(id=ids[name], project_id="p", name=name))
        await db.flush()
        db.add(SecurityGroupRule(id=str(uuid.uuid4()), project_id="p",
                                 security_group_id=ids["naming"],
                                 remote_group_id=ids["named"], direction="ingress",
                                 ethertype="IPv4"))
        for index in range(20):
            fields: dict[str, Any] = {
                "id": f"unbound-{index:02}", "project_id": "p", "network_id": ids["net"],
                "mac_address": f"fa:16:3e:00:00:{index:02x}"}
            if index == 0:
                fields.update(id="bound", binding_host_id="h1")
            row = await insert_row(db, Port, fields)
            assert row is not None and row.status == "DOWN" and row.revision_number == 1
        await db.flush()
        db.add(PortSecurityGroup(port_id="bound", security_group_id=ids["naming"]))
        for index in range(1, 20):
            db.add(PortSecurityGroup(port_id=f"unbound-{index:02}",
                                     security_group_id=ids["named"]))
        db.add(ProvisioningBlock(port_id="bound", entity="DHCP", created_at=utcnow()))
    return ids


async def _lookups(network: ServiceClient, groups: set[str], network_id: str
                   ) -> tuple[Any, Any, Any]:
    async with network.app.svc.db.read() as db:
        return (await dhcp.port_change_lookup(db, groups, network_id),
                await sg_members.hosts_matching_groups(db, groups),
                await dhcp.serving_or_waiting(db, network_id))


async def test_one_statement_answers_as_the_lookups_it_stands_for(
        network: ServiceClient) -> None:
    ids = await _cloud(network)
    combined, hosts, dhcp_state = await _lookups(network, {ids["named"]}, ids["net"])
    assert combined == ({"h1"}, None, ["bound"])
    assert combined == (hosts, *dhcp_state)
    # A group no rule names concerns no host; the DHCP answer stays.
    assert (await _lookups(network, {ids["naming"]}, ids["net"]))[0] == (
        set(), None, ["bound"])
    # Once an agent serves the network, its host is the answer and nobody waits.
    agent_id = str(uuid.uuid4())
    async with network.app.svc.write() as db:
        db.add(NetworkAgent(id=agent_id, agent_type="DHCP agent", host="h9",
                            binary="ownstack", topic="dhcp"))
        await db.flush()
        db.add(DhcpAgentBinding(network_id=ids["net"], agent_id=agent_id))
    combined, hosts, dhcp_state = await _lookups(network, {ids["named"]}, ids["net"])
    assert combined == ({"h1"}, "h9", []) == (hosts, *dhcp_state)


async def test_more_groups_than_one_statement_holds_take_the_lookups(
        network: ServiceClient) -> None:
    ids = await _cloud(network)
    many = {ids["named"], *(str(uuid.uuid4()) for _ in range(sg_members.CHUNK))}
    combined, hosts, dhcp_state = await _lookups(network, many, ids["net"])
    assert combined == ({"h1"}, None, ["bound"]) == (hosts, *dhcp_state)


async def test_the_lookups_start_from_bound_ports_and_blocks_not_every_port(
        network: ServiceClient) -> None:
    """SQLite's plans: the bound ports by the binding_host_id index, the blocks by a scan
    of the (few) blocks; the network's ports and the groups' members only probed by
    primary key, never scanned."""
    ids = await _cloud(network)
    engine = network.app.svc.db.engine.sync_engine
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        await _lookups(network, {ids["named"]}, ids["net"])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(sent) == 3           # the combined statement, then the two it stands for
    async with network.app.svc.db.read() as db:
        connection = await db.connection()
        for statement, parameters in sent:
            if "binding_host_id" not in statement:
                continue            # serving_or_waiting alone: blocks only
            plan = [row[3] for row in await connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)]
            assert any("ix_network_ports_binding_host_id" in step for step in plan), plan
            assert not any(step.startswith("SCAN network_ports") for step in plan), plan
            assert not any("ix_network_port_security_groups_security_group_id" in step
                           for step in plan), plan
