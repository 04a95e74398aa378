"""A row inserted by ``inserts.insert_row`` or ``add_row`` on SQLite is attached to the
session as a persistent object with nothing pending, as the constructor and
``make_transient_to_detached`` made it, and a later change of it is still flushed."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import decl_base, make_transient_to_detached

from helpers.inprocess import ServiceClient
from ownstack.common.db.base import Base
from ownstack.network.objects import models
from ownstack.network.objects.inserts import add_row, insert_row
from ownstack.network.objects.models import Network, Port, Router


def test_the_network_models_have_nothing_the_constructor_would_set_up() -> None:
    for mapper in Base.registry.mappers:
        if mapper.class_.__module__ != models.__name__:
            continue
        assert not mapper.relationships, mapper.class_
        # SQLAlchemy's own constructor (setting each keyword), none of the model's.
        assert mapper.class_manager.original_init is decl_base._declarative_constructor
        # No init event but SQLAlchemy's own (configuring mappers, a polymorphic identity).
        assert [hook.__name__ for hook in mapper.class_manager.dispatch.init] == [
            "_event_on_init"]
        assert mapper.polymorphic_identity is None


async def test_an_inserted_row_is_persistent_with_nothing_pending(
        network: ServiceClient) -> None:
    net, port_id, router_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    constructed: list[object] = []

    def on_init(target: object, args: object, kwargs: object) -> None:
        constructed.append(target)

    event.listen(Port, "init", on_init)
    try:
        async with network.app.svc.write() as db:
            await _insert(db, net, port_id, router_id)
    finally:
        event.remove(Port, "init", on_init)
    # The constructor ran only for the comparison's object, not for the inserted row.
    assert len(constructed) == 1
    async with network.app.svc.db.read() as db:
        name = (await db.execute(sa.select(Port.name).where(Port.id == port_id))).scalar()
    assert name == "renamed"


async def _insert(db: AsyncSession, net: str, port_id: str, router_id: str) -> None:
    """A port and a router inserted, each checked as the constructor would have made it,
    then the port renamed."""
    db.add(Network(id=net, project_id="p", mtu=1450, network_type="vxlan",
                   segmentation_id=78))
    await db.flush()
    port = await insert_row(db, Port, {"id": port_id, "project_id": "p",
                                       "network_id": net,
                                       "mac_address": "fa:16:3e:00:01:02"})
    router = await add_row(db, Router, {"id": router_id, "project_id": "p",
                                        "name": "r"})
    assert port is not None
    for row in (port, router):
        state = inspect(row)
        assert state.persistent and not state.modified and not state.committed_state
        assert row not in db.dirty and row not in db.new
        assert state.key == inspect(type(row)).identity_key_from_instance(row)
    # The same state as the constructor's, value for value.
    values = {attr.key: getattr(port, attr.key) for attr in inspect(Port).column_attrs}
    made = Port(**values)
    make_transient_to_detached(made)

    def plain(row: object) -> dict[str, object]:
        return {k: v for k, v in vars(row).items() if k != "_sa_instance_state"}

    assert plain(made) == plain(port)
    assert inspect(made).unloaded == inspect(port).unloaded
    assert port.status == "DOWN" and port.revision_number == 1
    port.name = "renamed"
    assert port in db.dirty
