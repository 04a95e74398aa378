"""Provisioning blocks: a port goes ACTIVE only once every part of the network that must
serve it has it, as Neutron's provisioning blocks (``neutron/db/provisioning_blocks.py``).

A block is a :class:`~.models.ProvisioningBlock` row, one per entity that has not yet
reported the port provisioned:

``L2``
    the agent of the port's host has not reported it wired (``port_status`` ACTIVE; for a
    router's legs, ``router_status``);
``DHCP``
    the DHCP server of the port's network has not reported the port's host entry loaded
    (``dhcp_ready``).

The rows hold the progress, not any process's memory, so a kill of the API, the agent or
both loses none of it: after a restart the agents report again what they have (the L2
agent its wired ports, the DHCP agent the entries its dnsmasq has loaded) and the rows
say what is still missing.

When blocks are set (:func:`port_bound`, in the transaction of the change):

* a port bound to a host anew (made bound, or moved): ``L2``, and ``DHCP`` when the port
  needs its network's DHCP server (:func:`needs_dhcp`); its status goes DOWN;
* a bound port whose fixed IPs changed: ``DHCP`` when it needs it, none otherwise; its
  status stays (a running guest renews its lease from the new entry);
* an unbound port has none (nothing would report it).

A port needs DHCP when it is no port of the network service's own (``network:*``: the DHCP
port, a router's legs), holds an address on a DHCP-enabled subnet, and its network is up
and bound to a DHCP agent, alive or not (decision 39: a dead agent holds the port DOWN
until it comes back or is deleted; compute's ``vif_plugging_timeout`` bounds the wait).

:func:`complete` clears one entity's block and, when none is left and the port is bound,
makes the port ACTIVE; :func:`reopen` is the L2 agent's DOWN (the tap vanished): the block
again, and DOWN. A ``DHCP`` block on a network that no DHCP agent serves any more (its
DHCP subnets gone, its agent deleted) is void: :func:`settle` drops it, so no port waits
for a server that will never report. Callers lock the port row first (``SELECT ... FOR
UPDATE``), so two reports for one port settle one after the other and the second sees the
first's deletion: the last one makes it ACTIVE, whatever their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import flag_modified

from ownstack.common.db.base import utcnow
from ownstack.common.db.core import Runner, run
from ownstack.network.objects.inserts import insert_values
from ownstack.network.objects.models import (
    DhcpAgentBinding,
    IpAllocation,
    Network,
    Port,
    ProvisioningBlock,
    Subnet,
)
from ownstack.network.objects.standard import touch
from ownstack.network.rpc import ACTIVE, DOWN

L2: Final = "L2"
DHCP: Final = "DHCP"
ENTITIES: Final = (L2, DHCP)
SERVICE_OWNER_PREFIX: Final = "network:"       # the DHCP port, router legs, floating IPs


def waiting_for_dhcp(network_id: sa.ColumnExpressionArgument[str]) -> sa.Exists:
    """Whether a port of the network ``network_id`` (a column of the enclosing select)
    waits for DHCP. It starts from the DHCP blocks, few at any time (each goes when its
    port's entry is loaded), and looks each one's port up by its key: joined from the
    network's ports instead, SQLite reads every port of the network (decision 87)."""
    waiting = aliased(Port)
    return sa.exists().where(
        ProvisioningBlock.entity == DHCP,
        sa.select(waiting.network_id).where(waiting.id == ProvisioningBlock.port_id)
        .scalar_subquery() == network_id)


async def blocks(db: AsyncSession, port_id: str, *, lock: bool = False) -> set[str]:
    """The entities ``port_id`` still waits for (read under a lock with ``lock``: the
    rows as committed now, whatever the transaction's snapshot)."""
    query = sa.select(ProvisioningBlock.entity).where(ProvisioningBlock.port_id == port_id)
    if lock:
        query = query.with_for_update()
    return set((await db.execute(query)).scalars())


async def add(db: Runner, port_id: str, entity: str) -> None:
    """Block ``port_id`` on ``entity`` (nothing when it is already)."""
    await insert_values(db, ProvisioningBlock, {"port_id": port_id, "entity": entity,
                                                "created_at": utcnow()})


async def remove(db: AsyncSession, port_ids: Sequence[str], entity: str | None = None
                 ) -> None:
    """Drop the blocks of ``port_ids`` (on ``entity`` only, when given)."""
    if not port_ids:
        return
    query = sa.delete(ProvisioningBlock).where(ProvisioningBlock.port_id.in_(port_ids))
    if entity is not None:
        query = query.where(ProvisioningBlock.entity == entity)
    await db.execute(query.execution_options(synchronize_session=False))


async def dhcp_served(db: Runner, network_id: str) -> bool:
    """Whether a DHCP agent (alive or not) is bound to serve the network."""
    return (await run(db, _DHCP_SERVED, {"network_id": network_id})).scalar() is not None


# Built once: a bound port's create and change ask.
_DHCP_SERVED: Final = sa.select(DhcpAgentBinding.network_id).where(
    DhcpAgentBinding.network_id == sa.bindparam("network_id"))
_DHCP_ADDRESS: Final = sa.select(sa.exists().where(
    IpAllocation.port_id == sa.bindparam("port_id"), IpAllocation.subnet_id == Subnet.id,
    Subnet.enable_dhcp.is_(True)))


async def needs_dhcp(db: AsyncSession, port: Port) -> bool:
    """Whether ``port`` waits for its network's DHCP server (see the module's docstring)."""
    if (port.device_owner or "").startswith(SERVICE_OWNER_PREFIX):
        return False
    network = await db.get(Network, port.network_id)
    if network is None or not network.admin_state_up:
        return False
    return await _served_dhcp_address(db, port)


async def _served_dhcp_address(db: Runner, port: Port) -> bool:
    """Whether a DHCP agent serves ``port``'s network and the port holds an address on
    one of its DHCP-enabled subnets (what the session holds pending flushed first)."""
    if not await dhcp_served(db, port.network_id):
        return False
    return (await run(db, _DHCP_ADDRESS, {"port_id": port.id})).scalar() is True


async def _lock(db: AsyncSession, port_id: str) -> None:
    """The port's row locked: its reports wait for this change, and it for theirs."""
    await db.execute(sa.select(Port.id).where(Port.id == port_id).with_for_update())


async def port_bound(db: AsyncSession, port: Port, *, previous_host: str,
                     readdressed: bool = False) -> None:
    """After the ports code made or changed ``port`` (in the same transaction): its
    blocks as the module's docstring says. ``previous_host``: the host it was bound to
    before ("" for a new port); ``readdressed``: its fixed IPs changed."""
    host = port.binding_host_id or ""
    rebound = host != previous_host
    if not rebound and not readdressed:
        return
    await _lock(db, port.id)
    if not host:
        await remove(db, [port.id])
        return
    if rebound:
        await remove(db, [port.id])
        await add(db, port.id, L2)
        port.status = DOWN
        # Written even when it reads DOWN already: a report committed since it was read
        # may have made it ACTIVE for the host the port just left.
        flag_modified(port, "status")
    if await needs_dhcp(db, port):
        await add(db, port.id, DHCP)
    elif not rebound:
        await remove(db, [port.id], DHCP)
        await settle(db, port)


async def new_port_bound(db: Runner, port: Port, *, network_up: bool) -> None:
    """:func:`port_bound` of a port this transaction has just inserted (``previous_host``
    ""), from a plain connection (a port create's, ``Database.plain_write()``): a port
    bound to a host is blocked on ``L2``, and on ``DHCP`` when it needs it
    (:func:`needs_dhcp`; ``network_up``: its network's ``admin_state_up`` as the create
    read it in this transaction). What :func:`port_bound` does besides has nothing to do
    for a new row: no other transaction sees it, so no report can lock it, block it or
    make it ACTIVE; it has no blocks to drop; its status is DOWN as inserted."""
    if not port.binding_host_id:
        return
    await add(db, port.id, L2)
    if (not (port.device_owner or "").startswith(SERVICE_OWNER_PREFIX) and network_up
            and await _served_dhcp_address(db, port)):
        await add(db, port.id, DHCP)


async def settle(db: AsyncSession, port: Port) -> None:
    """``port`` (locked) ACTIVE when it is bound and nothing blocks it any more; a DHCP
    block of a network no DHCP agent serves is dropped first. Never makes it DOWN."""
    waiting = await blocks(db, port.id, lock=True)
    if DHCP in waiting and not await dhcp_served(db, port.network_id):
        await remove(db, [port.id], DHCP)
        waiting.discard(DHCP)
    if not waiting and port.binding_host_id and port.status != ACTIVE:
        port.status = ACTIVE
        touch(port)


async def complete(db: AsyncSession, port: Port, entity: str) -> None:
    """``entity`` reports ``port`` (locked by the caller) provisioned: its block goes, and
    the port is ACTIVE if that was the last. Idempotent."""
    await remove(db, [port.id], entity)
    await settle(db, port)


async def reopen(db: AsyncSession, port: Port, entity: str) -> None:
    """``entity`` reports ``port`` (locked by the caller) no longer provisioned (the L2
    agent's DOWN: its tap vanished): blocked on it again, and DOWN."""
    await add(db, port.id, entity)
    if port.status != DOWN:
        port.status = DOWN
        touch(port)


async def waiting_for(db: AsyncSession, network_id: str, entity: str) -> list[str]:
    """The ports of ``network_id`` blocked on ``entity``, by id."""
    return list((await db.execute(_WAITING_FOR, {"network_id": network_id, "entity": entity})
                 ).scalars())


# Built once: a port change on a network no DHCP agent serves asks.
_WAITING_FOR: Final = (
    sa.select(ProvisioningBlock.port_id).join(Port, Port.id == ProvisioningBlock.port_id)
    .where(Port.network_id == sa.bindparam("network_id"),
           ProvisioningBlock.entity == sa.bindparam("entity"))
    .order_by(ProvisioningBlock.port_id))
