"""OS-OAUTH1: consumers, the three-legged flow signed by oauthlib's client as a real consumer
signs it, the ``oauth1`` token method, a user's access tokens, expiry, and every error
Keystone answers on the way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from oauthlib import oauth1
from sqlalchemy import select, update

from helpers.inprocess import IdentityClient, make_config, make_identity_client
from helpers.oauth1 import (
    OAUTH,
    Consumer,
    access_token,
    access_token_headers,
    authorize,
    base_url,
    delegate,
    form,
    make_consumer,
    oauth_token,
    request_token,
    request_token_headers,
    sign,
)
from ownstack.common.db.base import utcnow
from ownstack.identity.objects.models import OAuthAccessToken, OAuthConsumer, OAuthRequestToken

MEMBER = [{"name": "member"}]


@dataclass
class Delegator:
    """A user who may authorize request tokens (Keystone's default takes the admin role) on
    a project of its own, with its token there, and a consumer."""

    user: dict[str, Any]
    project: dict[str, Any]
    token: str
    consumer: Consumer

    @property
    def tokens_path(self) -> str:
        return f"/v3/users/{self.user['id']}/OS-OAUTH1/access_tokens"


async def _delegator(identity: IdentityClient, consumer: Consumer | None = None) -> Delegator:
    project = await identity.make_project()
    user = await identity.make_user(project=project, role="admin")
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    return Delegator(user, project, token,
                     consumer or await make_consumer(identity.http, identity.admin_token))


async def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == status
    return str(r.json()["error"]["message"])


def _roles(token: dict[str, Any]) -> list[str]:
    return sorted(r["name"] for r in token["roles"])


async def _expire(identity: IdentityClient, model: Any, ident: str) -> None:
    async with identity.app.svc.write() as db:
        await db.execute(update(model).where(model.id == ident)
                         .values(expires_at=utcnow() - timedelta(seconds=1)))


# --- consumers -----------------------------------------------------------------------------

async def test_consumer_lifecycle_shows_the_secret_once(identity: IdentityClient) -> None:
    r = await identity.call("POST", f"{OAUTH}/consumers", expect=201,
                            json={"consumer": {"description": "ci bot"}})
    made = r.json()["consumer"]
    assert set(made) == {"id", "description", "links", "secret"}
    assert len(made["id"]) == len(made["secret"]) == 32
    assert made["links"]["self"] == f"http://identity.test{OAUTH}/consumers/{made['id']}"
    path = f"{OAUTH}/consumers/{made['id']}"
    shown = (await identity.call("GET", path, expect=200)).json()["consumer"]
    assert shown == {k: v for k, v in made.items() if k != "secret"}
    listed = (await identity.call("GET", f"{OAUTH}/consumers", expect=200)).json()
    assert shown in listed["consumers"]
    assert listed["links"]["self"].endswith(f"{OAUTH}/consumers")
    r = await identity.call("PATCH", path, expect=200,
                            json={"consumer": {"description": "renamed"}})
    assert r.json()["consumer"] == {**shown, "description": "renamed"}
    assert (await identity.call("GET", path)).json()["consumer"]["description"] == "renamed"
    await identity.call("DELETE", path, expect=204)
    assert await _error(await identity.call("GET", path), 404) == "Consumer not found"
    for method in ("PATCH", "DELETE"):
        r = await identity.call(method, path, json={"consumer": {"description": "x"}})
        assert await _error(r, 404) == "Consumer not found"


async def test_consumer_bodies(identity: IdentityClient) -> None:
    # Keystone keeps other attributes as extra, and makes the id and secret itself.
    r = await identity.call("POST", f"{OAUTH}/consumers", expect=201, json={"consumer": {
        "color": "blue", "id": "mine", "secret": "mine"}})
    made = r.json()["consumer"]
    assert made["color"] == "blue" and made["description"] is None
    assert made["id"] != "mine" and made["secret"] != "mine"
    path = f"{OAUTH}/consumers/{made['id']}"
    # The secret never changes: naming it in an update is Keystone's 400.
    for body in ({"consumer": {"secret": "new"}}, {"consumer": {"secret": "n", "x": 1}},
                 {"consumer": {}}, {"consumer": {"description": 5}}, {"other": {}}):
        await _error(await identity.call("PATCH", path, json=body), 400)
    r = await identity.call("PATCH", path, json={"consumer": {"id": "another"}})
    assert await _error(r, 400) == "Cannot change consumer ID"
    r = await identity.call("PATCH", path, expect=200, json={"consumer": {"size": 2}})
    assert r.json()["consumer"]["color"] == "blue" and r.json()["consumer"]["size"] == 2
    for body in ({"consumer": {"description": 5}}, {"consumer": []}, {}):
        await _error(await identity.call("POST", f"{OAUTH}/consumers", json=body), 400)


async def test_consumer_secret_is_encrypted_at_rest(identity: IdentityClient) -> None:
    consumer = await make_consumer(identity.http, identity.admin_token)
    async with identity.app.svc.read() as db:
        row = await db.get(OAuthConsumer, consumer.id)
    assert row is not None and consumer.secret not in row.secret
    assert identity.app.svc.credential_keys.decrypt(row.secret) == consumer.secret


async def test_consumers_are_the_admins(identity: IdentityClient) -> None:
    project = await identity.make_project()
    member = await identity.make_user(project=project)
    token = await identity.token(member["name"], "secret-pw", project=project["name"])
    consumer = await make_consumer(identity.http, identity.admin_token)
    path = f"{OAUTH}/consumers/{consumer.id}"
    for method, url in (("GET", f"{OAUTH}/consumers"), ("POST", f"{OAUTH}/consumers"),
                        ("GET", path), ("PATCH", path), ("DELETE", path)):
        r = await identity.call(method, url, token=token,
                                json={"consumer": {"description": "x"}})
        await _error(r, 403)
    r = await identity.http.get(f"{OAUTH}/consumers")
    await _error(r, 401)


# --- the three legs ------------------------------------------------------------------------

async def test_the_three_legs_give_a_token_with_only_the_authorized_roles(
        identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    r = await http.post(f"{OAUTH}/request_token", headers=request_token_headers(
        base_url(http), who.consumer, who.project["id"]))
    assert r.status_code == 201, r.text
    answer = form(r)
    assert set(answer) == {"oauth_token", "oauth_token_secret", "oauth_expires_at"}
    assert answer["oauth_expires_at"].endswith(".000000Z")
    verifier = await authorize(http, answer["oauth_token"], MEMBER, who.token)
    assert len(verifier) == 8 and verifier.isalnum()
    r = await http.post(f"{OAUTH}/access_token", headers=access_token_headers(
        base_url(http), who.consumer, answer["oauth_token"], answer["oauth_token_secret"],
        verifier))
    assert r.status_code == 201, r.text
    access = form(r)
    assert set(access) == {"oauth_token", "oauth_token_secret", "oauth_expires_at"}
    assert access["oauth_expires_at"] > answer["oauth_expires_at"]

    r = await oauth_token(http, who.consumer, access["oauth_token"],
                          access["oauth_token_secret"])
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token["methods"] == ["oauth1"]
    assert token["user"]["id"] == who.user["id"]
    assert token["project"]["id"] == who.project["id"]
    assert token["OS-OAUTH1"] == {"access_token_id": access["oauth_token"],
                                  "consumer_id": who.consumer.id}
    # The member role the user authorized and the role it implies; never the user's admin.
    assert _roles(token) == ["member", "reader"]
    assert "catalog" in token
    assert token["expires_at"] <= access["oauth_expires_at"]
    subject = r.headers["X-Subject-Token"]
    r = await identity.call("GET", "/v3/auth/tokens", expect=200,
                            headers={"X-Subject-Token": subject})
    assert r.json()["token"]["OS-OAUTH1"] == token["OS-OAUTH1"]
    assert _roles(r.json()["token"]) == ["member", "reader"]
    # The token is the user's, on the project, as a member: it reads the user, and no
    # admin route lets it in.
    await identity.call("GET", f"/v3/users/{who.user['id']}", token=subject, expect=200)
    await identity.call("GET", "/v3/users", token=subject, expect=403)

    # The request token was used up.
    r = await http.post(f"{OAUTH}/access_token", headers=access_token_headers(
        base_url(http), who.consumer, answer["oauth_token"], answer["oauth_token_secret"],
        verifier))
    assert await _error(r, 404) == "Request token not found"


async def test_every_hmac_signature_method_and_a_scope_naming_the_project(
        identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    for method in (oauth1.SIGNATURE_HMAC_SHA256, oauth1.SIGNATURE_HMAC_SHA512):
        headers = {**sign(base_url(http), f"{OAUTH}/request_token", who.consumer,
                          callback=True, signature_method=method),
                   "Requested-Project-Id": who.project["id"]}
        r = await http.post(f"{OAUTH}/request_token", headers=headers)
        assert r.status_code == 201, r.text
    token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    r = await oauth_token(http, who.consumer, token_id, secret, body={"auth": {
        "identity": {"methods": ["oauth1"], "oauth1": {}},
        "scope": {"project": {"id": who.project["id"]}}}})
    assert r.status_code == 201, r.text


async def test_a_signed_request_is_accepted_once(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    headers = request_token_headers(base_url(http), who.consumer, who.project["id"])
    r = await http.post(f"{OAUTH}/request_token", headers=headers)
    assert r.status_code == 201, r.text
    r = await http.post(f"{OAUTH}/request_token", headers=headers)
    assert "replayed" in await _error(r, 401)
    token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    headers = sign(base_url(http), "/v3/auth/tokens", who.consumer, token=token_id,
                   token_secret=secret)
    body = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}
    r = await http.post("/v3/auth/tokens", headers=headers, json=body)
    assert r.status_code == 201, r.text
    r = await http.post("/v3/auth/tokens", headers=headers, json=body)
    assert "replayed" in await _error(r, 401)


async def test_request_token_errors(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http, base, url = identity.http, base_url(identity.http), f"{OAUTH}/request_token"
    project_id = who.project["id"]

    async def post(headers: dict[str, str], status: int) -> str:
        return await _error(await http.post(url, headers=headers), status)

    assert "No Authorization headers" in await post({"Requested-Project-Id": project_id}, 400)
    assert "not an OAuth one" in await post({"Authorization": "Basic eDp5"}, 400)
    signed = sign(base, url, who.consumer, callback=True)
    assert await post(signed, 400) == ("Expecting to find Requested-Project-Id in request. "
                                       "The server could not comply with the request since "
                                       "it is either malformed or otherwise incorrect. The "
                                       "client is assumed to be in error.")
    assert (await post({"Authorization": 'OAuth oauth_nonce="1"',
                        "Requested-Project-Id": project_id}, 400)) \
        .startswith("Expecting to find oauth_consumer_key in request.")
    assert await post(request_token_headers(base, who.consumer, "no-such-project"), 404) \
        == "Could not find project: no-such-project."
    stranger = Consumer("f" * 32, "0" * 32)
    assert await post(request_token_headers(base, stranger, project_id), 404) \
        == "Consumer not found"
    wrong = Consumer(who.consumer.id, "0" * 32)
    assert await post(request_token_headers(base, wrong, project_id), 401) \
        == "Invalid signature"
    # Signed for another URL, or with the project header changed after signing (it is not
    # signed, as in Keystone: the consumer's signature is what counts).
    headers = {**sign(base, "/v3/elsewhere", who.consumer, callback=True),
               "Requested-Project-Id": project_id}
    assert await post(headers, 401) == "Invalid signature"
    # oauthlib's refusals of the request's form are Keystone's 400.
    no_callback = {**sign(base, url, who.consumer), "Requested-Project-Id": project_id}
    assert await post(no_callback, 400) == ("Validation failed with errors: invalid_request, "
                                            "detail message is: Missing callback URI..")
    plaintext = {**sign(base, url, who.consumer, callback=True,
                        signature_method=oauth1.SIGNATURE_PLAINTEXT),
                 "Requested-Project-Id": project_id}
    assert "PLAINTEXT" in await post(plaintext, 400)
    client = oauth1.Client(who.consumer.id, client_secret=who.consumer.secret,
                           callback_uri="oob", timestamp="1000000000")
    _, old, _ = client.sign(f"{base}{url}", http_method="POST")
    assert "Timestamp given is invalid" in await post(
        {**old, "Requested-Project-Id": project_id}, 400)
    r = await http.get(url, headers=request_token_headers(base, who.consumer, project_id))
    assert r.status_code == 405


async def test_authorize_errors(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    token_id, _ = await request_token(http, who.consumer, who.project["id"])
    path = f"{OAUTH}/authorize/{token_id}"

    async def put(body: Any, status: int, token: str | None = None,
                  url: str = path) -> str:
        r = await identity.call("PUT", url, token=token or who.token, json=body)
        return await _error(r, status)

    assert await put({"roles": MEMBER}, 404, url=f"{OAUTH}/authorize/{'a' * 32}") \
        == "Request token not found"
    assert await put({"roles": [{"name": "no-such-role"}]}, 404) \
        == "Could not find role: no-such-role."
    assert await put({"roles": [{"id": "no-such-role"}]}, 401) \
        == "authorizing user does not have role required"
    r = await identity.call("POST", "/v3/roles", expect=201,
                            json={"role": {"name": "unheld"}})
    assert await put({"roles": [{"id": r.json()["role"]["id"]}]}, 401) \
        == "authorizing user does not have role required"
    for body in ({"roles": []}, {}, {"roles": [{"id": "a", "name": "b"}]},
                 {"roles": [{}]}, {"roles": MEMBER, "other": 1}, {"roles": "member"}):
        await put(body, 400)
    # Keystone's default: only an admin authorizes, and only with roles it holds on the
    # token's project (an admin elsewhere holds none here).
    member = await identity.make_user(project=who.project)
    member_token = await identity.token(member["name"], "secret-pw",
                                        project=who.project["name"])
    await put({"roles": MEMBER}, 403, token=member_token)
    other = await _delegator(identity, who.consumer)
    assert await put({"roles": MEMBER}, 401, token=other.token) \
        == "authorizing user does not have role required"
    r = await identity.http.put(path, json={"roles": MEMBER})
    await _error(r, 401)
    await _expire(identity, OAuthRequestToken, token_id)
    assert await put({"roles": MEMBER}, 401) == "Request token is expired"


async def test_access_token_errors(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http, base, url = identity.http, base_url(identity.http), f"{OAUTH}/access_token"
    token_id, secret = await request_token(http, who.consumer, who.project["id"])

    async def post(headers: dict[str, str], status: int) -> str:
        return await _error(await http.post(url, headers=headers), status)

    # Not yet authorized: no verifier can match.
    assert await post(access_token_headers(base, who.consumer, token_id, secret, "abcdefgh"),
                      401) == "Provided verifier does not match stored verifier"
    verifier = await authorize(http, token_id, MEMBER, who.token)
    assert await post({}, 400) == ("No Authorization headers found, cannot proceed with "
                                   "OAuth related calls.")
    assert (await post(sign(base, url, who.consumer, token=token_id, token_secret=secret),
                       400)).startswith("Expecting to find oauth_verifier in request.")
    assert (await post(sign(base, url, who.consumer, verifier=verifier), 400)) \
        .startswith("Expecting to find oauth_token in request.")
    assert await post(access_token_headers(base, who.consumer, "b" * 32, secret, verifier),
                      404) == "Request token not found"
    wrong_verifier = "abcdefgh" if verifier != "abcdefgh" else "bcdefghk"
    assert await post(access_token_headers(base, who.consumer, token_id, secret,
                                           wrong_verifier), 401) \
        == "Provided verifier does not match stored verifier"
    assert "Invalid verifier format" in await post(
        access_token_headers(base, who.consumer, token_id, secret, "bad"), 400)
    assert await post(access_token_headers(base, who.consumer, token_id, "0" * 32, verifier),
                      401) == "Invalid signature"
    assert await post(access_token_headers(base, Consumer("e" * 32, who.consumer.secret),
                                           token_id, secret, verifier), 401) \
        == "Provided consumer does not exist."
    another = await make_consumer(http, identity.admin_token)
    assert await post(access_token_headers(base, another, token_id, secret, verifier), 401) \
        == "Provided consumer key does not match stored consumer key."
    await _expire(identity, OAuthRequestToken, token_id)
    assert await post(access_token_headers(base, who.consumer, token_id, secret, verifier),
                      401) == "Request token is expired"


async def test_oauth1_method_errors(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http, base = identity.http, base_url(identity.http)
    token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    body = {"auth": {"identity": {"methods": ["oauth1"], "oauth1": {}}}}

    async def post(headers: dict[str, str], status: int, json: Any = body) -> str:
        r = await http.post("/v3/auth/tokens", headers=headers, json=json)
        return await _error(r, status)

    def signed(consumer: Consumer = who.consumer, token: str = token_id,
               token_secret: str = secret) -> dict[str, str]:
        return sign(base, "/v3/auth/tokens", consumer, token=token, token_secret=token_secret)

    assert "No Authorization headers" in await post({}, 400)
    assert (await post(sign(base, "/v3/auth/tokens", who.consumer), 400)) \
        .startswith("Expecting to find oauth_token in request.")
    assert await post(signed(token="c" * 32), 404) == "Access token not found"
    assert await post(signed(token_secret="0" * 32), 401) \
        == "Could not validate the access token"
    another = await make_consumer(http, identity.admin_token)
    assert await post(signed(consumer=another), 401) == "Could not validate the access token"
    assert await post(signed(consumer=Consumer("d" * 32, "0" * 32)), 401) \
        == "Could not validate the access token"
    await _error(await http.post("/v3/auth/tokens", headers=signed(),
                                 json={"auth": {"identity": {"methods": ["oauth1"]}}}), 400)
    other_project = await identity.make_project()
    assert "scoped to the access token's project" in await post(signed(), 401, json={
        "auth": {"identity": {"methods": ["oauth1"], "oauth1": {}},
                 "scope": {"project": {"id": other_project["id"]}}}})
    assert "cannot be combined" in await post(signed(), 401, json={"auth": {"identity": {
        "methods": ["oauth1", "password"], "oauth1": {}, "password": {"user": {
            "id": who.user["id"], "password": "secret-pw"}}}}})
    await _expire(identity, OAuthAccessToken, token_id)
    assert await post(signed(), 401) == "Access token is expired"


async def test_a_delegated_token_cannot_delegate_further(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    # Even an access token that delegates the admin role.
    token_id, secret = await delegate(http, who.consumer, who.project["id"],
                                      [{"name": "admin"}], who.token)
    r = await oauth_token(http, who.consumer, token_id, secret)
    assert r.status_code == 201, r.text
    delegated = r.headers["X-Subject-Token"]
    assert "admin" in _roles(r.json()["token"])
    r = await http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["token"], "token": {"id": delegated}}}})
    assert "Create a new OAuth-scoped token instead" in await _error(r, 403)
    request_id, _ = await request_token(http, who.consumer, who.project["id"])
    r = await identity.call("PUT", f"{OAUTH}/authorize/{request_id}", token=delegated,
                            json={"roles": MEMBER})
    assert await _error(r, 403) == ("Cannot authorize a request token with a token issued "
                                    "via delegation.")
    for method, path in (("GET", who.tokens_path), ("GET", f"{who.tokens_path}/{token_id}"),
                         ("DELETE", f"{who.tokens_path}/{token_id}")):
        r = await identity.call(method, path, token=delegated)
        assert await _error(r, 403) == ("Cannot manage OAuth access tokens with a token "
                                        "issued via delegation.")
    # Nor make, read or delete application credentials or access rules, which would
    # outlive the delegation (Keystone's 403).
    creds = f"/v3/users/{who.user['id']}/application_credentials"
    for method, path in (("GET", creds), ("POST", creds),
                         ("GET", f"/v3/users/{who.user['id']}/access_rules")):
        r = await identity.call(method, path, token=delegated,
                                json={"application_credential": {"name": "from-oauth"}})
        assert await _error(r, 403) == ("Cannot manage application credentials with a "
                                        "token issued via delegation.")
    # An application credential's token is a delegation too.
    r = await identity.call("POST", f"/v3/users/{who.user['id']}/application_credentials",
                            token=who.token, expect=201,
                            json={"application_credential": {"name": "ac"}})
    cred = r.json()["application_credential"]
    r = await http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    app_token = r.headers["X-Subject-Token"]
    r = await identity.call("PUT", f"{OAUTH}/authorize/{request_id}", token=app_token,
                            json={"roles": MEMBER})
    assert "issued via delegation" in await _error(r, 403)
    r = await identity.call("GET", who.tokens_path, token=app_token)
    assert "issued via delegation" in await _error(r, 403)


# --- a user's access tokens ----------------------------------------------------------------

async def test_access_tokens_of_a_user(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    token_id, _ = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    listed = (await identity.call("GET", who.tokens_path, token=who.token,
                                  expect=200)).json()
    assert [t["id"] for t in listed["access_tokens"]] == [token_id]
    shown = listed["access_tokens"][0]
    assert set(shown) == {"id", "consumer_id", "project_id", "authorizing_user_id",
                          "expires_at", "links"}
    assert (shown["consumer_id"], shown["project_id"], shown["authorizing_user_id"]) == (
        who.consumer.id, who.project["id"], who.user["id"])
    self_link = f"http://identity.test{who.tokens_path}/{token_id}"
    assert shown["links"] == {"self": self_link, "roles": f"{self_link}/roles"}
    r = await identity.call("GET", f"{who.tokens_path}/{token_id}", expect=200)
    assert r.json()["access_token"] == shown
    # The roles are those authorized, not those they imply.
    r = await identity.call("GET", f"{who.tokens_path}/{token_id}/roles", expect=200)
    roles = r.json()["roles"]
    assert [role["name"] for role in roles] == ["member"]
    assert set(roles[0]) == {"id", "name", "domain_id", "options", "links"}
    member_id = roles[0]["id"]
    r = await identity.call("GET", f"{who.tokens_path}/{token_id}/roles/{member_id}",
                            expect=200)
    assert r.json()["role"] == roles[0]
    admin_id = await identity.role_id("admin")
    r = await identity.call("GET", f"{who.tokens_path}/{token_id}/roles/{admin_id}")
    assert await _error(r, 404) == f"Could not find role: {admin_id}."
    for path in (f"{who.tokens_path}/{'a' * 32}", f"{who.tokens_path}/{'a' * 32}/roles",
                 f"{who.tokens_path}/{'a' * 32}/roles/{member_id}"):
        assert await _error(await identity.call("GET", path), 404) == "Access token not found"
    assert await _error(await identity.call("DELETE", f"{who.tokens_path}/{'a' * 32}"),
                        404) == "Access token not found"


async def test_another_users_access_token(identity: IdentityClient) -> None:
    """Under another user's path an access token is missing (Keystone answers its role and
    its delete with a 401, "User IDs do not match"), and that user lists none."""
    who = await _delegator(identity)
    other = await _delegator(identity, who.consumer)
    token_id, _ = await delegate(identity.http, who.consumer, who.project["id"], MEMBER,
                                 who.token)
    path = f"{other.tokens_path}/{token_id}"
    r = await identity.call("GET", other.tokens_path, expect=200)
    assert r.json()["access_tokens"] == []
    assert await _error(await identity.call("GET", path), 404) == "Access token not found"
    assert await _error(await identity.call("GET", f"{path}/roles"), 404) \
        == "Access token not found"
    member_id = await identity.role_id("member")
    assert await _error(await identity.call("GET", f"{path}/roles/{member_id}"), 401) \
        == "User IDs do not match"
    assert await _error(await identity.call("DELETE", path), 401) == "User IDs do not match"
    await identity.call("GET", f"{who.tokens_path}/{token_id}", expect=200)


async def test_access_tokens_are_the_admins(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    token_id, _ = await delegate(identity.http, who.consumer, who.project["id"], MEMBER,
                                 who.token)
    member = await identity.make_user(project=who.project)
    member_token = await identity.token(member["name"], "secret-pw",
                                        project=who.project["name"])
    member_path = f"/v3/users/{member['id']}/OS-OAUTH1/access_tokens"
    member_id = await identity.role_id("member")
    for method, path in (("GET", member_path), ("GET", who.tokens_path),
                         ("GET", f"{who.tokens_path}/{token_id}"),
                         ("DELETE", f"{who.tokens_path}/{token_id}"),
                         ("GET", f"{who.tokens_path}/{token_id}/roles"),
                         ("GET", f"{who.tokens_path}/{token_id}/roles/{member_id}")):
        await _error(await identity.call(method, path, token=member_token), 403)


async def test_deleting_an_access_token_revokes_its_tokens(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    kept_id, kept_secret = await delegate(http, who.consumer, who.project["id"], MEMBER,
                                          who.token)
    r = await oauth_token(http, who.consumer, token_id, secret)
    subject = r.headers["X-Subject-Token"]
    r = await oauth_token(http, who.consumer, kept_id, kept_secret)
    kept = r.headers["X-Subject-Token"]
    await identity.call("GET", f"/v3/users/{who.user['id']}", token=subject, expect=200)
    await identity.call("DELETE", f"{who.tokens_path}/{token_id}", token=who.token,
                        expect=204)
    r = await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": subject})
    await _error(r, 404)
    await _error(await identity.call("GET", f"/v3/users/{who.user['id']}", token=subject), 401)
    r = await oauth_token(http, who.consumer, token_id, secret)
    assert await _error(r, 404) == "Access token not found"
    # The other access token and its token are untouched.
    await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": kept},
                        expect=200)


async def test_deleting_a_consumer_deletes_its_tokens(identity: IdentityClient) -> None:
    who = await _delegator(identity)
    other = await _delegator(identity)
    http = identity.http
    token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    pending, _ = await request_token(http, who.consumer, who.project["id"])
    subject = (await oauth_token(http, who.consumer, token_id, secret)).headers[
        "X-Subject-Token"]
    other_id, other_secret = await delegate(http, other.consumer, other.project["id"],
                                            MEMBER, other.token)
    other_subject = (await oauth_token(http, other.consumer, other_id, other_secret)).headers[
        "X-Subject-Token"]
    await identity.call("DELETE", f"{OAUTH}/consumers/{who.consumer.id}", expect=204)
    r = await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": subject})
    await _error(r, 404)
    r = await identity.call("GET", who.tokens_path, expect=200)
    assert r.json()["access_tokens"] == []
    r = await identity.call("PUT", f"{OAUTH}/authorize/{pending}", token=who.token,
                            json={"roles": MEMBER})
    assert await _error(r, 404) == "Request token not found"
    await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": other_subject},
                        expect=200)


async def test_a_token_follows_the_users_roles(identity: IdentityClient) -> None:
    """The token carries the authorized roles the user still holds; with none left it
    stops validating and no new one is issued."""
    who = await _delegator(identity)
    http = identity.http
    project_id, user_id = who.project["id"], who.user["id"]
    member_id = await identity.role_id("member")
    await identity.call("PUT", f"/v3/projects/{project_id}/users/{user_id}/roles/{member_id}",
                        expect=204)
    token_id, secret = await delegate(http, who.consumer, project_id, MEMBER, who.token)
    subject = (await oauth_token(http, who.consumer, token_id, secret)).headers[
        "X-Subject-Token"]
    for role in ("admin", "member"):
        await identity.call("DELETE", f"/v3/projects/{project_id}/users/{user_id}/roles/"
                            f"{await identity.role_id(role)}", expect=204)
    r = await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": subject})
    await _error(r, 404)
    await _error(await oauth_token(http, who.consumer, token_id, secret), 401)


async def test_deleting_the_user_or_project_deletes_its_tokens(
        identity: IdentityClient) -> None:
    who = await _delegator(identity)
    http = identity.http
    await delegate(http, who.consumer, who.project["id"], MEMBER, who.token)
    pending, _ = await request_token(http, who.consumer, who.project["id"])
    await identity.call("DELETE", f"/v3/users/{who.user['id']}", expect=204)
    async with identity.app.svc.read() as db:
        assert (await db.scalars(select(OAuthAccessToken).where(
            OAuthAccessToken.user_id == who.user["id"]))).all() == []
    await identity.call("PATCH", f"/v3/projects/{who.project['id']}", expect=200,
                        json={"project": {"enabled": False}})
    await identity.call("DELETE", f"/v3/projects/{who.project['id']}", expect=204)
    async with identity.app.svc.read() as db:
        assert await db.get(OAuthRequestToken, pending) is None


# --- expiry --------------------------------------------------------------------------------

async def test_tokens_without_expiry(tmp_path: Path) -> None:
    config = make_config(tmp_path, "identity.oauth1.request_token_duration=0",
                         "identity.oauth1.access_token_duration=0")
    async for identity in make_identity_client(config):
        who = await _delegator(identity)
        http = identity.http
        r = await http.post(f"{OAUTH}/request_token", headers=request_token_headers(
            base_url(http), who.consumer, who.project["id"]))
        answer = form(r)
        assert set(answer) == {"oauth_token", "oauth_token_secret"}
        verifier = await authorize(http, answer["oauth_token"], MEMBER, who.token)
        token_id, secret = await access_token(http, who.consumer, answer["oauth_token"],
                                              answer["oauth_token_secret"], verifier)
        r = await identity.call("GET", f"{who.tokens_path}/{token_id}", expect=200)
        assert r.json()["access_token"]["expires_at"] is None
        r = await oauth_token(http, who.consumer, token_id, secret)
        assert r.status_code == 201, r.text


async def test_a_token_expires_with_its_access_token(tmp_path: Path) -> None:
    config = make_config(tmp_path, "identity.oauth1.access_token_duration=60")
    async for identity in make_identity_client(config):
        who = await _delegator(identity)
        http = identity.http
        token_id, secret = await delegate(http, who.consumer, who.project["id"], MEMBER,
                                          who.token)
        r = await identity.call("GET", f"{who.tokens_path}/{token_id}", expect=200)
        expires = r.json()["access_token"]["expires_at"]
        r = await oauth_token(http, who.consumer, token_id, secret)
        assert r.status_code == 201, r.text
        assert r.json()["token"]["expires_at"] == expires
