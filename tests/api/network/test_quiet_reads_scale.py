"""Decision 87: the reads of a port create and delete that say whether the change nudges
anyone (``ports.QUIET_DEFAULT_GROUP``, a port delete's ``port_to_delete``) start from the
bound ports and the DHCP blocks, so their cost does not grow with the ports of the
network or the members of the default group: SQLite runs the same number of virtual
machine steps with 2 ports as with 40. A subnet create's ``dhcp.IDLE`` reads the DHCP
blocks the same way; its check for a DHCP port still reads the network's ports (no index
has their owner), one step each and no lookup."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa

from helpers.inprocess import ServiceClient
from ownstack.common.context import RequestContext
from ownstack.network.objects import dhcp, ports
from ownstack.network.objects.models import Network

_ADMIN = RequestContext(request_id="req-test", roles=("admin",))


async def _steps(network: ServiceClient, read: Any) -> int:
    """SQLite's virtual machine steps for ``read(db)``, a read on the event loop."""
    async with network.app.svc.db.read() as db:
        conn = await db.connection()
        raw: sqlite3.Connection = (
            await conn.get_raw_connection()).dbapi_connection._connection._conn
        steps = [0]

        def tick() -> int:
            steps[0] += 1
            return 0
        raw.set_progress_handler(tick, 1)
        try:
            await read(db)
        finally:
            raw.set_progress_handler(None, 1)
    return steps[0]


async def test_the_quiet_and_idle_reads_do_not_grow_with_the_ports(
        network: ServiceClient) -> None:
    r = await network.call("POST", "/v2.0/networks", expect=201,
                           json={"network": {"name": "n"}})
    net_id = r.json()["network"]["id"]
    project_id = r.json()["network"]["project_id"]
    await network.call("POST", "/v2.0/subnets", expect=201, json={"subnet": {
        "network_id": net_id, "ip_version": 4, "cidr": "10.9.0.0/16"}})

    async def make(count: int) -> list[str]:
        made = []
        for _ in range(count):
            r = await network.call("POST", "/v2.0/ports", expect=201,
                                   json={"port": {"network_id": net_id}})
            made.append(r.json()["port"]["id"])
        return made

    first = (await make(2))[0]

    async def quiet(db: Any) -> None:
        assert (await db.execute(sa.select(ports.QUIET_DEFAULT_GROUP).where(
            Network.id == net_id), {"project_id": project_id})).scalar_one()

    async def idle(db: Any) -> None:
        assert (await db.execute(sa.select(dhcp.IDLE).where(Network.id == net_id))
                ).scalar_one()

    async def to_delete(db: Any) -> None:
        *_, leftovers = await ports.port_to_delete(db, _ADMIN, first)
        assert leftovers.quiet

    before = [await _steps(network, read) for read in (quiet, to_delete, idle)]
    await make(38)
    after = [await _steps(network, read) for read in (quiet, to_delete, idle)]
    assert after[:2] == before[:2]
    # The DHCP port check's scan of the network's ports, 5 steps a port, and nothing more.
    assert after[2] - before[2] <= 5 * 38
