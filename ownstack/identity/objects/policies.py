"""Keystone's deprecated policy store (``/v3/policies``): blobs of a MIME ``type`` kept
for clients that fetch them. ownstack enforces its own policy (``policy.py`` and the
``policy_file``), never a stored blob."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest
from ownstack.identity.objects import rows
from ownstack.identity.objects.models import Policy

_RESERVED = {"id", "links", "type", "blob"}


async def list_policies(db: AsyncSession, *, type: str | None = None) -> Sequence[Policy]:
    return (await db.scalars(select(Policy).where(*rows.matching((Policy.type, type)))
                             .order_by(Policy.id))).all()


async def get_policy(db: AsyncSession, policy_id: str) -> Policy:
    return await rows.get_or_404(db, Policy, policy_id, "policy")


async def create_policy(db: AsyncSession, data: Mapping[str, Any]) -> Policy:
    """A new policy; an ``id`` in the body is not kept (Keystone assigns its own)."""
    return await rows.added(db, Policy(type=data["type"], blob=data["blob"],
                                       extra=rows.extra_attrs(data, _RESERVED)))


async def update_policy(db: AsyncSession, policy_id: str, data: Mapping[str, Any]) -> Policy:
    policy = await get_policy(db, policy_id)
    if "id" in data and data["id"] != policy_id:
        raise BadRequest("Cannot change policy ID")
    rows.assign(policy, data, ("type", "blob"))
    rows.merge_extra(policy, data, _RESERVED)
    await db.flush()
    return policy


async def delete_policy(db: AsyncSession, policy_id: str) -> None:
    await db.delete(await get_policy(db, policy_id))
