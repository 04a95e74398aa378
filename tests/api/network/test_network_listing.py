"""A network listing reads each network with its subnets and tags, and whether a policy
shares it with the caller by name, in one statement (``networks.listed_columns``): every
listed network is what its own show says, whole page or paged, for an admin, its owner,
a project it is shared with and one it is not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from helpers.inprocess import ServiceClient
from helpers.network import list_items, make, make_subnet_row
from ownstack.network.objects.models import Subnet

NET = "/v2.0/networks"


async def test_every_listed_network_is_what_its_show_says(network: ServiceClient) -> None:
    owner_project, owner = await network.project_user_token()
    guest_project, guest = await network.project_user_token()
    _, stranger = await network.project_user_token()
    dual = await make(network, "network", owner, name="dual")
    bare = await make(network, "network", owner, name="bare")
    # Made in this order; their random ids are not. The last one's creation time is then
    # set before the others', so that the order of creation is not the order of the rows.
    subnets = [await make_subnet_row(network, dual["id"], cidr, project_id=owner_project["id"])
               for cidr in ("fd07::/64", "10.7.0.0/24", "10.8.0.0/24")]
    async with network.app.svc.write() as db:
        earliest = (await db.execute(sa.select(sa.func.min(Subnet.created_at)))).scalar_one()
        await db.execute(sa.update(Subnet).where(Subnet.id == subnets[2])
                         .values(created_at=earliest - timedelta(seconds=1)))
    subnets = [subnets[2], subnets[0], subnets[1]]
    await network.call("PUT", f"{NET}/{dual['id']}/tags", token=owner,
                       json={"tags": ["zeta", "alpha"]}, expect=200)
    await network.call("POST", "/v2.0/rbac-policies", token=owner, expect=201, json={
        "rbac_policy": {"object_type": "network", "object_id": dual["id"],
                        "action": "access_as_shared", "target_tenant": guest_project["id"]}})

    (listed,) = await list_items(network, "networks", owner, ("name", "dual"))
    assert listed["subnets"] == subnets
    assert listed["tags"] == ["alpha", "zeta"] and listed["shared"] is False
    (seen,) = await list_items(network, "networks", guest, ("name", "dual"))
    assert seen["shared"] is True                   # shared with the guest by name
    assert await list_items(network, "networks", stranger, ("name", "dual")) == []
    (empty,) = await list_items(network, "networks", owner, ("name", "bare"))
    assert empty["subnets"] == [] and empty["tags"] == []

    for token in (owner, guest, None):
        for params in ((), (("sort_key", "name"), ("sort_dir", "desc"))):
            items = await list_items(network, "networks", token, *params)
            for item in items:
                r = await network.call("GET", f"{NET}/{item['id']}", token=token, expect=200)
                assert item == r.json()["network"], (params, item["name"])
        paged: list[dict[str, Any]] = []
        marker: list[tuple[str, str]] = []
        while True:
            page = await list_items(network, "networks", token, ("limit", "1"), *marker)
            if not page:
                break
            paged += page
            marker = [("marker", page[-1]["id"])]
        assert paged == await list_items(network, "networks", token)
    assert bare["id"] not in {item["id"] for item in await list_items(network, "networks", guest)}


async def test_a_listing_is_one_statement_and_one_more_for_several_subnets(
        network: ServiceClient) -> None:
    one = await make(network, "network", name="one")
    await make_subnet_row(network, one["id"], "10.9.0.0/24")
    sent: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append(statement)

    engine = network.app.svc.db.engine.sync_engine

    async def selects() -> int:
        sent.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert await list_items(network, "networks", None)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return len(sent)

    assert await selects() == 1
    await make_subnet_row(network, one["id"], "fd09::/64")
    assert await selects() == 2                     # the order of the two subnets' creation
