"""A port listing reads each port with its addresses, security groups and tags in one
statement (``ports.LISTED``): every listed port is what its own show says,
whole page or paged, filtered or not, for an admin and for a project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from helpers.inprocess import ServiceClient
from helpers.network import list_items, make, make_subnet_row

PORTS = "/v2.0/ports"


async def _shown(network: ServiceClient, token: str | None, items: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    bodies = []
    for item in items:
        r = await network.call("GET", f"{PORTS}/{item['id']}", token=token, expect=200)
        bodies.append(r.json()["port"])
    return bodies


async def test_every_listed_port_is_what_its_show_says(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    net = await make(network, "network", token, name="lists")
    bare = await make(network, "network", token, name="no-subnets")
    # Subnets made in this order; their ids are random, so the order of creation is not
    # the order of the ids.
    subnets = [await make_subnet_row(network, net["id"], cidr, project_id=project["id"])
               for cidr in ("10.5.0.0/24", "10.6.0.0/24", "10.7.0.0/24")]
    web = (await make(network, "security_group", token, name="web"))["id"]
    db_group = (await make(network, "security_group", token, name="db"))["id"]
    several = await make(network, "port", token, network_id=net["id"], name="several",
                         security_groups=[web, db_group], fixed_ips=[
                             {"subnet_id": subnets[2], "ip_address": "10.7.0.9"},
                             {"subnet_id": subnets[0], "ip_address": "10.5.0.10"},
                             {"subnet_id": subnets[2], "ip_address": "10.7.0.10"},
                             {"subnet_id": subnets[1]}])
    plain = await make(network, "port", token, network_id=net["id"], name="plain")
    unguarded = await make(network, "port", token, network_id=net["id"], name="unguarded",
                           port_security_enabled=False, security_groups=[])
    addressless = await make(network, "port", token, network_id=bare["id"], name="none")
    await network.call("PUT", f"{PORTS}/{plain['id']}/tags", token=token,
                       json={"tags": ["zeta", "alpha", "mid"]}, expect=200)

    # The order of creation: the first subnet's address, the second's, then the third's
    # two by address (as text: 10.7.0.10 before 10.7.0.9).
    (listed,) = await list_items(network, "ports", token, ("name", "several"))
    assert [ip["ip_address"] for ip in listed["fixed_ips"]][::2] == ["10.5.0.10", "10.7.0.10"]
    assert [ip["subnet_id"] for ip in listed["fixed_ips"]] == [
        subnets[0], subnets[1], subnets[2], subnets[2]]
    assert listed["fixed_ips"][3]["ip_address"] == "10.7.0.9"
    assert listed["security_groups"] == sorted([web, db_group])
    everything = await list_items(network, "ports", token)
    by_name = {item["name"]: item for item in everything}
    assert by_name["plain"]["tags"] == ["alpha", "mid", "zeta"]
    assert by_name["unguarded"]["security_groups"] == []
    assert by_name["none"]["fixed_ips"] == []
    assert len(by_name["plain"]["security_groups"]) == 1     # the project's default group
    assert {several["id"], plain["id"], unguarded["id"], addressless["id"]} == \
        {item["id"] for item in everything}

    for who in (token, None):                   # the project's member, then the admin
        for params in ((), (("network_id", net["id"]),), (("sort_key", "name"),
                                                          ("sort_dir", "desc"))):
            items = await list_items(network, "ports", who, *params)
            assert items == await _shown(network, who, items), params
        paged: list[dict[str, Any]] = []
        marker: list[tuple[str, str]] = []
        while True:
            page = await list_items(network, "ports", who, ("network_id", net["id"]),
                                    ("limit", "2"), *marker)
            if not page:
                break
            paged += page
            marker = [("marker", page[-1]["id"])]
        assert paged == await list_items(network, "ports", who, ("network_id", net["id"]))
    admin_view = await list_items(network, "ports", None, ("name", "several"))
    assert "binding:host_id" in admin_view[0] and "binding:host_id" not in listed


async def test_a_listing_is_one_statement_and_one_more_for_ports_on_several_subnets(
        network: ServiceClient) -> None:
    net = await make(network, "network", name="count")
    first = await make_subnet_row(network, net["id"], "10.8.0.0/24")
    second = await make_subnet_row(network, net["id"], "10.9.0.0/24")
    for _ in range(3):
        await make(network, "port", network_id=net["id"], fixed_ips=[{"subnet_id": first}])

    sent: list[tuple[str, Any]] = []

    def record(conn: object, cursor: object, statement: str, parameters: Any,
               *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    engine = network.app.svc.db.engine.sync_engine

    async def selects(*params: tuple[str, str]) -> int:
        sent.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            items = await list_items(network, "ports", None, ("network_id", net["id"]), *params)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert items
        return len(sent)

    # One statement, for the whole listing or for a page of it.
    assert await selects() == 1
    # SQLite's plan: the network's ports by the (network_id, id) index, in the order of
    # their ids, never sorted; their lists by their indexes, never scanned.
    async with network.app.svc.db.read() as db:
        connection = await db.connection()
        ((statement, parameters),) = sent
        plan = [row[3] for row in await connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)]
    assert "ix_network_ports_network_id_id" in plan[0], plan
    assert not any("TEMP B-TREE" in step or step.startswith("SCAN") for step in plan), plan
    assert await selects(("limit", "1")) == 1
    # A port with addresses on two subnets: one more, for the order of their creation.
    await make(network, "port", network_id=net["id"],
               fixed_ips=[{"subnet_id": second}, {"subnet_id": first}])
    assert await selects() == 2
