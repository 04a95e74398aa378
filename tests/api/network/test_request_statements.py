"""The statements the busiest network requests send (decision 79): each read or write
they need, no more, and what their deletes leave to the foreign keys' ``ON DELETE
CASCADE`` really gone with the row."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event, orm

from helpers.inprocess import ServiceClient
from helpers.l3 import external_network, private_subnet, router, set_router
from helpers.network_statements import rows, statements
from ownstack.common.db.core import run
from ownstack.network.objects.models import (
    FloatingIP,
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    RouterPort,
    Subnet,
    Tag,
)


@asynccontextmanager
async def orm_flushes() -> AsyncIterator[list[Any]]:
    """The ORM flushes (its unit of work, with something to write) the block makes."""
    made: list[Any] = []

    def record(session: Any, context: Any, instances: Any) -> None:
        if session.new or session.dirty or session.deleted:
            made.append([*session.new, *session.dirty, *session.deleted])

    event.listen(orm.Session, "before_flush", record)
    try:
        yield made
    finally:
        event.remove(orm.Session, "before_flush", record)


async def test_a_router_create_writes_the_router_and_reads_nothing_back(
        network: ServiceClient) -> None:
    await router(network, None, name="warm")    # the project's first use is not counted
    async with statements(network) as sent:
        made = await router(network, None, name="r")
    # The insert, which judges the quota (decision 85): a new router has no tags to read.
    assert len(sent) == 1, sent
    assert made["tags"] == [] and made["external_gateway_info"] is None
    assert made["revision_number"] == 1 and made["status"] == "ACTIVE"
    r = await network.call("GET", f"/v2.0/routers/{made['id']}", expect=200)
    assert r.json()["router"] == made


async def test_a_floating_ip_delete_takes_its_port_and_addresses_by_cascade(
        network: ServiceClient) -> None:
    public, _ = await external_network(network)
    fip = (await network.call("POST", "/v2.0/floatingips", expect=201, json={
        "floatingip": {"floating_network_id": public}})).json()["floatingip"]
    await network.call("PUT", f"/v2.0/floatingips/{fip['id']}/tags/t", expect=201)
    port_id = (await rows(network, sa.select(FloatingIP.floating_port_id).where(
        FloatingIP.id == fip["id"])))[0][0]
    async with statements(network) as sent:
        await network.call("DELETE", f"/v2.0/floatingips/{fip['id']}", expect=204)
    # The floating IP, the tags of both, the port.
    assert len(sent) == 3, sent
    assert await rows(network, sa.select(FloatingIP.id)) == []
    assert await rows(network, sa.select(Port.id).where(Port.id == port_id)) == []
    assert await rows(network, sa.select(IpAllocation.ip_address).where(
        IpAllocation.port_id == port_id)) == []
    # The address is free again: the next floating IP may take it.
    again = (await network.call("POST", "/v2.0/floatingips", expect=201, json={
        "floatingip": {"floating_network_id": public,
                       "floating_ip_address": fip["floating_ip_address"]}})).json()
    assert again["floatingip"]["floating_ip_address"] == fip["floating_ip_address"]
    assert (await network.call("GET", f"/v2.0/floatingips/{fip['id']}")).status_code == 404


async def test_a_port_delete_reads_once_and_leaves_no_address_or_membership(
        network: ServiceClient) -> None:
    net_id, subnet_id = await private_subnet(network, None, "10.7.0.0/24")
    made = []
    for _ in range(2):
        r = await network.call("POST", "/v2.0/ports", expect=201,
                               json={"port": {"network_id": net_id}})
        made.append(r.json()["port"])
    doomed = made[1]
    async with statements(network) as sent, orm_flushes() as flushes:
        await network.call("DELETE", f"/v2.0/ports/{doomed['id']}", expect=204)
    # The port with its network (and whether it has tags or floating IPs: neither, and
    # whether its change nudges anyone: no one, decision 85), its groups and addresses,
    # its row.
    assert len(sent) == 3, sent
    assert not any("network_tags" in s or "UPDATE network_floating_ips" in s
                   for s in sent[1:]), sent
    # The row goes by a Core DELETE (standard.delete_row), not the ORM's unit of work.
    assert flushes == []
    assert await rows(network, sa.select(Port.id).where(Port.id == doomed["id"])) == []
    assert await rows(network, sa.select(IpAllocation.ip_address).where(
        IpAllocation.port_id == doomed["id"])) == []
    assert await rows(network, sa.select(PortSecurityGroup.security_group_id).where(
        PortSecurityGroup.port_id == doomed["id"])) == []
    address = doomed["fixed_ips"][0]["ip_address"]
    r = await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net_id, "fixed_ips": [{"subnet_id": subnet_id, "ip_address": address}]}})
    assert r.json()["port"]["fixed_ips"][0]["ip_address"] == address
    # The port left standing is shown as before, by the one statement that reads a port
    # with its network.
    async with statements(network) as sent:
        shown = (await network.call("GET", f"/v2.0/ports/{made[0]['id']}", expect=200)
                 ).json()["port"]
    assert shown == made[0]
    assert sum("FROM network_ports JOIN network_networks" in s for s in sent) == 1, sent


async def test_a_port_delete_clears_the_tags_and_floating_ips_it_reads_it_has(
        network: ServiceClient) -> None:
    public, _ = await external_network(network)
    net_id, subnet_id = await private_subnet(network, None, "10.6.0.0/24")
    made = await router(network, None, external_gateway_info={"network_id": public})
    await network.call("PUT", f"/v2.0/routers/{made['id']}/add_router_interface",
                       expect=200, json={"subnet_id": subnet_id})
    tagged = (await network.call("POST", "/v2.0/ports", expect=201,
                                 json={"port": {"network_id": net_id}})).json()["port"]
    await network.call("PUT", f"/v2.0/ports/{tagged['id']}/tags/t", expect=201)
    fip = (await network.call("POST", "/v2.0/floatingips", expect=201, json={
        "floatingip": {"floating_network_id": public, "port_id": tagged["id"]}})
           ).json()["floatingip"]
    async with statements(network) as sent:
        await network.call("DELETE", f"/v2.0/ports/{tagged['id']}", expect=204)
    assert sum(s.startswith("DELETE FROM network_tags") for s in sent) == 1, sent
    assert sum(s.startswith("UPDATE network_floating_ips") for s in sent) == 1, sent
    assert await rows(network, sa.select(Tag.tag).where(Tag.resource_id == tagged["id"])) == []
    shown = (await network.call("GET", f"/v2.0/floatingips/{fip['id']}", expect=200)
             ).json()["floatingip"]
    assert shown["port_id"] is None and shown["fixed_ip_address"] is None
    assert shown["router_id"] is None


async def test_a_port_of_another_project_is_shown_and_deleted_as_before(
        network: ServiceClient) -> None:
    """The port and its network read together still hide a port the caller cannot see,
    and tell its network's owner that it is theirs to delete."""
    _, owner = await network.project_user_token()
    other_project, other = await network.project_user_token()
    net_id, _ = await private_subnet(network, owner, "10.8.0.0/24")
    r = await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net_id, "project_id": other_project["id"]}})
    port_id = r.json()["port"]["id"]
    _, stranger = await network.project_user_token()
    await network.call("GET", f"/v2.0/ports/{port_id}", token=stranger, expect=404)
    await network.call("DELETE", f"/v2.0/ports/{port_id}", token=stranger, expect=404)
    await network.call("GET", f"/v2.0/ports/{port_id}", token=other, expect=200)
    await network.call("DELETE", f"/v2.0/ports/{port_id}", token=owner, expect=204)


