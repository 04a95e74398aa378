"""The two reports that make a port ACTIVE, at the same moment, on every database backend:
the L2 agent's ``port_status`` and the DHCP agent's ``dhcp_ready`` for the same ports, each
in its own transaction. On PostgreSQL (read committed) and MariaDB (repeatable read) they
really overlap; if each only saw its own deletion, both would leave the port DOWN with no
block left. Each locks the port row first, so whichever commits second sees the other's
deletion, and every port ends ACTIVE with no block, whatever the interleaving.

The network schema is migrated into a fresh database of each backend and driven through
the objects the bus handlers call (no cloud: the cloud's own agents would report these
ports themselves).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from helpers.databases import backends, fresh_database
from ownstack.common.db import migrate
from ownstack.common.db.base import utcnow
from ownstack.common.db.database import Database
from ownstack.network.objects import bindings, provisioning
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    IpAllocation,
    Network,
    NetworkAgent,
    Port,
    ProvisioningBlock,
    Subnet,
)
from ownstack.network.rpc import DhcpReadyEntry

pytestmark = pytest.mark.functional

HOST = "host-a"
PORTS = 40


@pytest.fixture(params=sorted({b.partition("+")[0] for b in backends()}))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(str(request.param)) as made:
        yield made or f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
async def db(url: str) -> AsyncIterator[Database]:
    database = Database.connect(url)
    try:
        await migrate.upgrade(database.engine, "network")
        yield database
    finally:
        await database.engine.dispose()


async def _ports(db: Database) -> list[dict[str, Any]]:
    """A network served by HOST's DHCP agent, and PORTS server ports bound to HOST, each
    blocked on L2 and DHCP as the ports code leaves them."""
    network_id, subnet_id, agent_id = (str(uuid.uuid4()) for _ in range(3))
    async with db.write() as session:
        session.add(Network(id=network_id, project_id="p", mtu=1450, network_type="vxlan",
                            segmentation_id=4242))
        session.add(Subnet(id=subnet_id, project_id="p", network_id=network_id,
                           ip_version=4, cidr="10.0.0.0/24", enable_dhcp=True))
        session.add(NetworkAgent(id=agent_id, agent_type="Linux bridge agent",
                                 binary="neutron-linuxbridge-agent", topic="network.host-a",
                                 host=HOST, configurations={}))
        await session.flush()
        session.add(DhcpAgentBinding(network_id=network_id, agent_id=agent_id,
                                     created_at=utcnow()))
        made = []
        for n in range(PORTS):
            port = Port(id=str(uuid.uuid4()), project_id="p", network_id=network_id,
                        mac_address=f"fa:16:3e:00:01:{n:02x}", device_owner="compute:nova",
                        device_id=str(uuid.uuid4()), binding_host_id=HOST)
            session.add(port)
            await session.flush()
            session.add(IpAllocation(subnet_id=subnet_id, ip_address=f"10.0.0.{n + 10}",
                                     port_id=port.id, network_id=network_id))
            await session.flush()
            await provisioning.port_bound(session, port, previous_host="")
            made.append({"port_id": port.id, "mac_address": port.mac_address,
                         "ip_addresses": [f"10.0.0.{n + 10}"]})
    return made


async def _l2(db: Database, port_id: str) -> None:
    async with db.write() as session:
        assert await bindings.report_status(session, port_id, HOST, "ACTIVE") is not None


async def _dhcp(db: Database, entries: list[dict[str, Any]]) -> None:
    async with db.write() as session:
        cleared, _ = await bindings.report_dhcp_ready(
            session, HOST, cast(list[DhcpReadyEntry], entries))
        assert sorted(cleared) == sorted(entry["port_id"] for entry in entries)


async def test_both_reports_at_once_leave_every_port_active(db: Database) -> None:
    entries = await _ports(db)
    async with db.read() as session:
        assert await provisioning.blocks(session, entries[0]["port_id"]) == {"L2", "DHCP"}

    # One port's two reports side by side, for each port; then the DHCP agent's bulk
    # report racing every L2 report at once.
    half = PORTS // 2
    await asyncio.gather(*(report for entry in entries[:half]
                           for report in (_l2(db, entry["port_id"]), _dhcp(db, [entry]))))
    await asyncio.gather(_dhcp(db, entries[half:]),
                         *(_l2(db, entry["port_id"]) for entry in entries[half:]))

    async with db.read() as session:
        statuses = (await session.execute(sa.select(Port.status).where(
            Port.id.in_([entry["port_id"] for entry in entries])))).scalars().all()
        left = await session.scalar(sa.select(sa.func.count()).select_from(ProvisioningBlock))
    assert list(statuses) == ["ACTIVE"] * PORTS
    assert left == 0
