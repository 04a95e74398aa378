"""Identity v3 users, self-service password change and security compliance."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from helpers.inprocess import IdentityClient, make_config, make_identity_client
from helpers.names import unique
from ownstack.common.db.base import utcnow
from ownstack.identity.objects.models import Password

EXPIRED = "The password is expired and needs to be changed for user"


@asynccontextmanager
async def identity_with(tmp_path: Path, *overrides: str) -> AsyncIterator[IdentityClient]:
    """An identity service whose config has these ``section.key=value`` overrides."""
    async for client in make_identity_client(make_config(tmp_path, *overrides)):
        yield client


async def _change(identity: IdentityClient, user_id: str, old: str, new: str,
                  expect: int = 204, token: str | None = None) -> dict[str, Any]:
    headers = {"X-Auth-Token": token} if token else {}
    r = await identity.http.post(f"/v3/users/{user_id}/password", headers=headers,
                                 json={"user": {"original_password": old, "password": new}})
    assert r.status_code == expect, r.text
    return dict(r.json()) if r.content else {}


async def _create(identity: IdentityClient, expect: int = 201, **fields: Any) -> dict[str, Any]:
    body = {"name": unique("user"), "domain_id": "default", **fields}
    r = await identity.call("POST", "/v3/users", json={"user": body}, expect=expect)
    return dict(r.json().get("user") or r.json())


# --- CRUD -----------------------------------------------------------------------------------

async def test_create_and_view_shape(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await _create(identity, password="pw-1", description="d", email="a@example.com",
                         default_project_id=project["id"], favourite="tea",
                         options={"ignore_lockout_failure_attempts": True})
    assert "password" not in user
    assert user["domain_id"] == "default"
    assert user["enabled"] is True
    assert user["password_expires_at"] is None
    assert user["options"] == {"ignore_lockout_failure_attempts": True}
    assert (user["description"], user["email"], user["favourite"]) == ("d", "a@example.com",
                                                                      "tea")
    assert user["default_project_id"] == project["id"]
    assert user["links"]["self"].endswith(f"/v3/users/{user['id']}")
    r = await identity.call("GET", f"/v3/users/{user['id']}", expect=200)
    assert r.json()["user"] == user
    minimal = await _create(identity)
    assert minimal["options"] == {}
    assert "default_project_id" not in minimal and "password" not in minimal


async def test_list_filters(identity: IdentityClient) -> None:
    on = await _create(identity, name="filter-on")
    off = await _create(identity, name="filter-off", enabled=False)
    r = await identity.call("GET", "/v3/users", params={"name": "filter-on"}, expect=200)
    assert [u["id"] for u in r.json()["users"]] == [on["id"]]
    r = await identity.call("GET", "/v3/users", params={"enabled": "false"}, expect=200)
    assert [u["id"] for u in r.json()["users"]] == [off["id"]]
    r = await identity.call("GET", "/v3/users", params={"domain_id": "default"}, expect=200)
    names = {u["name"] for u in r.json()["users"]}
    assert {"admin", "filter-on", "filter-off"} <= names
    assert all("password" not in u for u in r.json()["users"])
    r = await identity.call("GET", "/v3/users", params={"domain_id": "nope"}, expect=200)
    assert r.json()["users"] == []


async def test_errors(identity: IdentityClient) -> None:
    await _create(identity, name="dup")
    r = await identity.call("POST", "/v3/users", expect=409,
                            json={"user": {"name": "dup", "domain_id": "default"}})
    assert "dup" in r.json()["error"]["message"]
    r = await identity.call("GET", "/v3/users/dup", expect=404)
    assert r.json()["error"]["message"] == "Could not find user: dup."
    await identity.call("POST", "/v3/users", expect=404,
                        json={"user": {"name": "x", "domain_id": "nope"}})
    body: dict[str, Any]
    for body in ({"user": {}}, {"user": {"name": ""}}, {"user": {"name": "n" * 256}},
                 {"user": {"name": "x", "enabled": "true"}}, {"user": {"name": "x",
                                                                       "password": 7}},
                 {"user": {"name": "x", "options": {"no_such_option": True}}},
                 {"name": "x"}):
        await identity.call("POST", "/v3/users", json=body, expect=400)
    await identity.call("POST", "/v3/users", expect=400, json={"user": {
        "name": "x", "default_project_id": "default"}})   # a domain, not a project
    await identity.call("POST", "/v3/users", expect=501, json={"user": {
        "name": "x", "options": {"multi_factor_auth_enabled": True}}})
    for method in ("PATCH", "DELETE"):
        await identity.call(method, "/v3/users/nope", expect=404,
                            json={"user": {"name": "x"}} if method == "PATCH" else None)
    other = await _create(identity)
    await identity.call("PATCH", f"/v3/users/{other['id']}", expect=409,
                        json={"user": {"name": "dup"}})
    await identity.call("PATCH", f"/v3/users/{other['id']}", expect=400,
                        json={"user": {"domain_id": "elsewhere"}})
    await identity.call("PATCH", f"/v3/users/{other['id']}", expect=400, json={"user": {}})


async def test_member_gets_403_on_admin_actions(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("GET", "/v3/users", token=token, expect=403)
    r = await identity.call("POST", "/v3/users", token=token, expect=403,
                            json={"user": {"name": "sneaky"}})
    assert r.json()["error"]["code"] == 403
    await identity.call("PATCH", f"/v3/users/{user['id']}", token=token, expect=403,
                        json={"user": {"enabled": True}})
    await identity.call("DELETE", f"/v3/users/{user['id']}", token=token, expect=403)
    admin = (await identity.call("GET", "/v3/users", params={"name": "admin"},
                                 expect=200)).json()["users"][0]
    await identity.call("GET", f"/v3/users/{admin['id']}", token=token, expect=403)
    await identity.call("GET", f"/v3/users/{admin['id']}/projects", token=token, expect=403)
    # ...but a user may read themselves.
    r = await identity.call("GET", f"/v3/users/{user['id']}", token=token, expect=200)
    assert r.json()["user"]["name"] == user["name"]


async def test_update(identity: IdentityClient) -> None:
    user = await _create(identity, options={"ignore_password_expiry": True})
    r = await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200, json={"user": {
        "name": "renamed", "email": "e@example.com", "hobby": "chess",
        "options": {"ignore_password_expiry": None, "lock_password": True}}})
    updated = r.json()["user"]
    assert (updated["name"], updated["email"], updated["hobby"]) == \
        ("renamed", "e@example.com", "chess")
    assert updated["options"] == {"lock_password": True}


async def test_delete_user(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("POST", "/v3/groups", expect=201,
                            json={"group": {"name": unique("group")}})
    group_id = r.json()["group"]["id"]
    await identity.call("PUT", f"/v3/groups/{group_id}/users/{user['id']}", expect=204)
    await identity.call("DELETE", f"/v3/users/{user['id']}", expect=204)
    await identity.call("GET", f"/v3/users/{user['id']}", expect=404)
    await identity.call("GET", "/v3/users", token=token, expect=401)
    r = await identity.call("GET", f"/v3/groups/{group_id}/users", expect=200)
    assert r.json()["users"] == []
    r = await identity.call("GET", "/v3/role_assignments", params={"user.id": user["id"]},
                            expect=200)
    assert r.json()["role_assignments"] == []
    # The name is free again.
    await _create(identity, name=user["name"])


async def test_user_projects_and_groups(identity: IdentityClient) -> None:
    first = await identity.make_project(name="first")
    second = await identity.make_project(name="second")
    await identity.make_project(name="unrelated")
    user = await identity.make_user(project=first)
    member = await identity.role_id("member")
    await identity.call("PUT", f"/v3/projects/{second['id']}/users/{user['id']}/roles/{member}",
                        expect=204)
    token = await identity.token(user["name"], "secret-pw", project="first")
    r = await identity.call("GET", f"/v3/users/{user['id']}/projects", token=token, expect=200)
    assert [p["name"] for p in r.json()["projects"]] == ["first", "second"]
    r = await identity.call("GET", f"/v3/users/{user['id']}/projects", params={"name": "second"},
                            expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [second["id"]]
    await identity.call("GET", "/v3/users/nope/projects", expect=404)

    r = await identity.call("GET", f"/v3/users/{user['id']}/groups", token=token, expect=200)
    assert r.json()["groups"] == []
    r = await identity.call("POST", "/v3/groups", expect=201,
                            json={"group": {"name": "readers"}})
    group = r.json()["group"]
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    r = await identity.call("GET", f"/v3/users/{user['id']}/groups", expect=200)
    assert [(g["id"], g["name"]) for g in r.json()["groups"]] == [(group["id"], "readers")]
    await identity.call("GET", "/v3/users/nope/groups", expect=404)


async def test_disabling_a_user_revokes_tokens(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("GET", f"/v3/users/{user['id']}", token=token, expect=200)
    await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                        json={"user": {"enabled": False}})
    await identity.token(user["name"], "secret-pw", expect=401)
    await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                        json={"user": {"enabled": True}})
    # Re-enabling does not resurrect tokens issued before the user was disabled.
    await identity.call("GET", f"/v3/users/{user['id']}", token=token, expect=401)
    await identity.token(user["name"], "secret-pw", project=project["name"])


async def test_admin_password_reset(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                            json={"user": {"password": "reset-pw"}})
    assert "password" not in r.json()["user"]
    await identity.call("GET", f"/v3/users/{user['id']}", token=token, expect=401)
    await identity.token(user["name"], "secret-pw", expect=401)
    await identity.token(user["name"], "reset-pw", project=project["name"])


# --- self-service password change -------------------------------------------------------------

async def test_password_change_flow(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project, password="old-pw")
    old_token = await identity.token(user["name"], "old-pw", project=project["name"])
    r = await _change(identity, user["id"], "wrong", "new-pw", expect=401)
    assert r["error"]["code"] == 401
    await _change(identity, "nope", "old-pw", "new-pw", expect=401)
    await _change(identity, user["id"], "old-pw", "new-pw", token=old_token)
    # The old token is revoked, the old password fails, the new one works.
    await identity.call("GET", f"/v3/users/{user['id']}", token=old_token, expect=401)
    await identity.token(user["name"], "old-pw", expect=401)
    new_token = await identity.token(user["name"], "new-pw", project=project["name"])
    await identity.call("GET", f"/v3/users/{user['id']}", token=new_token, expect=200)


async def test_password_change_bad_bodies(identity: IdentityClient) -> None:
    user = await identity.make_user()
    for body in ({"user": {"password": "x"}}, {"user": {"original_password": "x"}},
                 {"user": {"password": 1, "original_password": "secret-pw"}}, {}):
        r = await identity.http.post(f"/v3/users/{user['id']}/password", json=body)
        assert r.status_code == 400, r.text


async def test_locked_password_cannot_be_changed(identity: IdentityClient) -> None:
    user = await identity.make_user()
    await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                        json={"user": {"options": {"lock_password": True}}})
    await _change(identity, user["id"], "secret-pw", "another-pw", expect=403)


async def test_password_history(tmp_path: Path) -> None:
    async with identity_with(
            tmp_path, "identity.security_compliance.unique_last_password_count=3") as identity:
        user = await identity.make_user(password="pw-0")
        await _change(identity, user["id"], "pw-0", "pw-1")
        r = await _change(identity, user["id"], "pw-1", "pw-0", expect=400)
        assert "last 3 passwords" in r["error"]["message"]
        await _change(identity, user["id"], "pw-1", "pw-1", expect=400)    # the current one
        await _change(identity, user["id"], "pw-1", "pw-2")
        await _change(identity, user["id"], "pw-2", "pw-3")
        # pw-0 is now four passwords back: allowed again.
        await _change(identity, user["id"], "pw-3", "pw-0")
        await identity.token(user["name"], "pw-0")
        # An admin reset ignores the history.
        await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                            json={"user": {"password": "pw-3"}})
        await identity.token(user["name"], "pw-3")


async def test_minimum_password_age(tmp_path: Path) -> None:
    async with identity_with(
            tmp_path, "identity.security_compliance.minimum_password_age=1") as identity:
        user = await identity.make_user(password="pw-0")
        # The first password was set by the admin: changing it is allowed at once.
        await _change(identity, user["id"], "pw-0", "pw-1")
        r = await _change(identity, user["id"], "pw-1", "pw-2", expect=400)
        assert "minimum password age" in r["error"]["message"]
        await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                            json={"user": {"password": "pw-admin"}})
        await _change(identity, user["id"], "pw-admin", "pw-2")


async def test_expired_password_is_changed_without_a_token(tmp_path: Path) -> None:
    async with identity_with(
            tmp_path, "identity.security_compliance.password_expires_days=90") as identity:
        user = await identity.make_user(password="pw-0")
        # As Keystone writes a stored time: UTC, microseconds, no "Z".
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", user["password_expires_at"])
        expires = datetime.fromisoformat(user["password_expires_at"]).replace(tzinfo=UTC)
        assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
        # Ninety days pass.
        async with identity.app.svc.write() as db:
            await db.execute(update(Password).where(Password.user_id == user["id"])
                             .values(expires_at=utcnow() - timedelta(seconds=1)))
        r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "id": user["id"], "password": "pw-0"}}}}})
        assert r.status_code == 401
        assert r.json()["error"]["message"].startswith(EXPIRED)
        await _change(identity, user["id"], "wrong", "pw-1", expect=401)
        await _change(identity, user["id"], "pw-0", "pw-1")
        await identity.token(user["name"], "pw-1")
        r = await identity.call("GET", f"/v3/users/{user['id']}", expect=200)
        new_expiry = r.json()["user"]["password_expires_at"]
        assert new_expiry is not None and new_expiry > user["password_expires_at"]
        # A user that ignores expiry gets passwords that never expire.
        exempt = await _create(identity, password="pw",
                               options={"ignore_password_expiry": True})
        assert exempt["password_expires_at"] is None


async def test_password_regex(tmp_path: Path) -> None:
    async with identity_with(
            tmp_path, r"identity.security_compliance.password_regex=^(?=.*\d).{8,}$",
            "identity.security_compliance.password_regex_description="
            "at least 8 characters, one of them a digit") as identity:
        r = await identity.call("POST", "/v3/users", expect=400,
                                json={"user": {"name": "weak", "password": "short"}})
        assert "at least 8 characters, one of them a digit" in r.json()["error"]["message"]
        user = await identity.make_user(password="long-enough-1")
        await identity.call("PATCH", f"/v3/users/{user['id']}", expect=400,
                            json={"user": {"password": "no-digits-here"}})
        error = await _change(identity, user["id"], "long-enough-1", "nodigits", expect=400)
        assert "one of them a digit" in error["error"]["message"]
        await identity.token(user["name"], "long-enough-1")
        await _change(identity, user["id"], "long-enough-1", "long-enough-2")
        await identity.token(user["name"], "long-enough-2")
