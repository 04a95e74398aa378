"""Keystone's deprecated policy store, ``/v3/policies``: blobs only the cloud admin writes."""

from __future__ import annotations

from typing import Any

from helpers.inprocess import IdentityClient

FIELDS = {"id", "type", "blob", "links"}


async def _error(identity: IdentityClient, method: str, path: str, expect: int,
                 **kwargs: Any) -> str:
    r = await identity.call(method, path, expect=expect, **kwargs)
    assert r.json()["error"]["code"] == expect
    return str(r.json()["error"]["message"])


async def test_create_show_list_update_delete(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/policies", expect=201, json={"policy": {
        "type": "application/json", "blob": '{"default": ""}', "id": "ignored",
        "endpoint_id": "kept"}})
    policy = r.json()["policy"]
    assert set(policy) == FIELDS | {"endpoint_id"}
    assert policy["id"] != "ignored"
    assert (policy["type"], policy["blob"]) == ("application/json", '{"default": ""}')
    assert policy["links"]["self"].endswith(f"/v3/policies/{policy['id']}")
    path = f"/v3/policies/{policy['id']}"
    r = await identity.call("GET", path, expect=200)
    assert r.json()["policy"] == policy
    r = await identity.call("POST", "/v3/policies", expect=201,
                            json={"policy": {"type": "text/yaml", "blob": "a: b"}})
    other = r.json()["policy"]

    r = await identity.call("GET", "/v3/policies", expect=200)
    assert sorted(p["id"] for p in r.json()["policies"]) == sorted([policy["id"], other["id"]])
    assert r.json()["links"]["next"] is None
    r = await identity.call("GET", "/v3/policies", params={"type": "text/yaml"}, expect=200)
    assert r.json()["policies"] == [other]

    r = await identity.call("PATCH", path, expect=200,
                            json={"policy": {"type": "text/plain", "id": policy["id"]}})
    assert r.json()["policy"] == {**policy, "type": "text/plain"}
    r = await identity.call("GET", path, expect=200)
    assert r.json()["policy"]["type"] == "text/plain"

    await identity.call("DELETE", path, expect=204)
    message = await _error(identity, "GET", path, 404)
    assert message == f"Could not find policy: {policy['id']}."
    await _error(identity, "PATCH", path, 404, json={"policy": {"blob": "x"}})
    await _error(identity, "DELETE", path, 404)


async def test_validation_errors(identity: IdentityClient) -> None:
    for body in ({}, {"policy": {}}, {"policy": {"type": "t"}}, {"policy": {"blob": "b"}},
                 {"policy": {"type": "t", "blob": 1}}, {"policy": {"type": "x" * 256,
                                                                   "blob": "b"}},
                 {"policy": {"type": "t", "blob": "b"}, "x": 1}, {"policy": "x"}):
        message = await _error(identity, "POST", "/v3/policies", 400, json=body)
        assert message.startswith("Invalid input"), message
    r = await identity.call("POST", "/v3/policies", expect=201,
                            json={"policy": {"type": "t", "blob": "b"}})
    path = f"/v3/policies/{r.json()['policy']['id']}"
    for body in ({}, {"policy": {}}, {"policy": {"type": None}}):
        await _error(identity, "PATCH", path, 400, json=body)
    message = await _error(identity, "PATCH", path, 400, json={"policy": {"id": "other"}})
    assert message == "Cannot change policy ID"


async def test_only_the_admin(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/policies", expect=201,
                            json={"policy": {"type": "t", "blob": "b"}})
    path = f"/v3/policies/{r.json()['policy']['id']}"
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    for method, target, body in (("GET", "/v3/policies", None), ("GET", path, None),
                                 ("POST", "/v3/policies", {"policy": {"type": "t",
                                                                      "blob": "b"}}),
                                 ("PATCH", path, {"policy": {"blob": "c"}}),
                                 ("DELETE", path, None)):
        message = await _error(identity, method, target, 403, token=token, json=body)
        assert "identity:" in message
    await identity.call("GET", path, expect=200)
