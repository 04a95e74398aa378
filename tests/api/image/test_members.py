"""Image sharing: members, and the accept/reject answer of the projects shared with."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from helpers.image import create, list_ids
from helpers.inprocess import ImageClient

MEMBER_KEYS = {"member_id", "image_id", "status", "created_at", "updated_at", "schema"}


async def add_member(image: ImageClient, image_id: str, member: str, token: str | None = None,
                     expect: int = 200) -> dict[str, Any]:
    r = await image.call("POST", f"/v2/images/{image_id}/members", token=token,
                         json={"member": member}, expect=expect)
    return dict(r.json())


async def answer(image: ImageClient, image_id: str, member: str, status: str,
                 token: str | None = None, expect: int = 200) -> dict[str, Any]:
    r = await image.call("PUT", f"/v2/images/{image_id}/members/{member}", token=token,
                         json={"status": status}, expect=expect)
    return dict(r.json())


async def test_share_accept_reject_flow(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    guest, guest_token = await image.project_user_token()
    img = await create(image, owner, name="tiny")
    member = await add_member(image, img["id"], guest["id"], owner)
    assert set(member) == MEMBER_KEYS
    assert (member["member_id"], member["image_id"], member["status"]) == (
        guest["id"], img["id"], "pending")
    assert member["schema"] == "/v2/schemas/member" and member["created_at"].endswith("Z")

    # Pending: the member can fetch the image by id, but its list leaves it out.
    await image.call("GET", f"/v2/images/{img['id']}", token=guest_token, expect=200)
    assert img["id"] not in await list_ids(image, guest_token)
    assert img["id"] in await list_ids(image, guest_token, member_status="pending")
    assert img["id"] in await list_ids(image, guest_token, member_status="all")
    assert img["id"] not in await list_ids(image, guest_token, member_status="accepted")

    accepted = await answer(image, img["id"], guest["id"], "accepted", guest_token)
    assert accepted["status"] == "accepted"
    assert img["id"] in await list_ids(image, guest_token)
    assert img["id"] in await list_ids(image, guest_token, visibility="shared")

    await answer(image, img["id"], guest["id"], "rejected", guest_token)
    assert img["id"] not in await list_ids(image, guest_token)
    assert img["id"] in await list_ids(image, guest_token, member_status="rejected")
    await image.call("GET", f"/v2/images/{img['id']}", token=guest_token, expect=200)

    await answer(image, img["id"], guest["id"], "pending", guest_token)
    assert img["id"] in await list_ids(image, guest_token, member_status="pending")


async def test_accept_by_name_as_openstack_image_set_does(image: ImageClient) -> None:
    """``openstack image set --accept tiny``: GET /v2/images/tiny (404), then a lookup by
    name, then PUT on the caller's own membership."""
    _, owner = await image.project_user_token()
    guest, guest_token = await image.project_user_token()
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    img = await create(image, owner, name=name)
    await add_member(image, img["id"], guest["id"], owner)
    await image.call("GET", f"/v2/images/{name}", token=guest_token, expect=404)
    assert await list_ids(image, guest_token, name=name) == [img["id"]]
    await answer(image, img["id"], guest["id"], "accepted", guest_token)
    assert img["id"] in await list_ids(image, guest_token)
    _, stranger = await image.project_user_token()
    assert await list_ids(image, stranger, name=name) == []


