"""Idempotent bootstrap: the default domain, admin project and user, the three default
roles with their implications, the services' own user, the region, and the catalog entries
of every service."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.catalog import CatalogEntry
from ownstack.common.clients.auth import SERVICE_PROJECT, SERVICE_USER
from ownstack.identity.objects.assignments import SYSTEM_TARGET, USER_PROJECT, USER_SYSTEM
from ownstack.identity.objects.models import (
    Assignment,
    Domain,
    Endpoint,
    ImpliedRole,
    Password,
    Project,
    Region,
    Revision,
    Role,
    Service,
    User,
)
from ownstack.identity.passwords import MIN_ROUNDS, cost_of
from ownstack.identity.state import IdentityState

log = logging.getLogger(__name__)

DEFAULT_DOMAIN_ID = "default"
INTERFACES = ("public", "internal", "admin")
# admin implies member implies reader, as Keystone's bootstrap sets them up.
DEFAULT_ROLES = ("admin", "member", "reader")


async def bootstrap(svc: IdentityState, *, admin_password: str,
                    catalog: Sequence[CatalogEntry], service_password: str | None = None
                    ) -> None:
    async with svc.write() as db:
        if await db.get(Revision, 1) is None:
            await db.execute(insert(Revision).values(id=1, value=0))
        if await db.get(Domain, DEFAULT_DOMAIN_ID) is None:
            db.add(Domain(id=DEFAULT_DOMAIN_ID, name="Default",
                          description="The default domain", enabled=True, extra={}))
        roles = {name: await _ensure_role(db, name) for name in DEFAULT_ROLES}
        await db.flush()
        for prior, implied in itertools.pairwise(DEFAULT_ROLES):
            if await db.get(ImpliedRole, (roles[prior].id, roles[implied].id)) is None:
                db.add(ImpliedRole(prior_role_id=roles[prior].id,
                                   implied_role_id=roles[implied].id))
        admin_project = await _ensure_project(db, "admin",
                                              "Bootstrap project for the cloud admin")
        admin = await _ensure_user(svc, db, "admin", admin_password, admin_project)
        for kind, target in ((USER_PROJECT, admin_project.id), (USER_SYSTEM, SYSTEM_TARGET)):
            await _ensure_assignment(db, kind, admin.id, target, roles["admin"].id)
        if service_password is not None:
            # The user the services themselves authenticate as, to reach each other's
            # admin APIs (compute asks Placement for allocations), as Nova's "nova" user.
            service_project = await _ensure_project(db, SERVICE_PROJECT,
                                                    "Project of the services' own user")
            # Its password is 24 random bytes, beyond any guessing whatever bcrypt's
            # cost: hashed at the least cost, every process's first service token costs
            # milliseconds instead of a quarter of a second of each start.
            service_user = await _ensure_user(svc, db, SERVICE_USER, service_password,
                                              service_project, rounds=MIN_ROUNDS)
            await _ensure_assignment(db, USER_PROJECT, service_user.id, service_project.id,
                                     roles["admin"].id)
        region = svc.config.cloud.region
        if await db.get(Region, region) is None:
            db.add(Region(id=region, description="", extra={}))
        for entry in catalog:
            await _ensure_catalog_entry(db, entry, region)
    log.info("bootstrap complete: domain, admin project and user, roles, region %s, "
             "%d catalog entries", region, len(catalog))


async def _ensure_project(db: AsyncSession, name: str, description: str) -> Project:
    project = await db.scalar(select(Project).where(
        Project.domain_id == DEFAULT_DOMAIN_ID, Project.name == name))
    if project is None:
        project = Project(name=name, domain_id=DEFAULT_DOMAIN_ID, description=description,
                          extra={})
        db.add(project)
        await db.flush()
    return project


async def _ensure_user(svc: IdentityState, db: AsyncSession, name: str, password: str,
                       project: Project, *, rounds: int | None = None) -> User:
    """The user, made with ``password`` (hashed at ``rounds``, else the configured cost)
    when missing. With ``rounds``, a hash made at another cost is made again once, if the
    password still matches it (a cloud initialised before the cost was chosen)."""
    user = await db.scalar(select(User).where(
        User.domain_id == DEFAULT_DOMAIN_ID, User.name == name))
    if user is None:
        user = User(name=name, domain_id=DEFAULT_DOMAIN_ID, enabled=True, extra={},
                    options={})
        db.add(user)
        await db.flush()
        db.add(Password(user_id=user.id, hash=await svc.hasher.hash(password, rounds=rounds)))
        await db.flush()
    elif rounds is not None:
        current = await db.scalar(select(Password).where(Password.user_id == user.id)
                                  .order_by(Password.id.desc()).limit(1))
        if current is not None and cost_of(current.hash) != rounds and \
                await svc.hasher.verify(password, current.hash):
            current.hash = await svc.hasher.hash(password, rounds=rounds)
    user.default_project_id = user.default_project_id or project.id
    return user


async def _ensure_assignment(db: AsyncSession, kind: str, actor_id: str, target_id: str,
                             role_id: str) -> None:
    key = (kind, actor_id, target_id, role_id, False)
    if await db.get(Assignment, key) is None:
        db.add(Assignment(type=kind, actor_id=actor_id, target_id=target_id, role_id=role_id,
                          inherited=False))


async def _ensure_role(db: AsyncSession, name: str) -> Role:
    role = await db.scalar(select(Role).where(Role.name == name, Role.domain_id == ""))
    if role is None:
        role = Role(name=name, domain_id="", options={}, extra={})
        db.add(role)
    return role


async def _ensure_catalog_entry(db: AsyncSession, entry: CatalogEntry, region: str) -> None:
    service = await db.scalar(select(Service).where(Service.type == entry.type,
                                                    Service.name == entry.name))
    if service is None:
        service = Service(type=entry.type, name=entry.name, description=entry.description,
                          enabled=True, extra={})
        db.add(service)
        await db.flush()
    existing = {e.interface: e for e in (await db.scalars(
        select(Endpoint).where(Endpoint.service_id == service.id,
                               Endpoint.region_id == region))).all()}
    for interface in INTERFACES:
        endpoint = existing.get(interface)
        if endpoint is None:
            db.add(Endpoint(service_id=service.id, interface=interface, url=entry.url,
                            region_id=region, enabled=True, extra={}))
        elif endpoint.url != entry.url:
            # The address moved (new host or port): keep the catalog true.
            endpoint.url = entry.url
