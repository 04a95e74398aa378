"""Identity v3 tokens: issue, validate, check, revoke, and what a token may reach."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from helpers.inprocess import IdentityClient, make_config, make_identity_client
from helpers.names import unique
from ownstack.common.statedir import read_admin_password
from ownstack.identity.tokens.format import TokenPayload, new_audit_id

PASSWORD = "secret-pw"
# The fields of a project-scoped token that clients (keystoneauth, tempest) read.
TOKEN_FIELDS = {"methods", "user", "project", "roles", "catalog", "expires_at", "issued_at",
                "audit_ids"}


@asynccontextmanager
async def identity_with(tmp_path: Path, *overrides: str) -> AsyncIterator[IdentityClient]:
    async for client in make_identity_client(make_config(tmp_path, *overrides)):
        yield client


def _password(user: dict[str, Any], password: str = PASSWORD, *, by_name: bool = False
              ) -> dict[str, Any]:
    ref: dict[str, Any] = {"password": password}
    if by_name:
        ref.update(name=user["name"], domain={"name": "Default"})
    else:
        ref["id"] = user["id"]
    return {"methods": ["password"], "password": {"user": ref}}


async def _issue(identity: IdentityClient, auth_identity: dict[str, Any], scope: Any = None,
                 expect: int = 201, query: str = "") -> httpx.Response:
    auth: dict[str, Any] = {"identity": auth_identity}
    if scope is not None:
        auth["scope"] = scope
    r: httpx.Response = await identity.http.post(f"/v3/auth/tokens{query}", json={"auth": auth})
    assert r.status_code == expect, r.text
    return r


async def _validate(identity: IdentityClient, subject: str, expect: int = 200,
                    token: str | None = None, query: str = "") -> httpx.Response:
    r: httpx.Response = await identity.call("GET", f"/v3/auth/tokens{query}", token=token,
                                            expect=expect, headers={"X-Subject-Token": subject})
    return r


async def _member(identity: IdentityClient) -> tuple[dict[str, Any], dict[str, Any]]:
    project = await identity.make_project()
    return await identity.make_user(project=project), project


def _assert_unauthorized(r: httpx.Response, message: str | None = None) -> None:
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == 401
    assert r.json()["error"]["title"] == "Unauthorized"
    if message is not None:
        assert message in r.json()["error"]["message"]
    assert r.headers["WWW-Authenticate"].startswith('Keystone uri="')


# --- issuing ----------------------------------------------------------------------------

async def test_password_by_id_and_by_name_gives_the_default_project(
        identity: IdentityClient) -> None:
    user, project = await _member(identity)
    for by_name in (False, True):
        r = await _issue(identity, _password(user, by_name=by_name))
        token = r.json()["token"]
        assert set(token) >= TOKEN_FIELDS
        assert token["methods"] == ["password"]
        assert token["user"] == {"id": user["id"], "name": user["name"],
                                 "domain": {"id": "default", "name": "Default"},
                                 "password_expires_at": None}
        assert token["project"] == {"id": project["id"], "name": project["name"],
                                    "domain": {"id": "default", "name": "Default"}}
        assert sorted(role["name"] for role in token["roles"]) == ["member", "reader"]
        assert all(set(role) == {"id", "name"} for role in token["roles"])
        assert len(token["audit_ids"]) == 1
        assert token["expires_at"].endswith("Z") and token["issued_at"].endswith("Z")
        assert token["issued_at"] < token["expires_at"]
        assert any(s["type"] == "identity" for s in token["catalog"])
        subject = r.headers["X-Subject-Token"]
        assert len(subject) <= 255
        assert (await _validate(identity, subject)).json() == r.json()


async def test_project_scope_by_id_and_by_name(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    other = await identity.make_project()
    await identity.call("PUT", f"/v3/projects/{other['id']}/users/{user['id']}/roles/"
                        f"{await identity.role_id('reader')}", expect=204)
    for scope in ({"project": {"id": other["id"]}},
                  {"project": {"name": other["name"], "domain": {"id": "default"}}},
                  {"project": {"name": other["name"], "domain": {"name": "Default"}}}):
        r = await _issue(identity, _password(user), scope)
        assert r.json()["token"]["project"]["id"] == other["id"]
        assert [role["name"] for role in r.json()["token"]["roles"]] == ["reader"]


async def test_scope_without_a_role_is_refused(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    stranger = await identity.make_project()
    for scope in ({"project": {"id": stranger["id"]}}, {"project": {"id": "missing"}},
                  {"domain": {"id": "default"}}, {"system": {"all": True}}):
        _assert_unauthorized(await _issue(identity, _password(user), scope, expect=401))


async def test_domain_scope(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    await identity.call("PUT", f"/v3/domains/default/users/{user['id']}/roles/"
                        f"{await identity.role_id('reader')}", expect=204)
    for scope in ({"domain": {"id": "default"}}, {"domain": {"name": "Default"}}):
        token = (await _issue(identity, _password(user), scope)).json()["token"]
        assert token["domain"] == {"id": "default", "name": "Default"}
        assert "project" not in token
        assert [role["name"] for role in token["roles"]] == ["reader"]


async def test_system_scope(identity: IdentityClient) -> None:
    admin = {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"},
        "password": read_admin_password(identity.config)}}}
    token = (await _issue(identity, admin, {"system": {"all": True}})).json()["token"]
    assert token["system"] == {"all": True}
    assert "project" not in token and "domain" not in token
    assert {role["name"] for role in token["roles"]} == {"admin", "member", "reader"}


async def test_unscoped_tokens(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    token = (await _issue(identity, _password(user), "unscoped")).json()["token"]
    # Keystone gives an unscoped token no catalog at all.
    assert not {"project", "domain", "system", "roles", "catalog"} & set(token)
    # A user without a default project gets an unscoped token when asking for no scope.
    r = await identity.call("POST", "/v3/users", expect=201, json={"user": {
        "name": unique("loner"), "domain_id": "default", "password": PASSWORD}})
    loner = r.json()["user"]
    token = (await _issue(identity, _password(loner))).json()["token"]
    assert "project" not in token and "roles" not in token


async def test_rescoping_with_the_token_method(identity: IdentityClient) -> None:
    user, project = await _member(identity)
    r = await _issue(identity, _password(user), "unscoped")
    original = r.json()["token"]
    rescoped = (await _issue(identity, {"methods": ["token"],
                                        "token": {"id": r.headers["X-Subject-Token"]}},
                             {"project": {"id": project["id"]}})).json()["token"]
    assert rescoped["project"]["id"] == project["id"]
    assert rescoped["expires_at"] == original["expires_at"]
    assert len(rescoped["audit_ids"]) == 2
    assert rescoped["audit_ids"][1] == original["audit_ids"][0]
    assert rescoped["audit_ids"][0] != original["audit_ids"][0]
    assert set(rescoped["methods"]) == {"password", "token"}


async def test_the_token_method_with_a_token_that_does_not_validate(
        identity: IdentityClient) -> None:
    """Keystone's token plugin validates the token as GET /v3/auth/tokens does: a revoked
    or expired one is its 404 "Failed to validate token", not a 401."""
    user, project = await _member(identity)
    revoked = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    await identity.call("DELETE", "/v3/auth/tokens", expect=204,
                        headers={"X-Subject-Token": revoked})
    garbage = revoked[:-6] + ("AAAAAA" if not revoked.endswith("AAAAAA") else "BBBBBB")
    for token, message in ((revoked, "Failed to validate token"),
                           (garbage, "Could not recognize Fernet token")):
        r = await identity.http.post("/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["token"], "token": {"id": token}},
            "scope": {"project": {"id": project["id"]}}}})
        assert r.status_code == 404, r.text
        assert r.json()["error"] == {"code": 404, "title": "Not Found", "message": message}
    # A token of this cloud whose hour is over.
    now = datetime.now(UTC)
    expired = identity.app.svc.tokens.seal(TokenPayload(
        user_id=user["id"], methods=("password",), expires_at=now - timedelta(seconds=1),
        issued_at=now - timedelta(hours=1), audit_ids=(new_audit_id(),),
        project_id=project["id"]))
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": expired}}}})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["message"] == "Failed to validate token"


async def test_nocatalog(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    r = await _issue(identity, _password(user), query="?nocatalog")
    assert "catalog" not in r.json()["token"]
    subject = r.headers["X-Subject-Token"]
    assert "catalog" not in (await _validate(identity, subject, query="?nocatalog")).json()[
        "token"]
    assert "catalog" in (await _validate(identity, subject)).json()["token"]
    assert "catalog" in (await _validate(identity, subject, query="?nocatalog=false")).json()[
        "token"]


# --- failures ---------------------------------------------------------------------------

async def test_wrong_password_unknown_user_and_disabled_user(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    _assert_unauthorized(await _issue(identity, _password(user, "wrong"), expect=401),
                         "requires authentication")
    for ref in ({"id": "missing", "password": PASSWORD},
                {"name": "missing", "domain": {"id": "default"}, "password": PASSWORD},
                {"name": user["name"], "domain": {"id": "missing"}, "password": PASSWORD}):
        _assert_unauthorized(await _issue(identity, {"methods": ["password"],
                                                     "password": {"user": ref}}, expect=401))
    await identity.call("PATCH", f"/v3/users/{user['id']}", expect=200,
                        json={"user": {"enabled": False}})
    _assert_unauthorized(await _issue(identity, _password(user), expect=401))


async def test_malformed_auth_requests(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    body: dict[str, Any]
    for body in ({}, {"auth": {}}, {"auth": {"identity": {"methods": []}}},
                 {"auth": {"identity": {"methods": ["password"]}}},
                 {"auth": {**{"identity": _password(user)}, "scope": "everything"}}):
        r = await identity.http.post("/v3/auth/tokens", json=body)
        assert r.status_code == 400, (body, r.text)
    r = await _issue(identity, {"methods": ["totp"], "totp": {}}, expect=401)
    _assert_unauthorized(r)


async def test_lockout(tmp_path: Path) -> None:
    async with identity_with(tmp_path,
                             "identity.security_compliance.lockout_failure_attempts=2",
                             "identity.security_compliance.lockout_duration=60") as identity:
        user, _ = await _member(identity)
        await _issue(identity, _password(user))  # the failures below count from a success
        for _ in range(2):
            _assert_unauthorized(await _issue(identity, _password(user, "wrong"), expect=401),
                                 "requires authentication")
        _assert_unauthorized(await _issue(identity, _password(user), expect=401),
                             f"The account is locked for user: {user['id']}.")


async def test_failures_below_the_lockout_threshold_are_forgotten(tmp_path: Path) -> None:
    async with identity_with(tmp_path,
                             "identity.security_compliance.lockout_failure_attempts=2",
                             "identity.security_compliance.lockout_duration=60") as identity:
        user, _ = await _member(identity)
        for _ in range(3):
            await _issue(identity, _password(user, "wrong"), expect=401)
            await _issue(identity, _password(user))


# --- validate, check, revoke ------------------------------------------------------------

async def test_head_checks_without_a_body(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    subject = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    r = await identity.call("HEAD", "/v3/auth/tokens", expect=200,
                            headers={"X-Subject-Token": subject})
    assert r.content == b""
    assert r.headers["X-Subject-Token"] == subject
    r = await identity.call("HEAD", "/v3/auth/tokens", expect=404,
                            headers={"X-Subject-Token": "garbage"})
    assert r.content == b""


async def test_users_validate_their_own_tokens_only(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    other, _ = await _member(identity)
    mine = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    theirs = (await _issue(identity, _password(other))).headers["X-Subject-Token"]
    await _validate(identity, mine, token=mine)
    await _validate(identity, mine, token=theirs, expect=403)
    await _validate(identity, mine)  # the admin may


async def test_revoke(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    subject = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    other = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    await identity.call("DELETE", "/v3/auth/tokens", token=subject, expect=204,
                        headers={"X-Subject-Token": subject})
    r = await _validate(identity, subject, expect=404)
    assert r.json()["error"]["message"] == "Failed to validate token"
    _assert_unauthorized(await identity.call("GET", "/v3/auth/projects", token=subject))
    await identity.call("DELETE", "/v3/auth/tokens", expect=404,
                        headers={"X-Subject-Token": subject})
    # Only that token: the user's other token still works.
    await _validate(identity, other)
    await identity.call("GET", "/v3/auth/projects", token=other, expect=200)


async def test_garbage_tokens(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    good = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    for bad in (b"garbage", tampered.encode(), b"x" * 5000, "é".encode()):
        r = await identity.http.get("/v3/auth/tokens", headers={
            b"X-Auth-Token": identity.admin_token.encode(), b"X-Subject-Token": bad})
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == 404
        _assert_unauthorized(await identity.http.get("/v3/auth/projects",
                                                     headers={b"X-Auth-Token": bad}))
    _assert_unauthorized(await identity.http.get("/v3/auth/projects"))


async def test_tokens_survive_one_key_rotation(identity: IdentityClient) -> None:
    user, _ = await _member(identity)
    subject = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    svc = identity.app.svc
    svc.keys.rotate()
    svc.tokens._cache.clear()  # prove the token still decrypts, not that it was cached
    await _validate(identity, subject)
    fresh = (await _issue(identity, _password(user))).headers["X-Subject-Token"]
    # With three keys, the issuing key is pruned by the second rotation after it.
    # (and so is the admin token of the fixture: the user validates with its new token).
    svc.keys.rotate()
    svc.tokens._cache.clear()
    await _validate(identity, fresh, token=fresh)
    await _validate(identity, subject, token=fresh, expect=404)


# --- what a token may reach -------------------------------------------------------------

async def test_auth_projects_domains_system_and_catalog(identity: IdentityClient) -> None:
    user, project = await _member(identity)
    await identity.make_project()  # one the user has no role on
    token = (await _issue(identity, _password(user))).headers["X-Subject-Token"]

    r = await identity.call("GET", "/v3/auth/projects", token=token, expect=200)
    assert [p["id"] for p in r.json()["projects"]] == [project["id"]]
    assert r.json()["projects"][0]["links"]["self"].endswith(f"/v3/projects/{project['id']}")
    assert r.json()["links"]["next"] is None

    r = await identity.call("GET", "/v3/auth/domains", token=token, expect=200)
    assert r.json()["domains"] == []
    await identity.call("PUT", f"/v3/domains/default/users/{user['id']}/roles/"
                        f"{await identity.role_id('reader')}", expect=204)
    r = await identity.call("GET", "/v3/auth/domains", token=token, expect=200)
    assert [d["id"] for d in r.json()["domains"]] == ["default"]

    r = await identity.call("GET", "/v3/auth/system", token=token, expect=200)
    assert r.json()["system"] == []
    r = await identity.call("GET", "/v3/auth/system", expect=200)
    assert r.json()["system"] == [{"all": True}]

    r = await identity.call("GET", "/v3/auth/catalog", token=token, expect=200)
    identity_service = next(s for s in r.json()["catalog"] if s["type"] == "identity")
    assert {e["interface"] for e in identity_service["endpoints"]} == {
        "public", "internal", "admin"}
    assert all(set(e) == {"id", "interface", "region", "region_id", "url"}
               for e in identity_service["endpoints"])
    _assert_unauthorized(await identity.http.get("/v3/auth/catalog"))
    unscoped = (await _issue(identity, _password(user), "unscoped")).headers["X-Subject-Token"]
    r = await identity.call("GET", "/v3/auth/catalog", token=unscoped, expect=403)
    assert r.json()["error"]["message"] == (
        "A project-scoped token is required to produce a service catalog.")
