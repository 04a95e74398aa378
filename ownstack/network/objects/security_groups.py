"""Security groups and their rules: who sees which, the default group, and the rules of
change and delete, as Neutron keeps them.

A project sees its own groups and the rules of its own groups; an admin sees all. Every
project has one group named ``default``, made on first use (:func:`ensure_default`) with
Neutron's four default rules: the unique ``(project_id, default_marker)`` lets exactly
one of several concurrent first uses insert it, on any database. Every other group starts
with the two egress rules. A rule's matching fields are checked and normalised by
:mod:`ownstack.network.sg_rules`; this module adds what needs the database: the group and
remote group must exist and be visible, a rule may not repeat one the group holds, the
quotas, and the group's ``revision_number``, which each change of its rules bumps.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from ownstack.common.config import NetworkConfig
from ownstack.common.context import RequestContext
from ownstack.common.db.core import Plain, Runner, run
from ownstack.network.errors import (
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupDefaultAlreadyExists,
    SecurityGroupInUse,
    SecurityGroupNotFound,
    SecurityGroupRuleNotFound,
)
from ownstack.network.objects import quotas
from ownstack.network.objects.inserts import (
    add_row,
    add_rows,
    insert_new,
    insert_plain,
    insert_row,
    is_sqlite,
    under_savepoint,
)
from ownstack.network.objects.listing import Field, Kind, as_bool, as_int
from ownstack.network.objects.models import (
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from ownstack.network.objects.standard import check_revision, drop_tags, touch
from ownstack.network.sg_rules import (
    Direction,
    Ethertype,
    RuleSpec,
    check_duplicates,
    default_group_rules,
)

DEFAULT_NAME: Final = "default"
DEFAULT_DESCRIPTION: Final = "Default security group"


def _belongs_to_default(values: list[str]) -> ColumnElement[bool]:
    defaults = sa.select(SecurityGroup.id).where(SecurityGroup.default_marker.is_(True))
    wanted = {as_bool(value) for value in values}
    if wanted == {True}:
        return SecurityGroupRule.security_group_id.in_(defaults)
    if wanted == {False}:
        return SecurityGroupRule.security_group_id.not_in(defaults)
    return sa.true()


GROUPS = Kind(name="security_group", collection="security_groups", model=SecurityGroup,
              fields={
                  "id": Field(SecurityGroup.id),
                  "name": Field(SecurityGroup.name),
                  "description": Field(SecurityGroup.description),
                  "project_id": Field(SecurityGroup.project_id),
                  "tenant_id": Field(SecurityGroup.project_id),
                  "stateful": Field(SecurityGroup.stateful, as_bool),
                  "revision_number": Field(SecurityGroup.revision_number, as_int),
                  "created_at": Field(SecurityGroup.created_at),
                  "updated_at": Field(SecurityGroup.updated_at),
              })

RULES = Kind(name="security_group_rule", collection="security_group_rules",
             model=SecurityGroupRule, fields={
                 "id": Field(SecurityGroupRule.id),
                 "security_group_id": Field(SecurityGroupRule.security_group_id),
                 "direction": Field(SecurityGroupRule.direction),
                 "ethertype": Field(SecurityGroupRule.ethertype),
                 "protocol": Field(SecurityGroupRule.protocol),
                 "port_range_min": Field(SecurityGroupRule.port_range_min, as_int),
                 "port_range_max": Field(SecurityGroupRule.port_range_max, as_int),
                 "remote_ip_prefix": Field(SecurityGroupRule.remote_ip_prefix),
                 "remote_group_id": Field(SecurityGroupRule.remote_group_id),
                 "description": Field(SecurityGroupRule.description),
                 "project_id": Field(SecurityGroupRule.project_id),
                 "tenant_id": Field(SecurityGroupRule.project_id),
                 "revision_number": Field(SecurityGroupRule.revision_number, as_int),
                 "created_at": Field(SecurityGroupRule.created_at),
                 "updated_at": Field(SecurityGroupRule.updated_at),
             }, special={"belongs_to_default_sg": _belongs_to_default})


def visible_groups(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """An admin sees every group, a project its own."""
    if ctx.is_admin:
        return []
    return [SecurityGroup.project_id == ctx.project_id]


def visible_rules(ctx: RequestContext) -> list[ColumnElement[bool]]:
    """A rule is seen with its group."""
    if ctx.is_admin:
        return []
    return [SecurityGroupRule.security_group_id.in_(
        sa.select(SecurityGroup.id).where(*visible_groups(ctx)))]


async def get_group(db: AsyncSession, ctx: RequestContext, group_id: str) -> SecurityGroup:
    row = (await db.execute(sa.select(SecurityGroup).where(
        SecurityGroup.id == group_id, *visible_groups(ctx)))).scalar_one_or_none()
    if row is None:
        raise SecurityGroupNotFound(group_id)
    return row


async def get_rule(db: AsyncSession, ctx: RequestContext, rule_id: str) -> SecurityGroupRule:
    row = (await db.execute(sa.select(SecurityGroupRule).where(
        SecurityGroupRule.id == rule_id, *visible_rules(ctx)))).scalar_one_or_none()
    if row is None:
        raise SecurityGroupRuleNotFound(rule_id)
    return row


async def rules_of(db: AsyncSession, group_ids: Sequence[str]
                   ) -> dict[str, list[SecurityGroupRule]]:
    """Each group's rules, oldest first."""
    found: dict[str, list[SecurityGroupRule]] = {}
    for start in range(0, len(group_ids), 500):
        rows = await db.execute(sa.select(SecurityGroupRule).where(
            SecurityGroupRule.security_group_id.in_(group_ids[start:start + 500]))
            .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))
        for rule in rows.scalars():
            found.setdefault(rule.security_group_id, []).append(rule)
    return found


