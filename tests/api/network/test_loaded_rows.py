"""Decision 93: a port create reads its network and subnets as plain columns with Core
(``ports.network_for_port``) and makes them objects of no session
(``loaded.unattached``) holding what the ORM's load of the same rows holds, column for
column, with nothing left to load; an insert of a plain table on SQLite, sent as the
driver's SQL (``inserts.insert_plain``), stores what the ORM's insert stores."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy import event, inspect

from helpers.inprocess import ServiceClient
from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.base import Base
from ownstack.network.objects import inserts, loaded, models, ports, quotas
from ownstack.network.objects.inserts import insert_plain, insert_row
from ownstack.network.objects.models import (
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    Subnet,
)

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
            found = await ports.network_for_port(db, network.app.svc.settings, _ADMIN, net_id,
                                                  project_id)
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
        found = await ports.network_for_port(db, network.app.svc.settings, _ADMIN, net["id"],
                                             net["project_id"])
    assert found.subnets == [] and found.network.id == net["id"]
    assert loaded.columns_of(Network)[0].table is Network.__table__


async def test_a_driver_sent_insert_stores_what_the_orm_stores(
        network: ServiceClient) -> None:
    # insert_row on SQLite sends the compiled insert as driver SQL with each value
    # converted by its column's bind processor (JSON, booleans, times): the stored row
    # reads back as the ORM's own insert of the same values.
    net = str(uuid.uuid4())
    g1, g2 = sorted([(await network.call(
        "POST", "/v2.0/security-groups", expect=201,
        json={"security_group": {"name": name}})).json()["security_group"]["id"]
        for name in ("a", "b")])
    values = {"project_id": "p", "network_id": net, "admin_state_up": False,
              "port_security_enabled": True, "allowed_address_pairs": [
                  {"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:00:00:09"}],
              "binding_vif_details": {"port_filter": True, "n": 1},
              "binding_profile": {"ü": "x"}, "name": "näme"}
    async with network.app.svc.write() as db:
        db.add(Network(id=net, project_id="p", mtu=1450, network_type="vxlan",
                       segmentation_id=79))
        await db.flush()
        sent = await insert_row(db, Port, {**values, "id": str(uuid.uuid4()),
                                           "mac_address": "fa:16:3e:00:02:01"})
        assert sent is not None
        assert await insert_row(db, Port, {**values, "id": str(uuid.uuid4()),
                                           "mac_address": "fa:16:3e:00:02:01"}) is None
        flushed = Port(**values, id=str(uuid.uuid4()), mac_address="fa:16:3e:00:02:02",
                       created_at=sent.created_at, updated_at=sent.updated_at)
        db.add(flushed)
        await db.flush()
        assert await insert_plain(db, PortSecurityGroup, [
            {"port_id": sent.id, "security_group_id": g1},
            {"port_id": sent.id, "security_group_id": g2}]) == 2
    columns = [c for c in Port.__table__.columns if c.key not in ("id", "mac_address")]
    async with network.app.svc.db.read() as db:
        # Each column as SQLite holds it, no result processing.
        raw = (await db.execute(sa.select(
            *(sa.type_coerce(c, sa.String()).label(c.key) for c in columns)).where(
            Port.id.in_([sent.id, flushed.id])).order_by(Port.mac_address))).all()
        groups = (await db.execute(sa.select(PortSecurityGroup.security_group_id).where(
            PortSecurityGroup.port_id == sent.id).order_by("security_group_id"))
                  ).scalars().all()
    assert raw[0] == raw[1]             # the very text and numbers SQLite holds
    assert groups == [g1, g2]


def test_what_is_sent_as_driver_sql() -> None:
    from sqlalchemy.dialects import postgresql, sqlite
    made = inserts._driver_statement("t-ip", inserts._insert_or_nothing(IpAllocation),
                                     sqlite.dialect())
    assert made is not None and made.sql.endswith("ON CONFLICT DO NOTHING")
    assert {name for name, *_ in made.binds} == {
        "subnet_id", "ip_address", "port_id", "network_id"}
    # A quota's condition: its literals are sent with the values SQLAlchemy would bind.
    within = quotas.within(NetworkConfig(), "router")
    made = inserts._driver_statement(
        "t-router", inserts._insert_when(Router, within, or_nothing=False), sqlite.dialect())
    assert made is not None
    assert ("resource_1", False, "router") in {
        (name, required, fixed) for name, required, fixed, _ in made.binds}
    # An expanding IN is computed at execution: Core's.
    assert inserts._driver_statement(
        "t-in", sa.select(Port.id).where(Port.id.in_(sa.bindparam("ids", expanding=True))),
        sqlite.dialect()) is None
    assert inserts._driver_statement(
        "t-pg", inserts._insert(IpAllocation), postgresql.dialect()) is None


async def test_a_quota_judged_by_a_driver_sent_insert(network: ServiceClient) -> None:
    r = await network.call("POST", "/v2.0/routers", expect=201,
                           json={"router": {"name": "r1"}})
    project_id = r.json()["router"]["project_id"]
    await network.call("PUT", f"/v2.0/quotas/{project_id}", expect=200,
                       json={"quota": {"router": 2}})
    await network.call("POST", "/v2.0/routers", expect=201, json={"router": {"name": "r2"}})
    r = await network.call("POST", "/v2.0/routers", expect=409,
                           json={"router": {"name": "r3"}})
    assert r.json()["NeutronError"]["type"] == "OverQuota"
