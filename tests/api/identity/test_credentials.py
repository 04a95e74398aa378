"""Identity v3 credentials (``/v3/credentials``), a user's EC2 key pairs (``OS-EC2``), and
the blobs encrypted at rest with the credential keys (decision 66)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from helpers.inprocess import IdentityClient
from ownstack.identity.objects.models import Credential

FIELDS = {"id", "user_id", "project_id", "type", "blob", "links"}


class Person:
    """A user with ``role`` on a project of their own, and a token scoped to it."""

    def __init__(self, user: dict[str, Any], project: dict[str, Any], token: str) -> None:
        self.user, self.project, self.token = user, project, token
        self.id = str(user["id"])
        self.ec2 = f"/v3/users/{self.id}/credentials/OS-EC2"


async def _person(identity: IdentityClient, role: str = "member") -> Person:
    project = await identity.make_project()
    user = await identity.make_user(project=project, role=role)
    return Person(user, project, await identity.token(user["name"], "secret-pw",
                                                      project=project["name"]))


def _ec2_blob(access: str = "AKIA-1", secret: str = "s3cret") -> str:
    return json.dumps({"access": access, "secret": secret})


async def _create(identity: IdentityClient, token: str | None = None, expect: int = 201,
                  **fields: Any) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/credentials", token=token, expect=expect,
                            json={"credential": fields})
    return dict(r.json().get("credential") or r.json())


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    assert r.json()["error"]["code"] == expect
    assert r.json()["error"]["title"]
    return str(r.json()["error"]["message"])


async def _stored(identity: IdentityClient, credential_id: str) -> Credential:
    async with identity.app.svc.read() as db:
        row = await db.scalar(select(Credential).where(Credential.id == credential_id))
    assert row is not None
    return row


# --- /v3/credentials ----------------------------------------------------------------------

async def test_create_show_update_delete_an_ec2_credential(identity: IdentityClient) -> None:
    who = await _person(identity)
    blob = _ec2_blob("AKIA-create")
    cred = await _create(identity, user_id=who.id, project_id=who.project["id"], type="ec2",
                         blob=blob, note="kept")
    assert set(cred) == FIELDS | {"note"}
    # Keystone's id for an EC2 credential: the SHA-256 of its access key.
    assert cred["id"] == hashlib.sha256(b"AKIA-create").hexdigest()
    assert (cred["user_id"], cred["project_id"], cred["type"], cred["blob"]) == \
        (who.id, who.project["id"], "ec2", blob)
    assert cred["links"]["self"].endswith(f"/v3/credentials/{cred['id']}")
    r = await identity.call("GET", f"/v3/credentials/{cred['id']}", expect=200)
    assert r.json()["credential"] == cred

    new_blob = _ec2_blob("AKIA-create", "rotated")
    r = await identity.call("PATCH", f"/v3/credentials/{cred['id']}", expect=200,
                            json={"credential": {"blob": new_blob, "note": "changed"}})
    assert r.json()["credential"] == {**cred, "blob": new_blob, "note": "changed"}
    r = await identity.call("GET", f"/v3/credentials/{cred['id']}", expect=200)
    assert json.loads(r.json()["credential"]["blob"])["secret"] == "rotated"

    await identity.call("DELETE", f"/v3/credentials/{cred['id']}", expect=204)
    message = await _error(identity, "GET", f"/v3/credentials/{cred['id']}", 404)
    assert message == f"Could not find credential: {cred['id']}."
    await _error(identity, "DELETE", f"/v3/credentials/{cred['id']}", 404)
    await _error(identity, "PATCH", f"/v3/credentials/{cred['id']}", 404,
                 json={"credential": {"blob": "x"}})


async def test_the_blob_is_encrypted_at_rest(identity: IdentityClient) -> None:
    who = await _person(identity)
    cred = await _create(identity, user_id=who.id, type="cert", blob="-----BEGIN SECRET-----")
    assert len(cred["id"]) == 32                  # not an EC2 key: a new uuid
    row = await _stored(identity, cred["id"])
    assert "SECRET" not in row.encrypted_blob
    keys = identity.app.svc.credential_keys
    assert keys.decrypt(row.encrypted_blob) == "-----BEGIN SECRET-----"
    primary = max(keys.repository.key_indexes())
    key = (keys.repository.path / str(primary)).read_bytes().strip()
    assert row.key_hash == hashlib.sha256(key).hexdigest()
    # The credential keys are not the token keys.
    assert keys.repository.path.name == "credential-keys"
    assert key not in {p.read_bytes().strip()
                       for p in identity.app.svc.keys.path.iterdir() if p.name.isdigit()}
    await identity.call("PATCH", f"/v3/credentials/{cred['id']}", expect=200,
                        json={"credential": {"blob": "second"}})
    assert keys.decrypt((await _stored(identity, cred["id"])).encrypted_blob) == "second"


async def test_a_blob_the_keys_cannot_read_is_keystones_500(identity: IdentityClient) -> None:
    who = await _person(identity)
    cred = await _create(identity, user_id=who.id, type="cert", blob="x")
    async with identity.app.svc.write() as db:
        row = await db.get(Credential, cred["id"])
        assert row is not None
        row.encrypted_blob = "gAAAAABnot-a-token"
    message = await _error(identity, "GET", f"/v3/credentials/{cred['id']}", 500)
    assert message.startswith("Credential could not be decrypted")


async def test_list_filters_and_shows_each_user_only_their_own(
        identity: IdentityClient) -> None:
    who, other = await _person(identity), await _person(identity)
    mine = await _create(identity, who.token, user_id=who.id, type="cert", blob="a")
    ec2 = await _create(identity, who.token, user_id=who.id, project_id=who.project["id"],
                        type="ec2", blob=_ec2_blob("AKIA-list"))
    theirs = await _create(identity, user_id=other.id, type="cert", blob="b")

    r = await identity.call("GET", "/v3/credentials", token=who.token, expect=200)
    assert sorted(c["id"] for c in r.json()["credentials"]) == sorted([mine["id"], ec2["id"]])
    assert r.json()["links"]["next"] is None
    # Filtering for another user's credentials finds none of them.
    r = await identity.call("GET", "/v3/credentials", token=who.token,
                            params={"user_id": other.id}, expect=200)
    assert r.json()["credentials"] == []
    r = await identity.call("GET", "/v3/credentials", params={"user_id": other.id},
                            expect=200)
    assert [c["id"] for c in r.json()["credentials"]] == [theirs["id"]]
    r = await identity.call("GET", "/v3/credentials", params={"type": "ec2"}, expect=200)
    assert [c["id"] for c in r.json()["credentials"]] == [ec2["id"]]
    assert r.json()["credentials"][0]["blob"] == _ec2_blob("AKIA-list")
    r = await identity.call("GET", "/v3/credentials",
                            params={"user_id": who.id, "type": "cert"}, expect=200)
    assert [c["id"] for c in r.json()["credentials"]] == [mine["id"]]


async def test_a_user_manages_only_their_own(identity: IdentityClient) -> None:
    who, other = await _person(identity, role="reader"), await _person(identity)
    cred = await _create(identity, who.token, user_id=who.id, type="cert", blob="mine")
    path = f"/v3/credentials/{cred['id']}"
    await identity.call("GET", path, token=who.token, expect=200)
    await identity.call("PATCH", path, token=who.token, expect=200,
                        json={"credential": {"blob": "still mine"}})
    # Another user is refused before anything is looked up: 403, existing or not.
    for method, target in (("GET", path), ("DELETE", path), ("GET", "/v3/credentials/nope"),
                           ("DELETE", "/v3/credentials/nope")):
        await _error(identity, method, target, 403, token=other.token)
    await _error(identity, "PATCH", path, 403, token=other.token,
                 json={"credential": {"blob": "stolen"}})
    await _error(identity, "POST", "/v3/credentials", 403, token=other.token,
                 json={"credential": {"user_id": who.id, "type": "cert", "blob": "x"}})
    # Nor may the owner give the credential away.
    await _error(identity, "PATCH", path, 403, token=who.token,
                 json={"credential": {"user_id": other.id}})
    await identity.call("DELETE", path, token=who.token, expect=204)
    await _error(identity, "GET", path, 403, token=who.token)
    await _error(identity, "GET", path, 404)


async def test_validation_errors(identity: IdentityClient) -> None:
    who = await _person(identity)
    base = {"user_id": who.id, "type": "cert", "blob": "x"}
    for body, words in (
            ({"type": "cert", "blob": "x"}, "'user_id' is a required property"),
            ({"user_id": who.id, "blob": "x"}, "'type' is a required property"),
            ({"user_id": who.id, "type": "cert"}, "'blob' is a required property"),
            ({**base, "blob": {"access": "a"}}, "credential.blob"),
            ({**base, "type": "x" * 256}, "credential.type"),
            ({**base, "user_id": ""}, "credential.user_id"),
            ({**base, "project_id": 5}, "credential.project_id"),
            ({**base, "type": "ec2", "blob": _ec2_blob()}, "'project_id' is a required"),
    ):
        message = await _error(identity, "POST", "/v3/credentials", 400,
                               json={"credential": body})
        assert message.startswith("Invalid input for field") and words in message, message
    ec2 = {**base, "type": "ec2", "project_id": who.project["id"]}
    for blob, message in (("not json", "Invalid blob in credential"),
                          ("[1]", "Expecting to find blob in credential."),
                          ("{}", "Expecting to find blob in credential."),
                          ('{"secret": "s"}', "Expecting to find access in credential.")):
        got = await _error(identity, "POST", "/v3/credentials", 400,
                           json={"credential": {**ec2, "blob": blob}})
        assert got.startswith(message), got
    got = await _error(identity, "POST", "/v3/credentials", 400, json={"credential": {
        **ec2, "type": "EC2", "project_id": None}})
    assert got.startswith("Expecting to find project_id in credential.")
    for body in ({}, {"credential": {}}, {"credential": "x"}, {"credential": base, "x": 1}):
        await _error(identity, "POST", "/v3/credentials", 400, json=body)
    # Who and where must exist.
    got = await _error(identity, "POST", "/v3/credentials", 404,
                       json={"credential": {**base, "user_id": "nobody"}})
    assert got == "Could not find user: nobody."
    await _error(identity, "POST", "/v3/credentials", 404,
                 json={"credential": {**base, "project_id": "nowhere"}})
    r = await identity.call("GET", "/v3/credentials", params={"user_id": who.id}, expect=200)
    assert r.json()["credentials"] == []


async def test_update_rules(identity: IdentityClient) -> None:
    who = await _person(identity)
    ec2 = await _create(identity, user_id=who.id, project_id=who.project["id"], type="ec2",
                        blob=json.dumps({"access": "AKIA-u", "secret": "s",
                                         "app_cred_id": "ac"}))
    path = f"/v3/credentials/{ec2['id']}"
    for body, message in (
            ({}, "Invalid input for field 'credential'"),
            ({"blob": 1}, "Invalid input for field 'credential.blob'"),
            ({"id": "other"}, "Cannot change ID"),
            ({"blob": "nope"}, "Invalid blob in credential"),
            ({"blob": json.dumps({"access": "AKIA-u", "secret": "s"})},
             "app_cred_id can not be updated for credential"),
            ({"project_id": None}, "Expecting to find project_id in credential."),
            ({"user_id": "nobody"}, "Could not find user: nobody."),
    ):
        got = await _error(identity, "PATCH", path, 404 if "nobody" in str(body) else 400,
                           json={"credential": body})
        assert got.startswith(message), got
    # The same id is no change; a cert becoming an EC2 key needs an EC2 blob and a project.
    await identity.call("PATCH", path, expect=200, json={"credential": {"id": ec2["id"]}})
    cert = await _create(identity, user_id=who.id, type="cert", blob="pem")
    cert_path = f"/v3/credentials/{cert['id']}"
    got = await _error(identity, "PATCH", cert_path, 400,
                       json={"credential": {"type": "ec2", "blob": _ec2_blob()}})
    assert got.startswith("Expecting to find project_id in credential.")
    got = await _error(identity, "PATCH", cert_path, 400, json={"credential": {
        "type": "ec2", "project_id": who.project["id"]}})
    assert got.startswith("Invalid blob in credential")
    r = await identity.call("PATCH", cert_path, expect=200, json={"credential": {
        "type": "ec2", "project_id": who.project["id"], "blob": _ec2_blob("AKIA-v")}})
    assert (r.json()["credential"]["type"], r.json()["credential"]["id"]) == \
        ("ec2", cert["id"])


async def test_an_ec2_key_is_unique(identity: IdentityClient) -> None:
    who = await _person(identity)
    body = {"user_id": who.id, "project_id": who.project["id"], "type": "ec2",
            "blob": _ec2_blob("AKIA-dup")}
    cred = await _create(identity, **body)
    message = await _error(identity, "POST", "/v3/credentials", 409, json={"credential": body})
    assert message == ("Conflict occurred attempting to store credential - "
                       f"Duplicate ID, {cred['id']}.")


async def test_deleting_the_user_or_project_deletes_its_credentials(
        identity: IdentityClient) -> None:
    who, other = await _person(identity), await _person(identity)
    by_user = await _create(identity, user_id=who.id, type="cert", blob="a")
    by_project = await _create(identity, user_id=other.id, project_id=who.project["id"],
                               type="cert", blob="b")
    kept = await _create(identity, user_id=other.id, type="cert", blob="c")
    await identity.call("DELETE", f"/v3/users/{who.id}", expect=204)
    await _error(identity, "GET", f"/v3/credentials/{by_user['id']}", 404)
    await identity.call("GET", f"/v3/credentials/{by_project['id']}", expect=200)
    await identity.call("DELETE", f"/v3/projects/{who.project['id']}", expect=204)
    await _error(identity, "GET", f"/v3/credentials/{by_project['id']}", 404)
    await identity.call("GET", f"/v3/credentials/{kept['id']}", expect=200)


async def _app_cred_token(identity: IdentityClient, who: Person, unrestricted: bool
                          ) -> str:
    r = await identity.call("POST", f"/v3/users/{who.id}/application_credentials",
                            token=who.token, expect=201, json={"application_credential": {
                                "name": f"ac-{unrestricted}", "unrestricted": unrestricted}})
    cred = r.json()["application_credential"]
    r = await identity.http.post("/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["application_credential"],
        "application_credential": {"id": cred["id"], "secret": cred["secret"]}}}})
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


async def test_an_application_credential_reaches_its_own_project_only(
        identity: IdentityClient) -> None:
    who = await _person(identity)
    elsewhere = await identity.make_project()
    restricted = await _app_cred_token(identity, who, unrestricted=False)
    unrestricted = await _app_cred_token(identity, who, unrestricted=True)
    outside = await _create(identity, user_id=who.id, project_id=elsewhere["id"],
                            type="cert", blob="x")
    unscoped = await _create(identity, user_id=who.id, type="cert", blob="y")
    inside = await _create(identity, restricted, user_id=who.id,
                           project_id=who.project["id"], type="cert", blob="z")
    r = await identity.call("GET", "/v3/credentials", token=restricted, expect=200)
    assert [c["id"] for c in r.json()["credentials"]] == [inside["id"]]
    for cred in (outside, unscoped):
        message = await _error(identity, "GET", f"/v3/credentials/{cred['id']}", 403,
                               token=restricted)
        assert "does not match the project scope" in message
    await _error(identity, "POST", "/v3/credentials", 403, token=unrestricted,
                 json={"credential": {"user_id": who.id, "project_id": elsewhere["id"],
                                      "type": "cert", "blob": "w"}})
    # A restricted application credential makes no EC2 keys; an unrestricted one does,
    # and the key records it.
    ec2 = {"user_id": who.id, "project_id": who.project["id"], "type": "ec2"}
    message = await _error(identity, "POST", "/v3/credentials", 403, token=restricted,
                           json={"credential": {**ec2, "blob": _ec2_blob("AKIA-r")}})
    assert "application_credential" in message
    made = await _create(identity, unrestricted, **ec2, blob=_ec2_blob("AKIA-u"))
    assert json.loads(made["blob"])["app_cred_id"]
    await _error(identity, "POST", who.ec2, 403, token=restricted,
                 json={"tenant_id": who.project["id"]})


# --- /v3/users/{user_id}/credentials/OS-EC2 -----------------------------------------------

async def test_ec2_key_pairs(identity: IdentityClient) -> None:
    who = await _person(identity)
    r = await identity.call("POST", who.ec2, token=who.token, expect=201,
                            json={"tenant_id": who.project["id"]})
    pair = r.json()["credential"]
    assert set(pair) == {"user_id", "tenant_id", "access", "secret", "trust_id", "links"}
    assert (pair["user_id"], pair["tenant_id"], pair["trust_id"]) == \
        (who.id, who.project["id"], None)
    assert len(pair["access"]) == len(pair["secret"]) == 32
    assert pair["links"]["self"].endswith(f"{who.ec2}/{pair['access']}")
    r = await identity.call("GET", f"{who.ec2}/{pair['access']}", token=who.token, expect=200)
    assert r.json()["credential"] == pair
    r = await identity.call("GET", who.ec2, token=who.token, expect=200)
    assert r.json()["credentials"] == [pair]
    # The same key pair, seen through /v3/credentials.
    cred_id = hashlib.sha256(pair["access"].encode()).hexdigest()
    r = await identity.call("GET", f"/v3/credentials/{cred_id}", token=who.token, expect=200)
    assert json.loads(r.json()["credential"]["blob"])["secret"] == pair["secret"]
    # A non-EC2 credential is not listed there.
    await _create(identity, user_id=who.id, type="cert", blob="x")
    r = await identity.call("GET", who.ec2, token=who.token, expect=200)
    assert [c["access"] for c in r.json()["credentials"]] == [pair["access"]]
    await identity.call("DELETE", f"{who.ec2}/{pair['access']}", token=who.token, expect=204)
    # Gone is a 404 to the owner too (OS-EC2 looks the key up before the policy).
    message = await _error(identity, "GET", f"{who.ec2}/{pair['access']}", 404,
                           token=who.token)
    assert message == f"Could not find credential: {cred_id}."
    await _error(identity, "DELETE", f"{who.ec2}/{pair['access']}", 404, token=who.token)


async def test_ec2_errors_and_policy(identity: IdentityClient) -> None:
    who, other = await _person(identity), await _person(identity)
    reader = await _person(identity, role="reader")
    for body in ({}, {"tenant_id": ""}, {"tenant_id": 5}, [], {"x": who.project["id"]}):
        message = await _error(identity, "POST", who.ec2, 400, token=who.token, json=body)
        assert message.startswith("Invalid input")
    message = await _error(identity, "POST", who.ec2, 404, token=who.token,
                           json={"tenant_id": "nowhere"})
    assert message == "Could not find project: nowhere."
    await _error(identity, "POST", "/v3/users/nobody/credentials/OS-EC2", 404,
                 json={"tenant_id": who.project["id"]})
    await _error(identity, "GET", "/v3/users/nobody/credentials/OS-EC2", 404)
    # Keystone: a key pair takes a member; a reader may list but not make one.
    await _error(identity, "POST", reader.ec2, 403, token=reader.token,
                 json={"tenant_id": reader.project["id"]})
    await identity.call("GET", reader.ec2, token=reader.token, expect=200)
    r = await identity.call("POST", who.ec2, token=who.token, expect=201,
                            json={"tenant_id": who.project["id"]})
    access = r.json()["credential"]["access"]
    await _error(identity, "GET", who.ec2, 403, token=other.token)
    await _error(identity, "POST", who.ec2, 403, token=other.token,
                 json={"tenant_id": who.project["id"]})
    await _error(identity, "GET", f"{who.ec2}/{access}", 403, token=other.token)
    await _error(identity, "DELETE", f"{who.ec2}/{access}", 403, token=other.token)
    # Under another user's URL the key is not there, even for the admin.
    await _error(identity, "GET", f"{other.ec2}/{access}", 404)
    await _error(identity, "DELETE", f"{other.ec2}/{access}", 404)
    # The admin manages anyone's.
    r = await identity.call("GET", who.ec2, expect=200)
    assert [c["access"] for c in r.json()["credentials"]] == [access]
    await identity.call("DELETE", f"{who.ec2}/{access}", expect=204)