async def default_groups(db: AsyncSession, group_ids: Sequence[str]) -> set[str]:
    """Those of ``group_ids`` that are a project's default group."""
    if not group_ids:
        return set()
    rows = await db.execute(sa.select(SecurityGroup.id).where(
        SecurityGroup.id.in_(set(group_ids)), SecurityGroup.default_marker.is_(True)))
    return set(rows.scalars().all())


async def default_group_id(db: Runner, project_id: str, *, latest: bool = False
                           ) -> str | None:
    """``latest``: a locking read, which sees the newest commit even inside a MariaDB
    (REPEATABLE READ) transaction whose snapshot predates it."""
    found: str | None = (await run(db, _DEFAULT_GROUP_LOCKED if latest else DEFAULT_GROUP,
                                   {"project_id": project_id})).scalar()
    return found


# Built once (a port create looks for its project's default group, ``project_id`` bound
# when run; ports.network_for_port reads it as a scalar subquery).
DEFAULT_GROUP: Final = sa.select(SecurityGroup.id).where(
    SecurityGroup.project_id == sa.bindparam("project_id"),
    SecurityGroup.default_marker.is_(True))
_DEFAULT_GROUP_LOCKED: Final = DEFAULT_GROUP.with_for_update(read=True)


async def ensure_default(db: Runner, config: NetworkConfig, project_id: str) -> str:
    """The id of ``project_id``'s default group, made now if it has none.

    Call it inside the write transaction of what needs the group (a group or rule create,
    a port create that names no group). ``config`` is taken like every create's, but the
    default group is made as Neutron makes it, without a quota check.

    Race-free: the insert runs under a savepoint, and when a concurrent first use won the
    unique ``(project_id, default_marker)`` only this insert rolls back and the winner's
    group is returned. The group and its rules count towards the project's usage.
    """
    existing = await default_group_id(db, project_id)
    if existing is not None:
        return existing
    return await _make_default(db, project_id)


async def _make_default(db: Runner, project_id: str) -> str:
    """:func:`ensure_default` once a read found no default group of ``project_id``.

    On SQLite the group is a Core ``INSERT ... ON CONFLICT DO NOTHING`` and its four rules
    one Core insert, the statements a plain group create runs (built once, so compiled
    once per process), where the ORM's savepoint, flushes and release took five (decision
    91); a taken key still means a concurrent first use won."""
    values = {"id": str(uuid.uuid4()), "project_id": project_id, "name": DEFAULT_NAME,
              "description": DEFAULT_DESCRIPTION, "stateful": True, "default_marker": True}
    if isinstance(db, Plain):
        return await _make_default_plain(db, project_id, values)
    if is_sqlite(db):
        made = await insert_row(db, SecurityGroup, values)
        if made is None:
            winner = await default_group_id(db, project_id, latest=True)
            if winner is None:
                raise RuntimeError("a default group insert conflicted with no default")
            return winner
        await add_rows(db, SecurityGroupRule, [
            _rule_values(made.id, project_id, spec, "")
            for spec in default_group_rules(made.id, is_default=True)])
        return made.id
    group = SecurityGroup(**values)
    try:
        async with db.begin_nested():
            db.add(group)
            await db.flush()
            _add_rules(db, group, project_id,
                       [(spec, "") for spec in default_group_rules(group.id, is_default=True)])
            await db.flush()
    except IntegrityError:
        winner = await default_group_id(db, project_id, latest=True)
        if winner is None:
            raise
        return winner
    return group.id


