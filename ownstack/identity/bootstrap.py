"""Idempotent bootstrap: the default domain, admin project and user, the default roles
with their implications, the services' own user, the region, and the catalog entries
of every service."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.catalog import CatalogEntry
from ownstack.common.clients.auth import SERVICE_PROJECT, SERVICE_USER
from ownstack.identity.objects import catalog as catalog_rows
from ownstack.identity.objects import domains, grants, passwords, projects, roles, users
from ownstack.identity.objects.assignments import SYSTEM_TARGET, USER_PROJECT, USER_SYSTEM
from ownstack.identity.objects.revision import ensure_revision
from ownstack.identity.passwords import MIN_ROUNDS, cost_of
from ownstack.identity.state import IdentityState

log = logging.getLogger(__name__)

# admin implies member implies reader, as Keystone's bootstrap sets them up.
DEFAULT_ROLES = ("admin", "member", "reader")
# Keystone's bootstrap (2024.1) also makes ``manager`` and ``service``, which clients such
# as Tempest expect to find (its dynamic credentials ask for them by name). No policy of
# ownstack names them yet, so they stand apart: manager does not sit between admin and
# member as in Keystone, which would change every admin token's role list.
STANDALONE_ROLES = ("manager", "service")


async def bootstrap(svc: IdentityState, *, admin_password: str,
                    catalog: Sequence[CatalogEntry], service_password: str | None = None
                    ) -> None:
    async with svc.write() as db:
        await ensure_revision(db)
        await domains.ensure_default_domain(db)
        default_roles = {name: await roles.ensure_role(db, name) for name in DEFAULT_ROLES}
        for prior, implied in itertools.pairwise(DEFAULT_ROLES):
            await roles.ensure_rule(db, default_roles[prior], default_roles[implied])
        for name in STANDALONE_ROLES:
            await roles.ensure_role(db, name)
        admin_role = default_roles["admin"].id
        admin_id = await _admin_of_project(svc, db, "admin", admin_password, "admin",
                                           "Bootstrap project for the cloud admin", admin_role)
        await grants.ensure_grant(db, grants.Grant(USER_SYSTEM, admin_id, SYSTEM_TARGET),
                                  admin_role)
        if service_password is not None:
            # The user the services themselves authenticate as, to reach each other's
            # admin APIs (compute asks Placement for allocations), as Nova's "nova" user.
            # Its password is 24 random bytes, beyond any guessing whatever bcrypt's
            # cost: hashed at the least cost, every process's first service token costs
            # milliseconds instead of a quarter of a second of each start.
            await _admin_of_project(svc, db, SERVICE_USER, service_password, SERVICE_PROJECT,
                                    "Project of the services' own user", admin_role,
                                    rounds=MIN_ROUNDS)
        region = svc.config.cloud.region
        await catalog_rows.ensure_region(db, region)
        for entry in catalog:
            await catalog_rows.ensure_service(db, type=entry.type, name=entry.name,
                                                description=entry.description,
                                                url=entry.url, region_id=region)
    log.info("bootstrap complete: domain, admin project and user, roles, region %s, "
             "%d catalog entries", region, len(catalog))


async def _admin_of_project(svc: IdentityState, db: AsyncSession, name: str, password: str,
                            project_name: str, description: str, admin_role: str, *,
                            rounds: int | None = None) -> str:
    """Make sure the user, its project in the default domain and its admin role there
    exist; the user's id. The password is hashed at ``rounds`` (else the configured
    cost); with ``rounds``, a hash made at another cost is made again once, if the
    password still matches it (a cloud initialised before the cost was chosen)."""
    project = await projects.ensure_project(db, project_name, description)
    user = await users.ensure_user(db, name, project.id,
                                   lambda: svc.hasher.hash(password, rounds=rounds))
    if rounds is not None:
        current = await passwords.current_password(db, user.id)
        if current is not None and cost_of(current.hash) != rounds and \
                await svc.hasher.verify(password, current.hash):
            current.hash = await svc.hasher.hash(password, rounds=rounds)
    await grants.ensure_grant(db, grants.Grant(USER_PROJECT, user.id, project.id), admin_role)
    return user.id
