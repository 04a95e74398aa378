"""Per-project quotas on network resources, as Neutron's quota engine keeps them.

A project's limit on a resource is its row in ``network_quotas`` or, without one, the
configured default (``network.quota.*``); -1 is unlimited. A create checks the count of
the project's resources against the limit inside its own write transaction.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.config import NetworkConfig
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import BadRequest
from ownstack.network.errors import OverQuota
from ownstack.network.objects.inserts import Within
from ownstack.network.objects.models import (
    FloatingIP,
    Network,
    Port,
    Quota,
    RbacPolicy,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)

UNLIMITED: Final = -1
# What a resource's usage counts.
_COUNTED: dict[str, Any] = {
    "network": Network, "subnet": Subnet, "subnetpool": SubnetPool, "port": Port,
    "security_group": SecurityGroup, "security_group_rule": SecurityGroupRule,
    "rbac_policy": RbacPolicy, "router": Router, "floatingip": FloatingIP,
}


def resources(config: NetworkConfig) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(config.quota))


def default_limits(config: NetworkConfig) -> dict[str, int]:
    return {name: getattr(config.quota, name) for name in resources(config)}


async def limits(db: AsyncSession, config: NetworkConfig, project_id: str) -> dict[str, int]:
    found = default_limits(config)
    rows = await db.execute(sa.select(Quota.resource, Quota.limit)
                            .where(Quota.project_id == project_id))
    for resource, limit in rows:
        if resource in found:
            found[resource] = limit
    return found


async def used(db: AsyncSession, project_id: str, resource: str) -> int:
    model = _COUNTED.get(resource)
    if model is None:
        return 0
    return int(await db.scalar(sa.select(sa.func.count()).select_from(model)
                               .where(model.project_id == project_id)) or 0)


async def check(db: Runner, config: NetworkConfig, project_id: str, resource: str,
                count: int = 1) -> None:
    """Raise :class:`OverQuota` unless ``project_id`` may make ``count`` more of ``resource``.

    One statement reads the project's own limit (if any) and its usage together."""
    row = (await run(db, _limit_and_usage(resource),
                     {"project_id": project_id, **default_limits_bound(config, resource)})
           ).one()
    judge(config, resource, row[0], row[1], count)


def judge(config: NetworkConfig, resource: str, own_limit: Any, usage: Any,
          count: int = 1) -> None:
    """:func:`check` once the project's own limit (None: it has none) and its usage are
    read, as :func:`limit_and_usage_of` reads them in a caller's statement."""
    limit = getattr(config.quota, resource) if own_limit is None else int(own_limit)
    if limit == UNLIMITED:
        return
    if int(usage or 0) + count > limit:
        raise OverQuota(resource)


@functools.cache
def limit_and_usage_of(resource: str) -> tuple[Any, Any]:
    """The project's own limit of ``resource`` (NULL when it has none) and its usage, as
    two expressions of the bound parameters ``project_id`` and the configured default
    limit (:func:`default_limits_bound`), built once: a quota check is in every create.

    The usage is counted only when the limit that applies (the project's own, else the
    default) is not unlimited, and is NULL when it is, which :func:`judge` never reads
    then: Neutron's quota engine leaves unlimited resources out before it counts
    (``DbQuotaNoLockDriver.make_reservation``), and a count of the project's rows costs
    in proportion to them (decision 98). The databases evaluate a ``CASE`` branch only
    when it is taken, so the count's subquery does not run."""
    project_id: Any = sa.bindparam("project_id")
    own_limit = (sa.select(Quota.limit).where(Quota.project_id == project_id,
                                              Quota.resource == resource)
                 .scalar_subquery())
    model = _COUNTED.get(resource)
    if model is None:
        return own_limit, sa.literal(0)
    count = (sa.select(sa.func.count()).select_from(model)
             .where(model.project_id == project_id).scalar_subquery())
    usage = sa.case((_limit(resource, own_limit) == UNLIMITED, sa.null()), else_=count)
    return own_limit, usage


def _limit(resource: str, own_limit: Any) -> Any:
    """The limit that applies, in SQL: the project's own, else the bound default."""
    return sa.func.coalesce(own_limit, sa.bindparam(_default_name(resource),
                                                    type_=sa.Integer))


def _default_name(resource: str) -> str:
    return f"quota_default_{resource}"


def default_limits_bound(config: NetworkConfig, *resources: str) -> dict[str, int]:
    """The parameters a statement of :func:`limit_and_usage_of` of ``resources`` binds
    beside ``project_id``: each one's configured default limit."""
    return {_default_name(resource): getattr(config.quota, resource)
            for resource in resources}


def within(config: NetworkConfig, resource: str, count: int = 1) -> Within:
    """The quota of ``resource`` as a condition of the insert of a row of its project
    (``inserts.add_row``/``insert_row``; the row's ``project_id`` is the project's): it
    goes in only when :func:`judge` would let the project make ``count`` more, and raises
    the same :class:`OverQuota` when not."""
    return Within(f"quota:{resource}", _within(resource),
                  {**default_limits_bound(config, resource), "quota_count": count},
                  functools.partial(OverQuota, resource))


@functools.cache
def _within(resource: str) -> Any:
    """:func:`judge` in SQL: the project's own limit, else the default (bound by
    :func:`default_limits_bound`), unlimited at -1, else its usage and ``quota_count``
    within it."""
    own_limit, usage = limit_and_usage_of(resource)
    limit = _limit(resource, own_limit)
    return sa.or_(limit == UNLIMITED,
                  usage + sa.bindparam("quota_count", type_=sa.Integer) <= limit)


@functools.cache
def _limit_and_usage(resource: str) -> sa.Select[Any]:
    """The statement of :func:`check` for ``resource`` (``project_id`` bound when run)."""
    return sa.select(*limit_and_usage_of(resource))


async def set_limits(db: AsyncSession, project_id: str, values: dict[str, int]) -> None:
    for resource, limit in values.items():
        row = await db.get(Quota, (project_id, resource))
        if row is None:
            db.add(Quota(project_id=project_id, resource=resource, limit=limit))
        else:
            row.limit = limit


async def check_not_below_usage(db: AsyncSession, project_id: str, values: dict[str, int]
                                ) -> None:
    """Refuse a new limit under what the project already uses (Neutron's check unless
    ``force``); -1 is never under."""
    for resource, limit in values.items():
        if limit == UNLIMITED:
            continue
        in_use = await used(db, project_id, resource)
        if in_use > limit:
            raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or "
                             f"equal to already used {in_use}")


async def reset(db: AsyncSession, project_id: str) -> bool:
    """Back to the defaults; whether the project had limits of its own."""
    result: Any = await db.execute(sa.delete(Quota).where(Quota.project_id == project_id))
    return bool(result.rowcount)


async def detailed(db: AsyncSession, config: NetworkConfig, project_id: str
                   ) -> dict[str, dict[str, int]]:
    """Each resource's limit and usage (nothing is ever reserved here)."""
    return {resource: {"limit": limit, "used": await used(db, project_id, resource),
                       "reserved": 0}
            for resource, limit in (await limits(db, config, project_id)).items()}


async def projects_with_quotas(db: AsyncSession) -> list[str]:
    return list((await db.execute(sa.select(Quota.project_id).distinct()
                                  .order_by(Quota.project_id))).scalars().all())