async def _make_default_plain(db: Plain, project_id: str, values: dict[str, Any]) -> str:
    """:func:`_make_default` on a plain connection (a port create's): the same statements,
    with no object made. On SQLite the group's ``INSERT ... ON CONFLICT DO NOTHING`` and
    its rules' insert; elsewhere both Core inserts under one savepoint. A taken key means a
    concurrent first use won, whose group is the default."""
    group_id: str = values["id"]
    rules = [_rule_values(group_id, project_id, spec, "")
             for spec in default_group_rules(group_id, is_default=True)]
    if is_sqlite(db):
        made = await insert_new(db, SecurityGroup, values) is not None
        if made:
            await insert_plain(db, SecurityGroupRule, rules)
    else:
        made = await under_savepoint(db, [(_GROUP_INSERT, values), (_RULES_INSERT, rules)])
    if made:
        return group_id
    winner = await default_group_id(db, project_id, latest=True)
    if winner is None:
        raise RuntimeError("a default group insert conflicted with no default")
    return winner


# Built once: the Core inserts of a default group and its rules beside SQLite.
_GROUP_INSERT: Final = sa.insert(cast(sa.Table, SecurityGroup.__table__))
_RULES_INSERT: Final = sa.insert(cast(sa.Table, SecurityGroupRule.__table__))


def check_name(name: str | None) -> None:
    """No group but the project's own default may be named "default" (in any case)."""
    if name is not None and name.lower() == DEFAULT_NAME:
        raise SecurityGroupDefaultAlreadyExists()


async def create_group(db: AsyncSession, config: NetworkConfig, project_id: str,
                       data: dict[str, Any]) -> tuple[SecurityGroup, list[SecurityGroupRule]]:
    """A new group of ``project_id`` with the two egress rules, and those rules in the
    order :func:`rules_of` reads them; the project's default group is made first if it
    has none."""
    check_name(data.get("name"))
    # The group quota, the default group and the rule quota in one statement; the rule
    # quota is read again after the default group (and its rules) is made.
    # Plain columns: on the connection, past the ORM's execute (decision 87).
    (group_limit, group_usage, default_id, rule_limit, rule_usage) = (await run(
        db, _NEW_GROUP_READ, {"project_id": project_id, **quotas.default_limits_bound(
            config, "security_group", "security_group_rule")})).one()
    quotas.judge(config, "security_group", group_limit, group_usage)
    egress = default_group_rules("", is_default=False)
    if default_id is None:
        # The read found none: made now (or by a concurrent first use), and its four
        # rules count with the usage read (decision 91).
        await _make_default(db, project_id)
        rule_usage = int(rule_usage or 0) + len(default_group_rules("", is_default=True))
    quotas.judge(config, "security_group_rule", rule_limit, rule_usage, len(egress))
    group = await add_row(db, SecurityGroup, {
        "id": str(uuid.uuid4()), "project_id": project_id, "name": data.get("name") or "",
        "description": data.get("description") or "", "stateful": data.get("stateful", True),
        "default_marker": None})
    rules = await add_rows(db, SecurityGroupRule, [
        _rule_values(group.id, project_id, spec, "") for spec in egress])
    return group, sorted(rules, key=lambda rule: (rule.created_at, rule.id))


# Built once (``project_id`` and the default limits bound when run): what a group create
# reads first.
_NEW_GROUP_READ: Final = sa.select(
    *quotas.limit_and_usage_of("security_group"), DEFAULT_GROUP.scalar_subquery(),
    *quotas.limit_and_usage_of("security_group_rule"))


