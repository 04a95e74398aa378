"""Removing projects, users, groups and domains together with what hangs off them.

Keystone deletes an entity's role assignments, application credentials, credentials and
memberships with it, and revokes the tokens that relied on it; here its OAuth1 request and
access tokens go too. These functions do the same inside the caller's write transaction,
so the delete and its clean-up commit together. They delete rows explicitly rather than
trusting ``ON DELETE CASCADE``: assignments and credentials have no foreign key to their
actor or target at all.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.identity.objects import endpoint_filter, oauth1, revocation
from ownstack.identity.objects.assignments import (
    GROUP_DOMAIN,
    GROUP_PROJECT,
    GROUP_SYSTEM,
    USER_DOMAIN,
    USER_PROJECT,
    USER_SYSTEM,
)
from ownstack.identity.objects.models import (
    AccessRule,
    ApplicationCredential,
    ApplicationCredentialAccessRule,
    ApplicationCredentialRole,
    Assignment,
    Credential,
    Domain,
    DomainConfigOption,
    Group,
    GroupMembership,
    ImpliedRole,
    Password,
    Project,
    ProjectTag,
    Role,
    User,
)

_USER_KINDS = (USER_PROJECT, USER_DOMAIN, USER_SYSTEM)
_GROUP_KINDS = (GROUP_PROJECT, GROUP_DOMAIN, GROUP_SYSTEM)


async def delete_app_creds(db: AsyncSession, *, user_ids: Collection[str] = (),
                           project_ids: Collection[str] = ()) -> None:
    """Delete the application credentials of these users, or scoped to these projects."""
    condition = ApplicationCredential.user_id.in_(user_ids) | \
        ApplicationCredential.project_id.in_(project_ids)
    ids = list((await db.scalars(select(ApplicationCredential.id).where(condition))).all())
    if not ids:
        return
    await db.execute(delete(ApplicationCredentialRole).where(
        ApplicationCredentialRole.application_credential_id.in_(ids)))
    await db.execute(delete(ApplicationCredentialAccessRule).where(
        ApplicationCredentialAccessRule.application_credential_id.in_(ids)))
    await db.execute(delete(ApplicationCredential).where(ApplicationCredential.id.in_(ids)))
    for cred_id in ids:
        await revocation.revoke(db, app_cred_id=cred_id)


async def delete_projects(db: AsyncSession, project_ids: Collection[str]) -> None:
    """Delete these projects, their tags and the assignments on them, and revoke every
    token scoped to them. The set must be closed under children (a whole subtree)."""
    ids = list(project_ids)
    if not ids:
        return
    await db.execute(delete(Assignment).where(Assignment.type.in_((USER_PROJECT, GROUP_PROJECT)),
                                              Assignment.target_id.in_(ids)))
    await delete_app_creds(db, project_ids=ids)
    await db.execute(delete(Credential).where(Credential.project_id.in_(ids)))
    await endpoint_filter.forget_project(db, ids)
    await oauth1.forget_projects(db, ids)
    await db.execute(update(User).where(User.default_project_id.in_(ids))
                     .values(default_project_id=None))
    await db.execute(delete(ProjectTag).where(ProjectTag.project_id.in_(ids)))
    # Unlink the subtree first, so that no row still refers to a parent being deleted.
    await db.execute(update(Project).where(Project.id.in_(ids)).values(parent_id=None))
    await db.execute(delete(Project).where(Project.id.in_(ids)))
    for project_id in ids:
        await revocation.revoke(db, project_id=project_id)


async def delete_users(db: AsyncSession, user_ids: Collection[str]) -> None:
    """Delete these users with their passwords, memberships, assignments and application
    credentials, and revoke their tokens."""
    ids = list(user_ids)
    if not ids:
        return
    await db.execute(delete(Assignment).where(Assignment.type.in_(_USER_KINDS),
                                              Assignment.actor_id.in_(ids)))
    await db.execute(delete(GroupMembership).where(GroupMembership.user_id.in_(ids)))
    await delete_app_creds(db, user_ids=ids)
    await db.execute(delete(Credential).where(Credential.user_id.in_(ids)))
    await db.execute(delete(Password).where(Password.user_id.in_(ids)))
    await db.execute(delete(AccessRule).where(AccessRule.user_id.in_(ids)))
    await oauth1.forget_users(db, ids)
    await db.execute(delete(User).where(User.id.in_(ids)))
    for user_id in ids:
        await revocation.revoke(db, user_id=user_id)


async def delete_groups(db: AsyncSession, group_ids: Collection[str]) -> None:
    """Delete these groups with their memberships and assignments, and revoke the tokens
    of their former members (their roles may have come from the group)."""
    ids = list(group_ids)
    if not ids:
        return
    members = set((await db.scalars(select(GroupMembership.user_id)
                                    .where(GroupMembership.group_id.in_(ids)))).all())
    await db.execute(delete(Assignment).where(Assignment.type.in_(_GROUP_KINDS),
                                              Assignment.actor_id.in_(ids)))
    await db.execute(delete(GroupMembership).where(GroupMembership.group_id.in_(ids)))
    await db.execute(delete(Group).where(Group.id.in_(ids)))
    for user_id in sorted(members):
        await revocation.revoke(db, user_id=user_id)


async def delete_domain(db: AsyncSession, domain_id: str) -> None:
    """Delete a domain and everything in it: projects, users, groups, domain-specific
    roles, and every assignment on the domain; revoke every token tied to it."""
    project_ids = (await db.scalars(select(Project.id).where(Project.domain_id == domain_id))).all()
    user_ids = (await db.scalars(select(User.id).where(User.domain_id == domain_id))).all()
    group_ids = (await db.scalars(select(Group.id).where(Group.domain_id == domain_id))).all()
    await delete_projects(db, project_ids)
    await delete_users(db, user_ids)
    await delete_groups(db, group_ids)
    await db.execute(delete(Assignment).where(Assignment.type.in_((USER_DOMAIN, GROUP_DOMAIN)),
                                              Assignment.target_id == domain_id))
    role_ids = (await db.scalars(select(Role.id).where(Role.domain_id == domain_id))).all()
    if role_ids:
        await db.execute(delete(Assignment).where(Assignment.role_id.in_(role_ids)))
        await db.execute(delete(ImpliedRole).where(ImpliedRole.prior_role_id.in_(role_ids)
                                                   | ImpliedRole.implied_role_id.in_(role_ids)))
        await db.execute(delete(Role).where(Role.id.in_(role_ids)))
    await db.execute(delete(DomainConfigOption).where(DomainConfigOption.domain_id == domain_id))
    await db.execute(delete(Domain).where(Domain.id == domain_id))
    await revocation.revoke(db, domain_id=domain_id)