async def test_a_network_delete_takes_its_subnets_and_ports_by_cascade(
        network: ServiceClient) -> None:
    net_id, subnet_id = await private_subnet(network, None, "10.9.0.0/24")
    await network.call("PUT", f"/v2.0/subnets/{subnet_id}/tags/s", expect=201)
    await network.call("POST", "/v2.0/ports", expect=201, json={"port": {
        "network_id": net_id, "device_owner": "network:dhcp"}})
    async with statements(network) as sent, orm_flushes() as flushes:
        await network.call("DELETE", f"/v2.0/networks/{net_id}", expect=204)
    # The network, its DHCP host, a port in use, the tags, the RBAC
    # policies, its row.
    assert len(sent) == 6, sent
    assert flushes == []
    assert await rows(network, sa.select(Network.id).where(Network.id == net_id)) == []
    assert await rows(network, sa.select(Subnet.id).where(Subnet.network_id == net_id)) == []
    assert await rows(network, sa.select(Port.id).where(Port.network_id == net_id)) == []
    assert await rows(network, sa.select(IpAllocation.port_id).where(
        IpAllocation.subnet_id == subnet_id)) == []
    r = await network.call("GET", "/v2.0/subnets", params={"tags": "s"}, expect=200)
    assert r.json()["subnets"] == []