async def update_group(db: AsyncSession, row: SecurityGroup, data: dict[str, Any],
                       revision: int | None) -> SecurityGroup:
    check_revision(row, revision)
    if "name" in data:
        check_name(data["name"])
        if row.default_marker:
            raise SecurityGroupCannotUpdateDefault()
        row.name = data["name"] or ""
    if "description" in data:
        row.description = data["description"] or ""
    if "stateful" in data and data["stateful"] != row.stateful:
        if await _in_use(db, row.id):
            raise SecurityGroupInUse(row.id)
        row.stateful = data["stateful"]
    touch(row)
    await db.flush()
    return row


async def delete_group(db: AsyncSession, ctx: RequestContext, row: SecurityGroup,
                       revision: int | None) -> None:
    """Delete a group no port uses; only an admin deletes a default group."""
    check_revision(row, revision)
    if await _in_use(db, row.id):
        raise SecurityGroupInUse(row.id)
    if row.default_marker and not ctx.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    doomed = sa.or_(SecurityGroupRule.security_group_id == row.id,
                    SecurityGroupRule.remote_group_id == row.id)
    rule_ids = list((await db.execute(sa.select(SecurityGroupRule.id).where(doomed)))
                    .scalars().all())
    await drop_tags(db, [row.id, *rule_ids])
    await db.execute(sa.delete(SecurityGroupRule).where(doomed))
    await db.delete(row)


async def _in_use(db: AsyncSession, group_id: str) -> bool:
    port = await db.scalar(sa.select(PortSecurityGroup.port_id).where(
        PortSecurityGroup.security_group_id == group_id).limit(1))
    return port is not None


@dataclass(frozen=True)
class NewRule:
    """One rule of a create request: its matching fields and its description."""

    spec: RuleSpec
    description: str


async def create_rules(db: AsyncSession, ctx: RequestContext, config: NetworkConfig,
                       group: SecurityGroup, project_id: str, rules: Sequence[NewRule]
                       ) -> list[SecurityGroupRule]:
    """Add ``rules`` to ``group``, all or none: each remote group must exist and be visible,
    no rule may repeat another or one the group holds, and the quota must allow them all.
    The group's revision moves on once."""
    for rule in rules:
        remote = rule.spec.remote_group_id
        if remote is not None and remote != group.id:
            await get_group(db, ctx, remote)
    existing = (await rules_of(db, [group.id])).get(group.id, [])
    check_duplicates([rule.spec for rule in rules],
                     [(row.id, spec_of(row)) for row in existing])
    await quotas.check(db, config, project_id, "security_group_rule", len(rules))
    made = _add_rules(db, group, project_id,
                      [(rule.spec, rule.description) for rule in rules])
    touch(group)
    await db.flush()
    return made


async def delete_rule(db: AsyncSession, row: SecurityGroupRule, revision: int | None) -> None:
    check_revision(row, revision)
    group = await db.get(SecurityGroup, row.security_group_id)
    if group is not None:
        touch(group)
    await drop_tags(db, [row.id])
    await db.delete(row)


def spec_of(row: SecurityGroupRule) -> RuleSpec:
    """A stored rule's matching fields."""
    direction: Direction = "egress" if row.direction == "egress" else "ingress"
    ethertype: Ethertype = "IPv6" if row.ethertype == "IPv6" else "IPv4"
    return RuleSpec(direction=direction, ethertype=ethertype, protocol=row.protocol,
                    port_range_min=row.port_range_min, port_range_max=row.port_range_max,
                    remote_ip_prefix=row.remote_ip_prefix,
                    remote_group_id=row.remote_group_id)


def _add_rules(db: AsyncSession, group: SecurityGroup, project_id: str,
               rules: Sequence[tuple[RuleSpec, str]]) -> list[SecurityGroupRule]:
    made = []
    for spec, description in rules:
        row = SecurityGroupRule(**_rule_values(group.id, project_id, spec, description))
        db.add(row)
        made.append(row)
    return made


def _rule_values(group_id: str, project_id: str, spec: RuleSpec, description: str
                 ) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "project_id": project_id,
            "security_group_id": group_id, "description": description,
            "direction": spec.direction, "ethertype": spec.ethertype,
            "protocol": spec.protocol, "port_range_min": spec.port_range_min,
            "port_range_max": spec.port_range_max, "remote_ip_prefix": spec.remote_ip_prefix,
            "remote_group_id": spec.remote_group_id}
