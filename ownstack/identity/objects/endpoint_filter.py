"""Keystone's OS-EP-FILTER: endpoint groups, and endpoints or endpoint groups associated
with projects. A project with any association gets only those endpoints in its tokens'
catalogs (Keystone's catalog filter); a project with none gets the whole catalog
(Keystone's default ``return_all_endpoints_if_no_filter``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import BadRequest, NotFound
from ownstack.identity.errors import DuplicateEntity
from ownstack.identity.objects import rows
from ownstack.identity.objects.models import (
    Endpoint,
    EndpointGroup,
    Project,
    ProjectEndpoint,
    ProjectEndpointGroup,
)

FILTER_KEYS = ("service_id", "region_id", "interface")
_FIELDS = ("name", "description", "filters")


def _check_filters(filters: Mapping[str, Any] | None) -> None:
    if not filters:
        raise BadRequest("filters field is required and cannot be empty")
    if any(key not in FILTER_KEYS for key in filters):
        raise BadRequest(f"Expecting to find {' or '.join(FILTER_KEYS)} in endpoint_group. "
                         "The server could not comply with the request since it is either "
                         "malformed or otherwise incorrect. The client is assumed to be in "
                         "error.")


def matches(endpoint: Endpoint, filters: Mapping[str, Any]) -> bool:
    return all(getattr(endpoint, key) == value for key, value in filters.items())


# --- endpoint groups -----------------------------------------------------------------------

async def get_endpoint_group(db: AsyncSession, group_id: str) -> EndpointGroup:
    return await rows.get_or_404(db, EndpointGroup, group_id, "endpoint group")


async def list_endpoint_groups(db: AsyncSession, *, name: str | None = None
                               ) -> Sequence[EndpointGroup]:
    return (await db.scalars(select(EndpointGroup).where(
        *rows.matching((EndpointGroup.name, name))).order_by(EndpointGroup.name,
                                                             EndpointGroup.id))).all()


async def create_endpoint_group(db: AsyncSession, data: Mapping[str, Any]) -> EndpointGroup:
    _check_filters(data.get("filters"))
    return await rows.added(db, EndpointGroup(name=data["name"],
                                              description=data.get("description"),
                                              filters=dict(data["filters"])))


async def update_endpoint_group(db: AsyncSession, group_id: str, data: Mapping[str, Any]
                                ) -> EndpointGroup:
    group = await get_endpoint_group(db, group_id)
    changes = {key: value for key, value in data.items()
               if not (key == "filters" and value is None)}     # null: unchanged
    if "filters" in changes:
        _check_filters(changes["filters"])
        changes["filters"] = dict(changes["filters"])
    rows.assign(group, changes, _FIELDS)
    await db.flush()
    return group


async def delete_endpoint_group(db: AsyncSession, group_id: str) -> None:
    group = await get_endpoint_group(db, group_id)
    await db.execute(delete(ProjectEndpointGroup).where(
        ProjectEndpointGroup.endpoint_group_id == group.id))
    await db.delete(group)


async def endpoints_in_group(db: AsyncSession, group_id: str) -> list[Endpoint]:
    group = await get_endpoint_group(db, group_id)
    found = (await db.scalars(select(Endpoint).order_by(Endpoint.id))).all()
    return [e for e in found if matches(e, group.filters)]


async def projects_of_group(db: AsyncSession, group_id: str) -> Sequence[Project]:
    await get_endpoint_group(db, group_id)
    return (await db.scalars(select(Project).join(
        ProjectEndpointGroup, ProjectEndpointGroup.project_id == Project.id).where(
        ProjectEndpointGroup.endpoint_group_id == group_id).order_by(Project.name))).all()


async def groups_of_project(db: AsyncSession, project_id: str) -> Sequence[EndpointGroup]:
    await rows.get_or_404(db, Project, project_id, "project")
    return (await db.scalars(select(EndpointGroup).join(
        ProjectEndpointGroup, ProjectEndpointGroup.endpoint_group_id == EndpointGroup.id)
        .where(ProjectEndpointGroup.project_id == project_id)
        .order_by(EndpointGroup.name, EndpointGroup.id))).all()


async def _group_and_project(db: AsyncSession, group_id: str, project_id: str
                             ) -> ProjectEndpointGroup | None:
    await rows.get_or_404(db, Project, project_id, "project")
    await get_endpoint_group(db, group_id)
    return await db.get(ProjectEndpointGroup, (group_id, project_id))


async def get_group_in_project(db: AsyncSession, group_id: str, project_id: str
                               ) -> ProjectEndpointGroup:
    found = await _group_and_project(db, group_id, project_id)
    if found is None:
        raise NotFound("Endpoint Group Project Association not found")
    return found


async def add_group_to_project(db: AsyncSession, group_id: str, project_id: str) -> None:
    if await _group_and_project(db, group_id, project_id) is not None:
        raise DuplicateEntity("project_endpoint_group", "Duplicate entry")
    db.add(ProjectEndpointGroup(endpoint_group_id=group_id, project_id=project_id))
    await rows.flush_unique(db, DuplicateEntity("project_endpoint_group", "Duplicate entry"))


async def remove_group_from_project(db: AsyncSession, group_id: str, project_id: str) -> None:
    await db.delete(await get_group_in_project(db, group_id, project_id))


# --- endpoints associated with projects directly -------------------------------------------

def _not_in_project(endpoint_id: str, project_id: str) -> NotFound:
    return NotFound(f"Endpoint {endpoint_id} not found in project {project_id}")


async def _endpoint_and_project(db: AsyncSession, endpoint_id: str, project_id: str
                                ) -> ProjectEndpoint | None:
    await rows.get_or_404(db, Endpoint, endpoint_id, "endpoint")
    await rows.get_or_404(db, Project, project_id, "project")
    return await db.get(ProjectEndpoint, (endpoint_id, project_id))


async def check_endpoint_in_project(db: AsyncSession, endpoint_id: str, project_id: str
                                    ) -> None:
    if await _endpoint_and_project(db, endpoint_id, project_id) is None:
        raise _not_in_project(endpoint_id, project_id)


async def add_endpoint_to_project(db: AsyncSession, endpoint_id: str, project_id: str
                                  ) -> None:
    duplicate = DuplicateEntity("project_endpoint", "Duplicate entry")
    if await _endpoint_and_project(db, endpoint_id, project_id) is not None:
        raise duplicate
    db.add(ProjectEndpoint(endpoint_id=endpoint_id, project_id=project_id))
    await rows.flush_unique(db, duplicate)


async def remove_endpoint_from_project(db: AsyncSession, endpoint_id: str, project_id: str
                                       ) -> None:
    found = await db.get(ProjectEndpoint, (endpoint_id, project_id))
    if found is None:
        raise _not_in_project(endpoint_id, project_id)
    await db.delete(found)


async def projects_of_endpoint(db: AsyncSession, endpoint_id: str) -> Sequence[Project]:
    await rows.get_or_404(db, Endpoint, endpoint_id, "endpoint")
    return (await db.scalars(select(Project).join(
        ProjectEndpoint, ProjectEndpoint.project_id == Project.id).where(
        ProjectEndpoint.endpoint_id == endpoint_id).order_by(Project.name))).all()


async def endpoints_of_project(db: AsyncSession, project_id: str) -> list[Endpoint]:
    """The project's endpoints: those associated directly and those of its groups."""
    await rows.get_or_404(db, Project, project_id, "project")
    filters = await project_filters(db, [project_id])
    wanted = filters.get(project_id, set())
    found = (await db.scalars(select(Endpoint).order_by(Endpoint.id))).all()
    return [e for e in found if e.id in wanted]