async def test_a_router_delete_takes_its_gateway_and_nudges_only_the_host_it_had(
        network: ServiceClient) -> None:
    public, _ = await external_network(network)
    made = await router(network, None, external_gateway_info={"network_id": public})
    gateway = (await rows(network, sa.select(RouterPort.port_id).where(
        RouterPort.router_id == made["id"])))[0][0]
    casts: list[tuple[str, str, Any]] = []

    async def cast(topic: str, method: str, payload: Any) -> None:
        casts.append((topic, method, payload))

    network.app.svc.rpc.bus.cast = cast
    async with statements(network) as sent, orm_flushes() as flushes:
        await network.call("DELETE", f"/v2.0/routers/{made['id']}", expect=204)
    # The host is looked up once, in the transaction: a deleted router has none after.
    lookups = [s for s in sent if "FROM network_ports JOIN network_router_ports" in s]
    assert len(lookups) == 1, sent
    # The row goes by a Core DELETE (standard.delete_row): the only ORM flush is the
    # gateway's clearing, written before its port goes.
    assert sum(s.startswith("DELETE FROM network_routers") for s in sent) == 1, sent
    assert len(flushes) == 1, flushes
    assert await rows(network, sa.select(Router.id).where(Router.id == made["id"])) == []
    assert await rows(network, sa.select(Port.id).where(Port.id == gateway)) == []
    assert casts == []          # no agent hosted it
    await network.app.svc.rpc.router_gone("r-1", "host-a")
    await network.app.svc.rpc.router_gone("r-2", "")
    assert [(method, payload) for _, method, payload in casts] == [
        ("router_changed", {"router_id": "r-1"})]
    assert "host-a" in casts[0][0]


