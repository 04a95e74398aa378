"""Decision 93: a port create reads its network and subnets as plain columns with Core
(``ports.network_for_port``) and makes them objects of no session
(``loaded.unattached``) holding what the ORM's load of the same rows holds, column for
column, with nothing left to load."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event, inspect

from helpers.inprocess import ServiceClient
from ownstack.common.context import RequestContext
from ownstack.common.db.base import Base
from ownstack.network.objects import loaded, models, ports
from ownstack.network.objects.models import Network, Subnet

_ADMIN = RequestContext(request_id="req-test", roles=("admin",))


def _values(row: object, model: type[Base]) -> dict[str, object]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(model).column_attrs}


def test_the_network_models_have_no_load_events() -> None:
    # A load would run them; loaded.unattached does not.
    for mapper in Base.registry.mappers:
        if mapper.class_.__module__ == models.__name__:
            assert not mapper.class_manager.dispatch.load, mapper.class_
            assert not mapper.class_manager.dispatch.refresh, mapper.class_


async def test_a_port_creates_network_read_holds_what_the_orm_loads(
        network: ServiceClient) -> None:
    r = await network.call("POST", "/v2.0/networks", expect=201,
                           json={"network": {"name": "n", "availability_zone_hints": []}})
    net_id, project_id = r.json()["network"]["id"], r.json()["network"]["project_id"]
    for cidr in ("10.9.0.0/24", "10.8.0.0/24"):
        await network.call("POST", "/v2.0/subnets", expect=201, json={"subnet": {
            "network_id": net_id, "ip_version": 4, "cidr": cidr,
            "dns_nameservers": ["10.0.0.53"],
            "host_routes": [{"destination": "10.7.0.0/24", "nexthop": "10.9.0.9"}]}})
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = network.app.svc.db.engine.sync_engine
    async with network.app.svc.db.read() as db:
        event.listen(engine, "before_cursor_execute", count)
        try:
            found = await ports.network_for_port(db, _ADMIN, net_id, project_id)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1
        assert not db.identity_map          # no object joined the session
        orm_network = (await db.execute(sa.select(Network).where(Network.id == net_id))
                       ).scalar_one()
        orm_subnets = (await db.execute(sa.select(Subnet).where(
            Subnet.network_id == net_id).order_by(Subnet.created_at, Subnet.id))
                       ).scalars().all()
    assert _values(found.network, Network) == _values(orm_network, Network)
    assert [_values(s, Subnet) for s in found.subnets] == [
        _values(s, Subnet) for s in orm_subnets]
    assert len(found.subnets) == 2
    for row in (found.network, *found.subnets):
        state = inspect(row)
        assert state.transient and not state.unloaded
        assert not state.committed_state
    for name, value in _values(found.network, Network).items():
        assert type(value) is type(getattr(orm_network, name)), name
    assert found.shared is False and found.default_group is None
    assert found.quota == (None, 0)


async def test_a_network_without_subnets_reads_none(network: ServiceClient) -> None:
    r = await network.call("POST", "/v2.0/networks", expect=201,
                           json={"network": {"name": "bare"}})
    net = r.json()["network"]
    async with network.app.svc.db.read() as db:
        found = await ports.network_for_port(db, _ADMIN, net["id"], net["project_id"])
    assert found.subnets == [] and found.network.id == net["id"]
    assert loaded.columns_of(Network)[0].table is Network.__table__