async def test_who_sees_which_memberships(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    first, first_token = await image.project_user_token()
    second, _ = await image.project_user_token()
    img = await create(image, owner)
    for project in (first, second):
        await add_member(image, img["id"], project["id"], owner)
    path = f"/v2/images/{img['id']}/members"
    listed = (await image.call("GET", path, token=owner, expect=200)).json()
    assert listed["schema"] == "/v2/schemas/members"
    assert {m["member_id"] for m in listed["members"]} == {first["id"], second["id"]}
    mine = (await image.call("GET", path, token=first_token, expect=200)).json()["members"]
    assert [m["member_id"] for m in mine] == [first["id"]]
    shown = await image.call("GET", f"{path}/{first['id']}", token=first_token, expect=200)
    assert shown.json()["status"] == "pending"
    await image.call("GET", f"{path}/{second['id']}", token=first_token, expect=404)
    await image.call("GET", f"{path}/{second['id']}", token=owner, expect=200)
    await image.call("GET", f"{path}/nobody", token=owner, expect=404)
    admin = (await image.call("GET", path, expect=200)).json()["members"]
    assert len(admin) == 2


async def test_only_owner_manages_and_only_member_answers(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    guest, guest_token = await image.project_user_token()
    third, third_token = await image.project_user_token()
    img = await create(image, owner)
    await add_member(image, img["id"], guest["id"], owner)
    await add_member(image, img["id"], third["id"], guest_token, expect=403)
    await answer(image, img["id"], guest["id"], "accepted", owner, expect=403)
    await answer(image, img["id"], guest["id"], "accepted", third_token, expect=404)
    await image.call("DELETE", f"/v2/images/{img['id']}/members/{guest['id']}",
                     token=guest_token, expect=403)
    r = await add_member(image, img["id"], guest["id"], owner, expect=409)
    assert r["code"] == "409 Conflict"
    await image.call("DELETE", f"/v2/images/{img['id']}/members/{guest['id']}", token=owner,
                     expect=204)
    await image.call("GET", f"/v2/images/{img['id']}", token=guest_token, expect=404)
    await image.call("DELETE", f"/v2/images/{img['id']}/members/{guest['id']}", token=owner,
                     expect=404)


async def test_members_only_for_shared_images(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    guest, guest_token = await image.project_user_token()
    for visibility in ("private", "public", "community"):
        img = await create(image, visibility=visibility)
        path = f"/v2/images/{img['id']}/members"
        r = await add_member(image, img["id"], guest["id"], expect=403)
        assert "Only shared images have members" in r["message"]
        await image.call("GET", path, expect=403)
        await image.call("GET", f"{path}/{guest['id']}", expect=404)
        await image.call("PUT", f"{path}/{guest['id']}", json={"status": "accepted"},
                         expect=403)
        await image.call("DELETE", f"{path}/{guest['id']}", expect=403)
    private = await create(image, owner, visibility="private")
    await add_member(image, private["id"], guest["id"], guest_token, expect=404)
    await image.call("GET", f"/v2/images/{private['id']}/members", token=guest_token,
                     expect=404)


async def test_sharing_ends_when_visibility_changes(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    guest, guest_token = await image.project_user_token()
    img = await create(image, owner)
    await add_member(image, img["id"], guest["id"], owner)
    await answer(image, img["id"], guest["id"], "accepted", guest_token)
    await image.call("PATCH", f"/v2/images/{img['id']}", token=owner, expect=200,
                     json=[{"op": "replace", "path": "/visibility", "value": "private"}],
                     headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    await image.call("GET", f"/v2/images/{img['id']}", token=guest_token, expect=404)
    assert img["id"] not in await list_ids(image, guest_token)


async def test_bad_member_bodies_and_limit(image: ImageClient) -> None:
    img = await create(image)
    path = f"/v2/images/{img['id']}/members"
    bad_adds: list[Any] = [{}, {"member": ""}, {"member": 5}, {"member": "m" * 65}, ["m"]]
    for body in bad_adds:
        await image.call("POST", path, json=body, expect=400)
    await add_member(image, img["id"], "m0")
    bad_answers: list[Any] = [{}, {"status": "approved"}, {"status": None}]
    for body in bad_answers:
        await image.call("PUT", f"{path}/m0", json=body, expect=400)
    for i in range(1, 128):
        await add_member(image, img["id"], f"m{i}")
    r = await add_member(image, img["id"], "m128", expect=413)
    assert r["code"] == "413 Request Entity Too Large"
    await image.call("POST", f"/v2/images/{uuid.uuid4()}/members", json={"member": "x"},
                     expect=404)


async def test_concurrent_adds_of_one_member(image: ImageClient) -> None:
    img = await create(image)
    codes = await asyncio.gather(*(
        image.call("POST", f"/v2/images/{img['id']}/members", json={"member": "same"})
        for _ in range(5)))
    assert sorted(r.status_code for r in codes) == [200, 409, 409, 409, 409]
