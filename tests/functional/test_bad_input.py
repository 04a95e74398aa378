"""Bad input over a real socket: always the right 4xx in Keystone's error body, never 500."""

from __future__ import annotations

import json

import pytest

from helpers.names import unique
from helpers.process import Cloud


def _assert_keystone_error(r: object, status: int) -> None:
    assert r.status_code == status, (r.status_code, r.text)  # type: ignore[attr-defined]
    body = r.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert body["error"]["code"] == status
    assert body["error"]["message"] and body["error"]["title"]
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "payload", "status"), [
    ("/v3/projects", b"{not json", 400),
    ("/v3/projects", b"", 400),
    ("/v3/projects", b"[]", 400),
    ("/v3/projects", json.dumps({"project": {"name": 42}}).encode(), 400),
    ("/v3/projects", json.dumps({"project": {}}).encode(), 400),
    ("/v3/projects", json.dumps({"project": {"name": ""}}).encode(), 400),
    ("/v3/projects", json.dumps({"project": {"name": "x" * 256}}).encode(), 400),
    ("/v3/projects", json.dumps({"project": {"name": "ok", "enabled": "yes"}}).encode(), 400),
    ("/v3/users", json.dumps({"user": {"name": None}}).encode(), 400),
    ("/v3/roles", json.dumps({"role": {"name": ["member"]}}).encode(), 400),
    ("/v3/auth/tokens", json.dumps({"auth": {}}).encode(), 400),
    ("/v3/auth/tokens", json.dumps({"auth": {"identity": {"methods": "password"}}}).encode(),
     400),
    ("/v3/projects", b"x" * (1024 * 1024), 413),
])
def test_malformed_bodies(cloud: Cloud, path: str, payload: bytes, status: int) -> None:
    with cloud.http() as http:
        r = http.post(path, content=payload, headers={
            "X-Auth-Token": cloud.admin_token(), "Content-Type": "application/json"})
    _assert_keystone_error(r, status)


@pytest.mark.parametrize("path", [
    "/v3/projects/does-not-exist", "/v3/users/nope", "/v3/roles/member",
    "/v3/groups/nope", "/v3/domains/Default", "/v3/services/nope", "/v3/endpoints/nope",
    "/v3/regions/nope", "/v3/no-such-collection",
])
def test_unknown_ids_are_404(cloud: Cloud, path: str) -> None:
    with cloud.http() as http:
        r = http.get(path, headers={"X-Auth-Token": cloud.admin_token()})
    _assert_keystone_error(r, 404)


def test_wrong_method_is_405_with_allow(cloud: Cloud) -> None:
    with cloud.http() as http:
        r = http.put("/v3/projects", headers={"X-Auth-Token": cloud.admin_token()})
    _assert_keystone_error(r, 405)
    assert "POST" in r.headers["Allow"]


def test_missing_or_bad_token_is_401(cloud: Cloud) -> None:
    with cloud.http() as http:
        _assert_keystone_error(http.get("/v3/projects"), 401)
        r = http.get("/v3/projects", headers={"X-Auth-Token": "garbage"})
        _assert_keystone_error(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")


@pytest.mark.parametrize("name", [
    "ünïcødé-プロジェクト", "robert'); DROP TABLE identity_project;--", "$(rm -rf /)",
    "`reboot`", "a; ls | cat && echo", "%00null", "back\\slash\"quote",
])
def test_hostile_names_are_just_data(cloud: Cloud, name: str) -> None:
    token = cloud.admin_token()
    full = f"{name}-{unique('n')}"
    with cloud.http() as http:
        r = http.post("/v3/projects", headers={"X-Auth-Token": token},
                      json={"project": {"name": full}})
        assert r.status_code == 201, r.text
        project = r.json()["project"]
        assert project["name"] == full
        r = http.get("/v3/projects", params={"name": full}, headers={"X-Auth-Token": token})
        assert [p["id"] for p in r.json()["projects"]] == [project["id"]]
        r = http.post("/v3/projects", headers={"X-Auth-Token": token},
                      json={"project": {"name": full}})
        _assert_keystone_error(r, 409)
        r = http.post("/v3/users", headers={"X-Auth-Token": token},
                      json={"user": {"name": full, "password": full}})
        assert r.status_code == 201, r.text
        r = http.post("/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"],
                      "password": {"user": {"name": full, "domain": {"id": "default"},
                                            "password": full}}}}})
        assert r.status_code == 201, r.text


def test_policy_reader_cannot_write(cloud: Cloud) -> None:
    conn = cloud.sdk()
    project = conn.identity.create_project(name=unique("ro"), domain_id="default")
    user = conn.identity.create_user(name=unique("reader"), password="pw",
                                     domain_id="default")
    conn.identity.assign_project_role_to_user(project, user, conn.identity.find_role("reader"))
    with cloud.http() as http:
        r = http.post("/v3/auth/tokens", json={"auth": {"identity": {"methods": ["password"],
                      "password": {"user": {"id": user.id, "password": "pw"}}},
                      "scope": {"project": {"id": project.id}}}})
        assert r.status_code == 201
        token = r.headers["X-Subject-Token"]
        assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]
        for method, path, body in [
            ("POST", "/v3/projects", {"project": {"name": unique("x")}}),
            ("PATCH", f"/v3/projects/{project.id}", {"project": {"description": "x"}}),
            ("POST", "/v3/users", {"user": {"name": unique("x")}}),
            ("DELETE", f"/v3/projects/{project.id}", None),
            ("POST", "/v3/roles", {"role": {"name": unique("x")}}),
        ]:
            r = http.request(method, path, json=body, headers={"X-Auth-Token": token})
            _assert_keystone_error(r, 403)
        r = http.get(f"/v3/projects/{project.id}", headers={"X-Auth-Token": token})
        assert r.status_code == 200