async def test_a_subnet_create_reads_its_network_with_the_quota(
        network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    await network.call("PUT", f"/v2.0/quotas/{project['id']}", expect=200,
                       json={"quota": {"subnet": 1}})
    nets = []
    for _ in range(2):
        r = await network.call("POST", "/v2.0/networks", token=token, expect=201,
                               json={"network": {"name": "n"}})
        nets.append(r.json()["network"]["id"])
    async with statements(network) as sent:
        await network.call("POST", "/v2.0/subnets", token=token, expect=201, json={"subnet": {
            "network_id": nets[0], "ip_version": 4, "cidr": "10.10.0.0/24"}})
    assert not any(s.startswith("SELECT (SELECT network_quotas") for s in sent), sent
    # The network's subnets are read once, with the network (decision 85), for the overlap
    # check and the DHCP scheduling.
    assert sum("network_subnets.network_id = network_networks.id" in s
               for s in sent) == 1, sent
    assert not any(s.startswith("SELECT network_subnets") for s in sent), sent
    r = await network.call("POST", "/v2.0/subnets", token=token, expect=409, json={"subnet": {
        "network_id": nets[1], "ip_version": 4, "cidr": "10.10.1.0/24"}})
    assert r.json()["NeutronError"]["type"] == "OverQuota"
    # A network the project cannot see is still a 404 before any quota is judged.
    _, stranger = await network.project_user_token()
    r = await network.call("POST", "/v2.0/subnets", token=stranger, expect=404, json={
        "subnet": {"network_id": nets[1], "ip_version": 4, "cidr": "10.10.2.0/24"}})
    assert r.json()["NeutronError"]["type"] == "NetworkNotFound"


async def test_a_security_group_create_reads_quotas_and_default_group_at_once(
        network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    first = (await network.call("POST", "/v2.0/security-groups", token=token, expect=201,
                                json={"security_group": {"name": "a"}})).json()
    orm_executes: list[Any] = []
    record = orm_executes.append
    event.listen(orm.Session, "do_orm_execute", record)
    try:
        async with statements(network) as sent:
            second = (await network.call("POST", "/v2.0/security-groups", token=token,
                                         expect=201, json={"security_group": {"name": "b"}})
                      ).json()["security_group"]
    finally:
        event.remove(orm.Session, "do_orm_execute", record)
    # Both quotas and the default group, the group, its two rules; the read of plain
    # columns past the ORM's execute (decision 87), the inserts Core on SQLite.
    assert len(sent) == 3, sent
    assert orm_executes == []
    assert [(rule["direction"], rule["ethertype"]) for rule in second["security_group_rules"]
            ] == [(rule["direction"], rule["ethertype"])
                  for rule in first["security_group"]["security_group_rules"]]
    r = await network.call("GET", f"/v2.0/security-groups/{second['id']}", token=token,
                           expect=200)
    assert r.json()["security_group"] == second
    # The rule quota is judged on what the read saw: the default group's four rules and
    # each group's two are eight; a ninth and tenth do not fit a limit of nine.
    await network.call("PUT", f"/v2.0/quotas/{project['id']}", expect=200,
                       json={"quota": {"security_group_rule": 9}})
    r = await network.call("POST", "/v2.0/security-groups", token=token, expect=409,
                           json={"security_group": {"name": "c"}})
    assert r.json()["NeutronError"]["type"] == "OverQuota"


async def test_a_projects_first_security_group_create_makes_its_default_group_with_core(
        network: ServiceClient) -> None:
    _project, token = await network.project_user_token()
    async with orm_flushes() as flushes, statements(network) as sent:
        made = (await network.call("POST", "/v2.0/security-groups", token=token, expect=201,
                                   json={"security_group": {"name": "a"}})).json()
    # Decision 91: both quotas and the default group, the default group and its four
    # rules, the group and its two rules; no second read of the default group, no
    # savepoint, no ORM flush, no second read of the rule quota.
    assert len(sent) == 5, sent
    assert not any("SAVEPOINT" in statement.upper() for statement in sent), sent
    assert flushes == []
    listed = (await network.call("GET", "/v2.0/security-groups", token=token, expect=200)
              ).json()["security_groups"]
    default = next(group for group in listed if group["name"] == "default")
    assert sorted((rule["direction"], rule["ethertype"], rule["remote_group_id"])
                  for rule in default["security_group_rules"]) == [
        ("egress", "IPv4", None), ("egress", "IPv6", None),
        ("ingress", "IPv4", default["id"]), ("ingress", "IPv6", default["id"])]
    assert default["description"] == "Default security group" and default["stateful"]
    assert [(rule["direction"], rule["ethertype"])
            for rule in made["security_group"]["security_group_rules"]] == [
        ("egress", "IPv4"), ("egress", "IPv6")]
    # The default group's four rules count with the usage read first: with a limit of
    # five, the first create of another project (four and two) is refused.
    other, other_token = await network.project_user_token()
    await network.call("PUT", f"/v2.0/quotas/{other['id']}", expect=200,
                       json={"quota": {"security_group_rule": 5}})
    r = await network.call("POST", "/v2.0/security-groups", token=other_token, expect=409,
                           json={"security_group": {"name": "b"}})
    assert r.json()["NeutronError"]["type"] == "OverQuota"


async def test_a_router_gateway_set_and_cleared_leaves_no_port(network: ServiceClient
                                                               ) -> None:
    public, _ = await external_network(network)
    made = await router(network, None, external_gateway_info={"network_id": public})
    gateway = (await rows(network, sa.select(RouterPort.port_id).where(
        RouterPort.router_id == made["id"])))[0][0]
    await set_router(network, None, made["id"], external_gateway_info={})
    assert await rows(network, sa.select(Port.id).where(Port.id == gateway)) == []
    assert await rows(network, sa.select(IpAllocation.ip_address).where(
        IpAllocation.port_id == gateway)) == []
    assert await rows(network, sa.select(RouterPort.port_id).where(
        RouterPort.router_id == made["id"])) == []


async def test_a_core_statement_runs_past_the_orm_and_sees_what_is_pending(
        network: ServiceClient) -> None:
    """``core.run``: the session's connection, not the ORM's execute, after the flush the
    ORM's autoflush would have made."""
    orm_executes: list[Any] = []
    async with network.app.svc.write() as db:
        event.listen(db.sync_session, "do_orm_execute", orm_executes.append)
        db.add(Tag(resource_id="pending-r", tag="t", resource_type="port"))
        found = (await run(db, sa.select(Tag.tag).where(Tag.resource_id == "pending-r"))
                 ).all()
        assert [tuple(row) for row in found] == [("t",)]
        assert orm_executes == []
        deleted = await run(db, sa.delete(Tag).where(Tag.resource_id == "pending-r"))
        assert deleted.rowcount == 1 and orm_executes == []
        await db.execute(sa.select(Tag.tag))
        assert len(orm_executes) == 1           # the ORM's own, for comparison


async def test_a_network_create_draws_its_vni_without_reading_those_in_use(
        network: ServiceClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = (await network.call("POST", "/v2.0/networks", expect=201,
                                json={"network": {"name": "a"}})).json()["network"]
    async with statements(network) as sent:
        second = (await network.call("POST", "/v2.0/networks", expect=201,
                                     json={"network": {"name": "b"}})).json()["network"]
    # The insert, which judges the quota (decision 85): no read of every VNI in use.
    assert len(sent) == 1, sent
    assert not any("segmentation_id BETWEEN" in s for s in sent), sent
    assert 1 <= second["provider:segmentation_id"] <= 65535
    # A blind draw that clashes falls back to drawing among the free ones.
    taken = first["provider:segmentation_id"]
    draws = iter([taken])
    real = random.randint
    monkeypatch.setattr(random, "randint",
                        lambda low, high: next(draws, None) or real(low, high))
    async with statements(network) as sent:
        third = (await network.call("POST", "/v2.0/networks", expect=201,
                                    json={"network": {"name": "c"}})).json()["network"]
    assert any("segmentation_id BETWEEN" in s for s in sent), sent
    assert third["provider:segmentation_id"] not in {taken, second["provider:segmentation_id"]}


async def test_a_subnet_create_claims_its_network_past_the_orm(network: ServiceClient
                                                               ) -> None:
    """Decision 87: the network's compare-and-swap is a Core UPDATE on the session's
    connection, not the ORM's bulk update; the network's revision and update time move as
    before."""
    net = (await network.call("POST", "/v2.0/networks", expect=201,
                              json={"network": {"name": "n"}})).json()["network"]
    orm_executes: list[Any] = []
    record = orm_executes.append
    event.listen(orm.Session, "do_orm_execute", record)
    try:
        async with statements(network) as sent:
            await network.call("POST", "/v2.0/subnets", expect=201, json={"subnet": {
                "network_id": net["id"], "ip_version": 4, "cidr": "10.3.0.0/24"}})
    finally:
        event.remove(orm.Session, "do_orm_execute", record)
    assert any(s.lstrip().upper().startswith("UPDATE NETWORK_NETWORKS") for s in sent), sent
    assert not any(state.is_update for state in orm_executes)
    after = (await network.call("GET", f"/v2.0/networks/{net['id']}", expect=200)
             ).json()["network"]
    assert after["revision_number"] == net["revision_number"] + 1
    assert after["updated_at"] >= net["updated_at"]