async def project_filters(db: AsyncSession, project_ids: Sequence[str] | None = None
                          ) -> dict[str, set[str]]:
    """For each project with any association (of ``project_ids``, or all), the ids of the
    endpoints its catalog is limited to."""
    direct = select(ProjectEndpoint)
    memberships = select(ProjectEndpointGroup.project_id, EndpointGroup).join(
        EndpointGroup, EndpointGroup.id == ProjectEndpointGroup.endpoint_group_id)
    if project_ids is not None:
        direct = direct.where(ProjectEndpoint.project_id.in_(project_ids))
        memberships = memberships.where(ProjectEndpointGroup.project_id.in_(project_ids))
    wanted: dict[str, set[str]] = {}
    for link in (await db.scalars(direct)).all():
        wanted.setdefault(link.project_id, set()).add(link.endpoint_id)
    grouped = (await db.execute(memberships)).all()
    if grouped:
        endpoints = (await db.scalars(select(Endpoint))).all()
        for project_id, group in grouped:
            wanted.setdefault(project_id, set()).update(
                e.id for e in endpoints if matches(e, group.filters))
    return wanted


async def forget_project(db: AsyncSession, project_ids: Sequence[str]) -> None:
    """Drop the associations of projects being deleted."""
    await db.execute(delete(ProjectEndpoint).where(ProjectEndpoint.project_id.in_(project_ids)))
    await db.execute(delete(ProjectEndpointGroup).where(
        ProjectEndpointGroup.project_id.in_(project_ids)))
