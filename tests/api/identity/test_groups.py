"""Groups, their members, and what membership does to tokens."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.inprocess import IdentityClient
from helpers.names import unique


async def make_group(identity: IdentityClient, **fields: Any) -> dict[str, Any]:
    r = await identity.call("POST", "/v3/groups", expect=201,
                            json={"group": {"name": unique("group"), **fields}})
    return dict(r.json()["group"])


async def subject(identity: IdentityClient, token: str) -> Any:
    return await identity.call("GET", "/v3/auth/tokens", headers={"X-Subject-Token": token})


async def test_create_show_list_update_delete(identity: IdentityClient) -> None:
    group = await make_group(identity, mood="sunny")
    assert group["domain_id"] == "default"
    assert group["description"] == ""
    assert group["mood"] == "sunny"
    assert group["links"]["self"].endswith(f"/v3/groups/{group['id']}")
    r = await identity.call("GET", f"/v3/groups/{group['id']}", expect=200)
    assert r.json()["group"] == group
    r = await identity.call("GET", "/v3/groups", params={"name": group["name"]}, expect=200)
    assert [g["id"] for g in r.json()["groups"]] == [group["id"]]
    r = await identity.call("GET", "/v3/groups", params={"domain_id": "default"}, expect=200)
    assert group["id"] in {g["id"] for g in r.json()["groups"]}
    r = await identity.call("GET", "/v3/groups", params={"domain_id": "other"}, expect=200)
    assert r.json()["groups"] == []
    r = await identity.call("PATCH", f"/v3/groups/{group['id']}", expect=200,
                            json={"group": {"name": group["name"] + "-x",
                                            "description": "renamed"}})
    assert r.json()["group"]["name"] == group["name"] + "-x"
    assert r.json()["group"]["description"] == "renamed"
    await identity.call("DELETE", f"/v3/groups/{group['id']}", expect=204)
    await identity.call("GET", f"/v3/groups/{group['id']}", expect=404)
    await identity.call("DELETE", f"/v3/groups/{group['id']}", expect=404)


async def test_show_by_name_is_404(identity: IdentityClient) -> None:
    group = await make_group(identity)
    r = await identity.call("GET", f"/v3/groups/{group['name']}", expect=404)
    assert r.json()["error"]["message"] == f"Could not find group: {group['name']}."


async def test_duplicates_conflict(identity: IdentityClient) -> None:
    group = await make_group(identity)
    await identity.call("POST", "/v3/groups", expect=409, json={"group": {"name": group["name"]}})
    other = await make_group(identity)
    await identity.call("PATCH", f"/v3/groups/{other['id']}", expect=409,
                        json={"group": {"name": group["name"]}})


@pytest.mark.parametrize("body", [
    {}, {"group": {}}, {"group": {"name": ""}}, {"group": {"name": "x" * 256}},
    {"group": {"name": ["x"]}}, {"group": {"name": "x", "id": "mine"}},
    {"group": {"name": "x"}, "other": {}},
])
async def test_bad_bodies(identity: IdentityClient, body: Any) -> None:
    await identity.call("POST", "/v3/groups", json=body, expect=400)


async def test_bad_updates(identity: IdentityClient) -> None:
    group = await make_group(identity)
    bodies: list[dict[str, Any]] = [{"group": {}}, {"group": {"name": 3}},
                                    {"group": {"domain_id": "elsewhere"}}]
    for body in bodies:
        await identity.call("PATCH", f"/v3/groups/{group['id']}", json=body, expect=400)


async def test_unknown_domain(identity: IdentityClient) -> None:
    r = await identity.call("POST", "/v3/groups", expect=404,
                            json={"group": {"name": "g", "domain_id": "nowhere"}})
    assert r.json()["error"]["message"] == "Could not find domain: nowhere."


async def test_membership(identity: IdentityClient) -> None:
    group = await make_group(identity)
    user = await identity.make_user()
    path = f"/v3/groups/{group['id']}/users/{user['id']}"
    r = await identity.call("HEAD", path, expect=404)
    r = await identity.call("GET", path, expect=404)
    assert "not found in group" in r.json()["error"]["message"]
    await identity.call("PUT", path, expect=204)
    await identity.call("PUT", path, expect=204)            # idempotent
    await identity.call("HEAD", path, expect=204)
    await identity.call("GET", path, expect=204)
    r = await identity.call("GET", f"/v3/groups/{group['id']}/users", expect=200)
    [member] = r.json()["users"]
    assert member["id"] == user["id"]
    assert member["name"] == user["name"]
    assert member["domain_id"] == "default"
    assert member["enabled"] is True
    assert member["links"]["self"].endswith(f"/v3/users/{user['id']}")
    assert "password" not in member
    # Tempest compares the listed members with the users as created: same shape.
    r = await identity.call("GET", f"/v3/users/{user['id']}", expect=200)
    assert member == r.json()["user"]
    await identity.call("DELETE", path, expect=204)
    await identity.call("DELETE", path, expect=404)
    r = await identity.call("GET", f"/v3/groups/{group['id']}/users", expect=200)
    assert r.json()["users"] == []


async def test_membership_of_unknown_things(identity: IdentityClient) -> None:
    group = await make_group(identity)
    user = await identity.make_user()
    r = await identity.call("PUT", f"/v3/groups/{group['id']}/users/nobody", expect=404)
    assert r.json()["error"]["message"] == "Could not find user: nobody."
    r = await identity.call("PUT", f"/v3/groups/nogroup/users/{user['id']}", expect=404)
    assert r.json()["error"]["message"] == "Could not find group: nogroup."
    await identity.call("GET", "/v3/groups/nogroup/users", expect=404)


async def test_group_grant_reaches_members_and_removal_revokes(identity: IdentityClient
                                                                ) -> None:
    project = await identity.make_project()
    group = await make_group(identity)
    user = await identity.make_user()
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    # No role yet: a project-scoped token is refused.
    await identity.token(user["name"], "secret-pw", project=project["name"], expect=401)
    await identity.call("PUT", f"/v3/projects/{project['id']}/groups/{group['id']}/roles/"
                        f"{await identity.role_id('member')}", expect=204)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}
    await identity.call("DELETE", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    assert (await subject(identity, token)).status_code == 404
    await identity.token(user["name"], "secret-pw", project=project["name"], expect=401)


async def test_deleting_a_group_revokes_and_forgets_its_grants(identity: IdentityClient
                                                                ) -> None:
    project = await identity.make_project()
    group = await make_group(identity)
    user = await identity.make_user()
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    await identity.call("PUT", f"/v3/projects/{project['id']}/groups/{group['id']}/roles/"
                        f"{await identity.role_id('reader')}", expect=204)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    await identity.call("DELETE", f"/v3/groups/{group['id']}", expect=204)
    assert (await subject(identity, token)).status_code == 404
    r = await identity.call("GET", "/v3/role_assignments",
                            params={"group.id": group["id"]}, expect=200)
    assert r.json()["role_assignments"] == []
    # Recreating a group of the same name gives nothing back.
    again = await make_group(identity, name=group["name"])
    r = await identity.call("GET", f"/v3/groups/{again['id']}/users", expect=200)
    assert r.json()["users"] == []


async def test_members_may_not_manage_groups(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    group = await make_group(identity)
    await identity.call("POST", "/v3/groups", token=token, expect=403,
                        json={"group": {"name": unique("group")}})
    await identity.call("GET", "/v3/groups", token=token, expect=403)
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", token=token,
                        expect=403)
    await identity.call("DELETE", f"/v3/groups/{group['id']}", token=token, expect=403)


async def test_revoking_a_group_grant_revokes_member_tokens(identity: IdentityClient) -> None:
    project = await identity.make_project()
    user = await identity.make_user(project=project, role="reader")
    group = await make_group(identity)
    await identity.call("PUT", f"/v3/groups/{group['id']}/users/{user['id']}", expect=204)
    grant = (f"/v3/projects/{project['id']}/groups/{group['id']}/roles/"
             f"{await identity.role_id('member')}")
    await identity.call("PUT", grant, expect=204)
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}
    await identity.call("DELETE", grant, expect=204)
    assert (await subject(identity, token)).status_code == 404
    token = await identity.token(user["name"], "secret-pw", project=project["name"])
    r = await subject(identity, token)
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"reader"}
