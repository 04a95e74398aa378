"""Application credential access rules: made with a credential, listed, shown and deleted
under the user, and enforced by every service that validates the credential's tokens."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient, ServiceClient
from helpers.names import unique

IPS = {"service": "compute", "method": "GET", "path": "/v2.1/servers/*/ips"}


class Member:
    def __init__(self, user: dict[str, Any], project: dict[str, Any], token: str) -> None:
        self.user, self.project, self.token = user, project, token
        self.creds = f"/v3/users/{user['id']}/application_credentials"
        self.rules = f"/v3/users/{user['id']}/access_rules"


async def _member(identity: IdentityClient) -> Member:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    return Member(user, project, token)


async def _create(identity: IdentityClient, who: Member, rules: list[dict[str, str]],
                  expect: int = 201) -> dict[str, Any]:
    r = await identity.call("POST", who.creds, token=who.token, expect=expect, json={
        "application_credential": {"name": unique("cred"), "access_rules": rules}})
    return dict(r.json().get("application_credential") or r.json())


async def _token(identity: IdentityClient, cred: dict[str, Any]) -> str:
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    assert r.status_code == 201, r.text
    return str(r.headers["X-Subject-Token"])


async def test_rules_are_shown_on_the_credential_and_under_the_user(
        identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, [IPS])
    [rule] = cred["access_rules"]
    assert {k: rule[k] for k in IPS} == IPS and rule["id"]
    r = await identity.call("GET", f"{who.creds}/{cred['id']}", token=who.token, expect=200)
    assert r.json()["application_credential"]["access_rules"] == [rule]
    r = await identity.call("GET", who.creds, token=who.token, expect=200)
    assert r.json()["application_credentials"][0]["access_rules"] == [rule]
    r = await identity.call("GET", who.rules, token=who.token, expect=200)
    [listed] = r.json()["access_rules"]
    assert listed["links"]["self"].endswith(f"{who.rules}/{rule['id']}")
    r = await identity.call("GET", f"{who.rules}/{rule['id']}", token=who.token, expect=200)
    assert r.json()["access_rule"] == listed
    # A credential without rules has no attribute at all, as in Keystone.
    plain = await _create(identity, who, [])
    assert "access_rules" not in plain


async def test_identical_rules_are_shared_and_reused_by_id(identity: IdentityClient) -> None:
    who = await _member(identity)
    first = await _create(identity, who, [IPS])
    second = await _create(identity, who, [IPS])
    rule_id = first["access_rules"][0]["id"]
    assert second["access_rules"][0]["id"] == rule_id
    third = await _create(identity, who, [{"id": rule_id}])
    assert third["access_rules"] == first["access_rules"]
    r = await identity.call("GET", who.rules, token=who.token, expect=200)
    assert len(r.json()["access_rules"]) == 1
    r = await identity.call("GET", f"{who.rules}?service=image", token=who.token, expect=200)
    assert r.json()["access_rules"] == []
    r = await identity.call("GET", f"{who.rules}?method=GET&service=compute",
                            token=who.token, expect=200)
    assert len(r.json()["access_rules"]) == 1


async def test_bad_rules_are_refused(identity: IdentityClient) -> None:
    who = await _member(identity)
    other = await _member(identity)
    theirs = (await _create(identity, other, [IPS]))["access_rules"][0]["id"]
    for bad in ({**IPS, "method": "FETCH"}, {**IPS, "path": "servers"},
                {**IPS, "service": ""}, {**IPS, "colour": "red"}, {}):
        await _create(identity, who, [bad], expect=400)
    r = await identity.call("POST", who.creds, token=who.token, expect=400, json={
        "application_credential": {"name": "n", "access_rules": [
            {"service": "compute", "method": "GET"}]}})
    assert "service, path and method" in r.json()["error"]["message"]
    # Another user's rule is as unknown as a rule that does not exist.
    await _create(identity, who, [{"id": theirs}], expect=404)
    await _create(identity, who, [{"id": "missing"}], expect=404)
    r = await identity.call("GET", who.creds, token=who.token, expect=200)
    assert r.json()["application_credentials"] == []


async def test_delete_is_refused_while_in_use(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, [IPS])
    rule = f"{who.rules}/{cred['access_rules'][0]['id']}"
    r = await identity.call("DELETE", rule, token=who.token, expect=403)
    assert r.json()["error"]["message"] == "May not delete access rule in use"
    await identity.call("DELETE", f"{who.creds}/{cred['id']}", token=who.token, expect=204)
    await identity.call("DELETE", rule, token=who.token, expect=204)
    await identity.call("GET", rule, token=who.token, expect=404)
    await identity.call("DELETE", rule, token=who.token, expect=404)


async def test_rules_are_the_users_own(identity: IdentityClient) -> None:
    who = await _member(identity)
    other = await _member(identity)
    cred = await _create(identity, who, [IPS])
    rule = f"{who.rules}/{cred['access_rules'][0]['id']}"
    await identity.call("GET", who.rules, token=other.token, expect=403)
    await identity.call("GET", rule, token=other.token, expect=403)
    await identity.call("DELETE", rule, token=other.token, expect=403)
    # Another user's rule under one's own user is 404.
    await identity.call("GET", f"{other.rules}/{cred['access_rules'][0]['id']}",
                        token=other.token, expect=404)
    await identity.call("GET", rule, expect=200)       # the cloud admin reads it


async def test_deleting_the_user_deletes_their_rules(identity: IdentityClient) -> None:
    who = await _member(identity)
    await _create(identity, who, [IPS])
    await identity.call("DELETE", f"/v3/users/{who.user['id']}", expect=204)
    r = await identity.call("GET", who.rules, expect=200)
    assert r.json()["access_rules"] == []


async def test_identity_enforces_the_rules(identity: IdentityClient) -> None:
    who = await _member(identity)
    cred = await _create(identity, who, [
        {"service": "identity", "method": "GET", "path": "/v3/users/*/access_rules"}])
    token = await _token(identity, cred)
    await identity.call("GET", who.rules, token=token, expect=200)
    r = await identity.call("GET", who.creds, token=token, expect=401)
    assert r.json()["error"]["code"] == 401
    await identity.call("HEAD", who.rules, token=token, expect=401)
    # A token can always be validated, but only by a validator that enforces access
    # rules (keystonemiddleware's header); others are told it does not exist.
    await identity.call("GET", "/v3/auth/tokens", token=token, expect=404,
                        headers={"X-Subject-Token": token})
    await identity.call("GET", "/v3/auth/tokens", token=token, expect=200, headers={
        "X-Subject-Token": token, "OpenStack-Identity-Access-Rules": "1.0"})
    await identity.call("GET", "/v3/auth/tokens", token=token, expect=404, headers={
        "X-Subject-Token": token, "OpenStack-Identity-Access-Rules": "0.9"})
    # Public routes stay reachable (as anonymous) with such a token.
    await identity.call("GET", "/v3", token=token, expect=200)


async def test_other_services_enforce_the_rules(image: ServiceClient) -> None:
    identity = image.identity
    who = await _member(identity)
    cred = await _create(identity, who, [
        {"service": "image", "method": "GET", "path": "/v2/images"},
        {"service": "image", "method": "GET", "path": "/v2/schemas/**"}])
    token = await _token(identity, cred)
    await image.call("GET", "/v2/images", token=token, expect=200)
    await image.call("GET", "/v2/schemas/image", token=token, expect=200)
    r = await image.call("POST", "/v2/images", token=token, expect=401,
                         json={"name": "x", "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 401
    await image.call("GET", "/v2/images/whatever", token=token, expect=401)
    # A rule for another service does not open this one.
    other = await _create(identity, who, [{"service": "compute", "method": "GET",
                                           "path": "/v2/images"}])
    await image.call("GET", "/v2/images", token=await _token(identity, other), expect=401)
    # A credential without rules may call anything its roles allow.
    plain = await _create(identity, who, [])
    await image.call("GET", "/v2/images/whatever", token=await _token(identity, plain),
                     expect=404)
