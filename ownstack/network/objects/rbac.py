"""RBAC policies: a network's owner lets other projects use it.

``access_as_shared`` lets the target project see the network and make ports on it;
``access_as_external`` lets it see the network as an external one (router gateways and
floating IPs). The target ``*`` means every project; a network created ``shared`` or
``router:external`` gets that ``*`` policy, as in Neutron. The network's ``shared``
column says whether the ``*`` shared policy exists, so that listings need no join; its
``external`` column says whether it is an external network at all, which an external
policy for one project makes it, and only ``router:external = false`` undoes. A
policy cannot be taken away while the projects it lets in still use the network: ports
on a shared one, router gateways on an external one (Neutron's ``RbacPolicyInUse``).
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.network.errors import InUse, NetworkConflict, ResourceNotFound
from ownstack.network.objects import quotas
from ownstack.network.objects.listing import Field, Ids, Kind, in_ids
from ownstack.network.objects.models import Network, Port, RbacPolicy, Router

SHARED: Final = "access_as_shared"
EXTERNAL: Final = "access_as_external"
ACTIONS: Final = (SHARED, EXTERNAL)
EVERYONE: Final = "*"
# Ports the network service made itself; they never keep a policy in use.
SERVICE_OWNERS: Final = ("network:dhcp",)

RBAC_POLICIES = Kind(name="rbac_policy", collection="rbac_policies", model=RbacPolicy, fields={
    "id": Field(RbacPolicy.id),
    "project_id": Field(RbacPolicy.project_id),
    "tenant_id": Field(RbacPolicy.project_id),
    "object_type": Field(RbacPolicy.object_type),
    "object_id": Field(RbacPolicy.object_id),
    "action": Field(RbacPolicy.action),
    "target_tenant": Field(RbacPolicy.target_project),
    "target_project": Field(RbacPolicy.target_project),
})


def visible(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """A policy is its maker's project's to see (and an admin's); its targets do not."""
    if ctx.is_admin:
        return []
    return [RbacPolicy.project_id == ctx.project_id]


def granted_to(project_id: str | None, action: str | None = None) -> ColumnElement[bool]:
    """Networks some policy lets ``project_id`` use (by ``action`` when given)."""
    terms = [RbacPolicy.object_type == "network", RbacPolicy.object_id == Network.id,
             RbacPolicy.target_project.in_([project_id or "", EVERYONE])]
    if action is not None:
        terms.append(RbacPolicy.action == action)
    return sa.exists().where(*terms)


def shared_by_name(project_id: str | None) -> ColumnElement[bool]:
    """Whether a policy shares the network with ``project_id`` by name (not ``*``): the
    clause of :func:`shared_with` for one network row of a query."""
    if not project_id:
        return sa.false()
    return shared_by_name_of(project_id)


def shared_by_name_of(project_id: Any) -> ColumnElement[bool]:
    """:func:`shared_by_name` of a project id or of a bound parameter standing for one."""
    return sa.exists().where(
        RbacPolicy.object_type == "network", RbacPolicy.action == SHARED,
        RbacPolicy.target_project == project_id, RbacPolicy.object_id == Network.id)


async def shared_with(db: AsyncSession, project_id: str | None, network_ids: Ids
                      ) -> set[str]:
    """Which of ``network_ids`` a policy shares with ``project_id`` by name (not ``*``)."""
    found: set[str] = set()
    if not project_id:
        return found
    for among in in_ids(RbacPolicy.object_id, network_ids):
        rows = await db.execute(sa.select(RbacPolicy.object_id).where(
            RbacPolicy.object_type == "network", RbacPolicy.action == SHARED,
            RbacPolicy.target_project == project_id, among))
        found.update(rows.scalars().all())
    return found


async def get_policy(db: AsyncSession, ctx: RequestContext, policy_id: str) -> RbacPolicy:
    row = (await db.execute(sa.select(RbacPolicy).where(
        RbacPolicy.id == policy_id, *visible(ctx)))).scalar_one_or_none()
    if row is None:
        raise ResourceNotFound("rbac_policy", policy_id)
    return row


async def grant(db: AsyncSession, network: Network, project_id: str, action: str,
                target: str, *, config: NetworkConfig | None = None) -> RbacPolicy:
    """A new policy of ``project_id`` letting ``target`` use ``network`` by ``action``;
    409 when the same one exists. ``config`` given: the maker's quota is checked."""
    if config is not None:
        await quotas.check(db, config, project_id, "rbac_policy")
    row = RbacPolicy(id=str(uuid.uuid4()), project_id=project_id, object_type="network",
                     object_id=network.id, action=action, target_project=target)
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        raise NetworkConflict("DuplicateRbacPolicy", "An RBAC policy already exists with "
                              "those values.") from None
    _follow(network, action, target, present=True)
    return row


async def retarget(db: AsyncSession, row: RbacPolicy, network: Network, target: str
                   ) -> RbacPolicy:
    if target == row.target_project:
        return row
    await _check_unused(db, row, network)
    _follow(network, row.action, row.target_project, present=False)
    clash = await db.scalar(sa.select(RbacPolicy.id).where(
        RbacPolicy.object_id == row.object_id, RbacPolicy.action == row.action,
        RbacPolicy.target_project == target))
    if clash is not None:
        raise NetworkConflict("DuplicateRbacPolicy", "An RBAC policy already exists with "
                              "those values.")
    row.target_project = target
    _follow(network, row.action, target, present=True)
    return row


async def revoke(db: AsyncSession, row: RbacPolicy, network: Network) -> None:
    await _check_unused(db, row, network)
    await db.delete(row)
    await db.flush()
    _follow(network, row.action, row.target_project, present=False)


async def revoke_everyone(db: AsyncSession, network: Network, action: str) -> None:
    """Take back the ``*`` policy of ``action`` (a network no longer shared or external)."""
    row = (await db.execute(sa.select(RbacPolicy).where(
        RbacPolicy.object_id == network.id, RbacPolicy.action == action,
        RbacPolicy.target_project == EVERYONE))).scalar_one_or_none()
    if row is not None:
        await revoke(db, row, network)


async def revoke_every_external(db: AsyncSession, network: Network) -> None:
    """The network is no longer external to anyone."""
    await db.execute(sa.delete(RbacPolicy).where(RbacPolicy.object_id == network.id,
                                                 RbacPolicy.action == EXTERNAL))
    network.external = False


def _follow(network: Network, action: str, target: str, *, present: bool) -> None:
    if target == EVERYONE and action == SHARED:
        network.shared = present
    if action == EXTERNAL and present:
        network.external = True


async def _check_unused(db: AsyncSession, row: RbacPolicy, network: Network) -> None:
    """Refuse to take away access that another project's ports still rely on."""
    if row.action == EXTERNAL:
        await _check_no_gateway_depends(db, row, network)
        return
    if row.action != SHARED:
        return
    others = sa.select(Port.project_id).where(
        Port.network_id == network.id, Port.project_id != network.project_id,
        Port.device_owner.not_in(SERVICE_OWNERS))
    if row.target_project != EVERYONE:
        others = others.where(Port.project_id == row.target_project)
    users = set((await db.execute(others.distinct())).scalars().all())
    if not users:
        return
    # Projects that another policy still lets in do not depend on this one.
    still = await db.execute(sa.select(RbacPolicy.target_project).where(
        RbacPolicy.object_id == network.id, RbacPolicy.action == SHARED,
        RbacPolicy.id != row.id))
    remaining = set(still.scalars().all())
    if EVERYONE in remaining or users <= remaining:
        return
    raise InUse("rbac_policy", f"RBAC policy on object {network.id} cannot be removed "
                "because other objects depend on it.")


async def _check_no_gateway_depends(db: AsyncSession, row: RbacPolicy, network: Network
                                    ) -> None:
    """Neutron's ``_validate_ext_not_in_use_by_tenant``: an external policy stays while a
    router of a project it lets in (and no other external policy does) has its gateway
    on the network. The network's owner needs no policy."""
    others = await db.execute(sa.select(RbacPolicy.target_project).where(
        RbacPolicy.object_id == network.id, RbacPolicy.action == EXTERNAL,
        RbacPolicy.id != row.id))
    remaining = set(others.scalars().all())
    if EVERYONE in remaining:
        return
    routers = sa.select(Router.id).where(
        Router.gw_network_id == network.id, Router.gw_port_id.is_not(None),
        Router.project_id != network.project_id,
        Router.project_id.not_in(remaining or {""}))
    if row.target_project != EVERYONE:
        routers = routers.where(Router.project_id == row.target_project)
    if await db.scalar(routers.limit(1)) is not None:
        raise InUse("rbac_policy", f"RBAC policy on object {network.id} cannot be removed "
                    "because other objects depend on it.\nDetails: There are routers "
                    "attached to this network that depend on this policy for access.")
