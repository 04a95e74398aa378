"""Identity v3 application credentials, and authenticating with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from helpers.inprocess import IdentityClient
from helpers.names import unique
from ownstack.common.db.base import utcnow
from ownstack.identity.objects.models import ApplicationCredential

FIELDS = {"id", "name", "description", "user_id", "project_id", "roles", "expires_at",
          "unrestricted", "links"}


class Member:
    """A user with the member role (which implies reader) on a project of their own."""

    def __init__(self, user: dict[str, Any], project: dict[str, Any], token: str) -> None:
        self.user, self.project, self.token = user, project, token
        self.path = f"/v3/users/{user['id']}/application_credentials"


async def _member(identity: IdentityClient) -> Member:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    return Member(user, project, token)


async def _create(identity: IdentityClient, who: Member, expect: int = 201, **fields: Any
                  ) -> dict[str, Any]:
    body = {"name": unique("cred"), **fields}
    r = await identity.call("POST", who.path, token=who.token, expect=expect,
                            json={"application_credential": body})
    return dict(r.json().get("application_credential") or r.json())


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    assert r.json()["error"]["code"] == expect
    return str(r.json()["error"]["message"])


async def _auth(identity: IdentityClient, cred: dict[str, Any], expect: int = 201,
                scope: Any = None) -> tuple[str, dict[str, Any]]:
    auth: dict[str, Any] = {"identity": {"methods": ["application_credential"],
                                         "application_credential": cred}}
    if scope is not None:
        auth["scope"] = scope
    r = await identity.http.post("/v3/auth/tokens", json={"auth": auth})
    assert r.status_code == expect, r.text
    return r.headers.get("X-Subject-Token", ""), r.json()


def _role_names(roles: list[dict[str, Any]]) -> list[str]:
    return sorted(r["name"] for r in roles)


# --- create, show, list, delete ---------------------------------------------------------

async def test_create_shows_the_secret_once(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, description="ci bot")
    assert set(cred) == FIELDS | {"secret"}
    assert len(cred["secret"]) >= 64
    assert (cred["user_id"], cred["project_id"]) == (who.user["id"], who.project["id"])
    assert cred["description"] == "ci bot"
    assert cred["expires_at"] is None
    assert cred["unrestricted"] is False
    # By default the credential gets every role of the creating token.
    assert _role_names(cred["roles"]) == ["member", "reader"]
    assert all(set(r) == {"id", "name", "domain_id"} and r["domain_id"] is None
               for r in cred["roles"])
    assert cred["links"]["self"].endswith(f"{who.path}/{cred['id']}")

    r = await identity.call("GET", f"{who.path}/{cred['id']}", token=who.token, expect=200)
    shown = r.json()["application_credential"]
    assert shown == {k: v for k, v in cred.items() if k != "secret"}
    r = await identity.call("GET", who.path, token=who.token, expect=200)
    assert r.json()["application_credentials"] == [shown]
    assert r.json()["links"]["next"] is None


async def test_client_chosen_secret_and_expiry(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, secret="my own secret",
                         expires_at="2099-01-02T03:04:05", unrestricted=True)
    assert cred["secret"] == "my own secret"
    # Keystone's JSON encoder writes a stored time with microseconds and no "Z".
    assert cred["expires_at"] == "2099-01-02T03:04:05.000000"
    assert cred["unrestricted"] is True
    offset = await _create(identity, who, expires_at="2099-01-02T05:04:05+02:00")
    assert offset["expires_at"] == "2099-01-02T03:04:05.000000"
    await _auth(identity, {"id": cred["id"], "secret": "my own secret"})


async def test_expiry_comes_back_as_sent(identity: IdentityClient) -> None:
    """What Tempest's test_create_application_credential_expires checks: the time it sent
    (a datetime's isoformat(), microseconds and no offset) is the time it gets back, on
    create, show and list alike."""
    who = await _member(identity)
    sent = (datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)).replace(
        microsecond=123456).isoformat()
    cred = await _create(identity, who, expires_at=sent)
    assert cred["expires_at"] == sent
    r = await identity.call("GET", f"{who.path}/{cred['id']}", token=who.token, expect=200)
    assert r.json()["application_credential"]["expires_at"] == sent
    r = await identity.call("GET", who.path, token=who.token, expect=200)
    assert [c["expires_at"] for c in r.json()["application_credentials"]] == [sent]
    zulu = await _create(identity, who, expires_at="2099-01-02T03:04:05.5Z")
    assert zulu["expires_at"] == "2099-01-02T03:04:05.500000"


async def test_list_filters_by_name(identity: IdentityClient) -> None:
    who = await _member(identity)
    first = await _create(identity, who)
    await _create(identity, who)
    r = await identity.call("GET", who.path, token=who.token, params={"name": first["name"]},
                            expect=200)
    assert [c["id"] for c in r.json()["application_credentials"]] == [first["id"]]
    r = await identity.call("GET", who.path, token=who.token, params={"name": "nope"},
                            expect=200)
    assert r.json()["application_credentials"] == []


async def test_roles_by_id_and_name_must_be_in_the_token(identity: IdentityClient) -> None:
    who = await _member(identity)
    reader = await identity.role_id("reader")
    by_id = await _create(identity, who, roles=[{"id": reader}])
    assert _role_names(by_id["roles"]) == ["reader"]
    by_name = await _create(identity, who, roles=[{"name": "reader"}, {"name": "member"},
                                                  {"id": reader}])
    assert _role_names(by_name["roles"]) == ["member", "reader"]
    message = await _error(identity, "POST", who.path, 400, token=who.token,
                           json={"application_credential": {"name": unique("c"),
                                                            "roles": [{"name": "admin"}]}})
    assert "unassigned role" in message
    await _error(identity, "POST", who.path, 400, token=who.token, json={
        "application_credential": {"name": unique("c"),
                                   "roles": [{"id": await identity.role_id("admin")}]}})
    await _error(identity, "POST", who.path, 404, token=who.token, json={
        "application_credential": {"name": unique("c"), "roles": [{"name": "no-such"}]}})


async def test_bad_input(identity: IdentityClient) -> None:
    who = await _member(identity)
    for body in ({}, {"name": ""}, {"name": "x" * 256}, {"name": "n", "unrestricted": "yes"},
                 {"name": "n", "roles": [{}]}, {"name": "n", "roles": [{"id": "a", "name": "b"}]},
                 {"name": "n", "expires_at": "tomorrow"}, {"name": "n", "expires_at": 5}):
        await _error(identity, "POST", who.path, 400, token=who.token,
                     json={"application_credential": body})
    await _error(identity, "POST", who.path, 400, token=who.token, json={"name": "n"})
    past = (utcnow() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    message = await _error(identity, "POST", who.path, 400, token=who.token,
                           json={"application_credential": {"name": "n", "expires_at": past}})
    assert "expires_at" in message
    r = await identity.call("GET", who.path, token=who.token, expect=200)
    assert r.json()["application_credentials"] == []


async def test_duplicate_name_conflicts_per_user(identity: IdentityClient) -> None:
    who = await _member(identity)
    other = await _member(identity)
    cred = await _create(identity, who)
    await _error(identity, "POST", who.path, 409, token=who.token,
                 json={"application_credential": {"name": cred["name"]}})
    await _create(identity, other, name=cred["name"])


async def test_only_the_user_with_a_project_token_may_create(identity: IdentityClient) -> None:
    who = await _member(identity)
    other = await _member(identity)
    body = {"application_credential": {"name": "n"}}
    await _error(identity, "POST", who.path, 403, token=other.token, json=body)
    await _error(identity, "POST", who.path, 403, json=body)  # even the admin
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "id": who.user["id"], "password": "secret-pw"}}}, "scope": "unscoped"}})
    assert r.status_code == 201 and "project" not in r.json()["token"], r.text
    unscoped = r.headers["X-Subject-Token"]
    message = await _error(identity, "POST", who.path, 400, token=unscoped, json=body)
    assert "project-scoped" in message


async def test_reading_is_for_the_owner_and_cloud_readers(identity: IdentityClient) -> None:
    who = await _member(identity)
    other = await _member(identity)
    cred = await _create(identity, who)
    await _error(identity, "GET", who.path, 403, token=other.token)
    await _error(identity, "GET", f"{who.path}/{cred['id']}", 403, token=other.token)
    await _error(identity, "DELETE", f"{who.path}/{cred['id']}", 403, token=other.token)
    r = await identity.call("GET", who.path, expect=200)
    assert [c["id"] for c in r.json()["application_credentials"]] == [cred["id"]]
    # Another user's path does not reach the credential, even for its owner's id.
    message = await _error(identity, "GET", f"{other.path}/{cred['id']}", 404,
                           token=other.token)
    assert message == f"Could not find application credential: {cred['id']}."
    await _error(identity, "GET", f"{who.path}/missing", 404, token=who.token)


async def test_delete_kills_the_credential_and_its_tokens(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    token, _ = await _auth(identity, {"id": cred["id"], "secret": cred["secret"]})
    await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token},
                        expect=200)
    await identity.call("DELETE", f"{who.path}/{cred['id']}", token=who.token, expect=204)
    await _error(identity, "GET", "/v3/auth/tokens", 404, headers={"X-Subject-Token": token})
    await _error(identity, "GET", "/v3/auth/projects", 401, token=token)
    await _error(identity, "GET", f"{who.path}/{cred['id']}", 404, token=who.token)
    await _error(identity, "DELETE", f"{who.path}/{cred['id']}", 404, token=who.token)
    await _auth(identity, {"id": cred["id"], "secret": cred["secret"]}, expect=401)


async def test_admin_may_delete_a_users_credential(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    await identity.call("DELETE", f"{who.path}/{cred['id']}", expect=204)


# --- authenticating with an application credential --------------------------------------

async def test_auth_by_id_and_by_name(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    refs = [
        {"id": cred["id"], "secret": cred["secret"]},
        {"name": cred["name"], "secret": cred["secret"], "user": {"id": who.user["id"]}},
        {"name": cred["name"], "secret": cred["secret"],
         "user": {"name": who.user["name"], "domain": {"id": "default"}}},
        {"name": cred["name"], "secret": cred["secret"],
         "user": {"name": who.user["name"], "domain": {"name": "Default"}}},
    ]
    for ref in refs:
        _, body = await _auth(identity, ref)
        token = body["token"]
        assert token["methods"] == ["application_credential"]
        assert token["user"]["id"] == who.user["id"]
        assert token["project"]["id"] == who.project["id"]
        assert token["application_credential"] == {"id": cred["id"], "name": cred["name"],
                                                   "restricted": True}
        assert _role_names(token["roles"]) == ["member", "reader"]
        assert any(s["type"] == "identity" for s in token["catalog"])


async def test_auth_failures(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    for ref in ({"id": cred["id"], "secret": "wrong"},
                {"id": "missing", "secret": cred["secret"]},
                {"name": "missing", "secret": cred["secret"], "user": {"id": who.user["id"]}},
                {"name": cred["name"], "secret": cred["secret"], "user": {"id": "missing"}}):
        _, body = await _auth(identity, ref, expect=401)
        assert body["error"]["code"] == 401
    await _auth(identity, {"name": cred["name"], "secret": cred["secret"]}, expect=400)
    await _auth(identity, {"id": cred["id"]}, expect=400)


async def test_token_roles_are_limited_to_the_credential(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, roles=[{"name": "reader"}])
    _, body = await _auth(identity, {"id": cred["id"], "secret": cred["secret"]})
    assert _role_names(body["token"]["roles"]) == ["reader"]


async def test_expired_credential_cannot_authenticate(identity: IdentityClient) -> None:
    who = await _member(identity)
    expires = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    cred = await _create(identity, who, expires_at=expires)
    token, body = await _auth(identity, {"id": cred["id"], "secret": cred["secret"]})
    # The token lives no longer than the credential.
    assert body["token"]["expires_at"].removesuffix("Z") <= cred["expires_at"]
    async with identity.app.svc.write() as db:
        await db.execute(update(ApplicationCredential)
                         .where(ApplicationCredential.id == cred["id"])
                         .values(expires_at=utcnow() - timedelta(seconds=1)))
    await _auth(identity, {"id": cred["id"], "secret": cred["secret"]}, expect=401)
    await _error(identity, "GET", "/v3/auth/tokens", 404, headers={"X-Subject-Token": token})


async def test_app_cred_tokens_cannot_rescope_or_pick_a_scope(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    ref = {"id": cred["id"], "secret": cred["secret"]}
    token, _ = await _auth(identity, ref)
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert r.status_code == 403, r.text
    await _auth(identity, ref, scope={"project": {"id": who.project["id"]}}, expect=401)


async def test_restricted_credential_cannot_manage_credentials(identity: IdentityClient) -> None:
    who = await _member(identity)
    restricted = await _create(identity, who)
    unrestricted = await _create(identity, who, unrestricted=True)
    token, _ = await _auth(identity, {"id": restricted["id"], "secret": restricted["secret"]})
    message = await _error(identity, "POST", who.path, 403, token=token,
                           json={"application_credential": {"name": "child"}})
    assert "application_credential" in message
    await _error(identity, "DELETE", f"{who.path}/{unrestricted['id']}", 403, token=token)
    # Reading is still allowed.
    await identity.call("GET", who.path, token=token, expect=200)

    token, body = await _auth(identity, {"id": unrestricted["id"],
                                         "secret": unrestricted["secret"]})
    assert body["token"]["application_credential"]["restricted"] is False
    r = await identity.call("POST", who.path, token=token, expect=201,
                            json={"application_credential": {"name": "child"}})
    child = r.json()["application_credential"]
    assert child["project_id"] == who.project["id"]
    assert _role_names(child["roles"]) == ["member", "reader"]
    await identity.call("DELETE", f"{who.path}/{restricted['id']}", token=token, expect=204)


async def test_user_losing_the_project_role_loses_the_token(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who)
    token, _ = await _auth(identity, {"id": cred["id"], "secret": cred["secret"]})
    member = await identity.role_id("member")
    await identity.call("DELETE", f"/v3/projects/{who.project['id']}/users/{who.user['id']}"
                        f"/roles/{member}", expect=204)
    await _error(identity, "GET", "/v3/auth/tokens", 404, headers={"X-Subject-Token": token})
    _, body = await _auth(identity, {"id": cred["id"], "secret": cred["secret"]}, expect=401)
    assert body["error"]["code"] == 401
