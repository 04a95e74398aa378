"""The same cloud through openstacksdk: identity resources, scopes and revocation."""

from __future__ import annotations

import openstack.exceptions
import pytest

from helpers.names import unique
from helpers.process import Cloud


def test_sdk_identity_round_trip(cloud: Cloud) -> None:
    conn = cloud.sdk()
    project = conn.identity.create_project(name=unique("sdk"), domain_id="default",
                                           description="made by openstacksdk", tags=["a"])
    assert conn.identity.get_project(project.id).description == "made by openstacksdk"
    user = conn.identity.create_user(name=unique("sdk-user"), password="pw-1",
                                     default_project_id=project.id, domain_id="default")
    member = conn.identity.find_role("member")
    conn.identity.assign_project_role_to_user(project, user, member)
    assert conn.identity.validate_user_has_project_role(project, user, member)

    found = [p.id for p in conn.identity.projects(name=project.name)]
    assert found == [project.id]
    assert conn.identity.find_user(user.name).id == user.id

    cloud.add_cloud("sdk-user", user.name, "pw-1", project.name)
    user_conn = cloud.sdk("sdk-user")
    assert user_conn.current_project_id == project.id
    assert [p.id for p in user_conn.identity.user_projects(user.id)] == [project.id]
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(user_conn.identity.users())

    conn.identity.unassign_project_role_from_user(project, user, member)
    assert not conn.identity.validate_user_has_project_role(project, user, member)
    conn.identity.delete_user(user)
    conn.identity.delete_project(project)
    with pytest.raises(openstack.exceptions.NotFoundException):
        conn.identity.get_project(project.id)


def test_token_revocation_cases(cloud: Cloud) -> None:
    """Every event that must invalidate outstanding tokens does."""
    admin = cloud.admin_token()
    conn = cloud.sdk()
    project = conn.identity.create_project(name=unique("rev"), domain_id="default")
    member = conn.identity.find_role("member")

    def new_user() -> tuple[object, str]:
        user = conn.identity.create_user(name=unique("rev-user"), password="pw",
                                         domain_id="default")
        conn.identity.assign_project_role_to_user(project, user, member)
        with cloud.http() as http:
            r = http.post("/v3/auth/tokens", json={"auth": {"identity": {
                "methods": ["password"], "password": {"user": {"id": user.id,
                                                               "password": "pw"}}},
                "scope": {"project": {"id": project.id}}}})
            assert r.status_code == 201, r.text
            return user, r.headers["X-Subject-Token"]

    def valid(token: str) -> bool:
        with cloud.http() as http:
            r = http.get("/v3/auth/tokens", headers={"X-Auth-Token": admin,
                                                     "X-Subject-Token": token})
            assert r.status_code in (200, 404), r.text
            return r.status_code == 200

    user, token = new_user()
    assert valid(token)
    with cloud.http() as http:
        assert http.delete("/v3/auth/tokens", headers={
            "X-Auth-Token": admin, "X-Subject-Token": token}).status_code == 204
    assert not valid(token)

    user, token = new_user()
    conn.identity.update_user(user, enabled=False)
    assert not valid(token)

    user, token = new_user()
    conn.identity.update_user(user, password="pw-new")
    assert not valid(token)

    user, token = new_user()
    conn.identity.unassign_project_role_from_user(project, user, member)
    assert not valid(token)

    user, token = new_user()
    conn.identity.delete_user(user)
    assert not valid(token)
