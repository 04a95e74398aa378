"""Images API v2: create, show, list, update, delete and the activation actions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.image import PATCH, create, list_ids, patch, set_columns
from helpers.inprocess import ImageClient, make_config, make_image_client
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import CONTAINER_FORMATS, DISK_FORMATS
from ownstack.image.objects.quota import check_size_quota

OSC_PROPERTIES = {"owner_specified.openstack.md5": "", "owner_specified.openstack.sha256": "",
                  "owner_specified.openstack.object": "images/tiny"}
CORE = {"id", "name", "status", "visibility", "protected", "os_hidden", "owner", "disk_format",
        "container_format", "size", "virtual_size", "checksum", "os_hash_algo",
        "os_hash_value", "min_disk", "min_ram", "tags", "created_at", "updated_at", "self",
        "file", "schema"}


# --- create and show ---------------------------------------------------------------------

async def test_create_as_osc_does_and_show(image: ImageClient) -> None:
    project, token = await image.project_user_token()
    r = await image.call("POST", "/v2/images", token=token, expect=201, json={
        "name": "tiny", "disk_format": "qcow2", "container_format": "bare",
        "min_disk": 1, "min_ram": 64, "tags": ["b", "a", "b"], "os_distro": "debian",
        **OSC_PROPERTIES})
    img = r.json()
    assert set(img) == CORE | {"os_distro", *OSC_PROPERTIES}
    assert uuid.UUID(img["id"]) and r.headers["Location"].endswith(f"/v2/images/{img['id']}")
    assert img["status"] == "queued" and img["visibility"] == "shared"
    assert img["owner"] == project["id"] and img["protected"] is False
    assert img["size"] is None and img["checksum"] is None and img["virtual_size"] is None
    assert img["tags"] == ["a", "b"] and img["min_disk"] == 1 and img["min_ram"] == 64
    assert img["owner_specified.openstack.md5"] == "" and img["os_distro"] == "debian"
    assert img["created_at"].endswith("Z") and len(img["created_at"]) == 20
    assert (img["self"], img["file"], img["schema"]) == (
        f"/v2/images/{img['id']}", f"/v2/images/{img['id']}/file", "/v2/schemas/image")
    shown = (await image.call("GET", f"/v2/images/{img['id']}", token=token, expect=200)).json()
    assert shown == img


async def test_create_minimal_and_with_id(image: ImageClient) -> None:
    r = await image.call("POST", "/v2/images", json={}, expect=201)
    assert r.json()["name"] is None and r.json()["disk_format"] is None
    image_id = str(uuid.uuid4())
    assert (await create(image, id=image_id))["id"] == image_id
    r = await image.call("POST", "/v2/images", json={"id": image_id}, expect=409)
    assert r.json()["code"] == "409 Conflict"
    await image.call("POST", "/v2/images", json={"id": "not-a-uuid"}, expect=400)


@pytest.mark.parametrize("disk_format", DISK_FORMATS)
async def test_every_disk_format(image: ImageClient, disk_format: str) -> None:
    assert (await create(image, disk_format=disk_format))["disk_format"] == disk_format


@pytest.mark.parametrize("container_format", CONTAINER_FORMATS)
async def test_every_container_format(image: ImageClient, container_format: str) -> None:
    img = await create(image, container_format=container_format)
    assert img["container_format"] == container_format


@pytest.mark.parametrize("body", [
    {"disk_format": "qcow3"}, {"container_format": "zip"}, {"visibility": "everyone"},
    {"name": "n" * 256}, {"min_ram": -1}, {"min_disk": "1"}, {"protected": "yes"},
    {"tags": "golden"}, {"tags": ["t" * 256]}, {"os_distro": 7}, {"os_distro": None},
    {"k" * 256: "v"}, {"min_ram": 2**40},
])
async def test_create_rejects_invalid_values(image: ImageClient, body: dict[str, Any]) -> None:
    r = await image.call("POST", "/v2/images", json=body, expect=400)
    assert r.json()["code"] == "400 Bad Request"


@pytest.mark.parametrize("attribute", [
    "status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
    "created_at", "updated_at", "self", "file", "schema", "direct_url"])
async def test_create_refuses_read_only_attributes(image: ImageClient, attribute: str) -> None:
    value: Any = 1 if attribute in ("size", "virtual_size") else "active"
    r = await image.call("POST", "/v2/images", json={attribute: value}, expect=403)
    assert r.json()["message"] == f"Attribute '{attribute}' is read-only."


@pytest.mark.parametrize("attribute", ["location", "locations", "deleted", "deleted_at",
                                       "os_glance_import_task"])
async def test_create_refuses_reserved_attributes(image: ImageClient, attribute: str) -> None:
    value: Any = [] if attribute == "locations" else "x"
    r = await image.call("POST", "/v2/images", json={attribute: value}, expect=403)
    assert "reserved" in r.json()["message"]


async def test_long_property_values_are_kept(image: ImageClient) -> None:
    """Glance keeps values in a TEXT column; Nova's block_device_mapping runs to KBs."""
    long_value = "x" * 60000
    assert (await create(image, block_device_mapping=long_value))["block_device_mapping"] \
        == long_value
    long_key: dict[str, Any] = {"k" * 255: "v"}
    assert (await create(image, **long_key))["k" * 255] == "v"


async def test_create_bad_bodies(image: ImageClient) -> None:
    await image.call("POST", "/v2/images", content=b"{not json", expect=400,
                     headers={"Content-Type": "application/json"})
    await image.call("POST", "/v2/images", json=["name"], expect=400)
    await image.call("POST", "/v2/images", json={f"p{i}": "v" for i in range(129)}, expect=413)
    await image.call("POST", "/v2/images", json={"tags": [f"t{i}" for i in range(129)]},
                     expect=413)


async def test_visibility_and_owner_on_create_need_policy(image: ImageClient) -> None:
    project, token = await image.project_user_token()
    other, _ = await image.project_user_token()
    r = await image.call("POST", "/v2/images", token=token, json={"visibility": "public"},
                         expect=403)
    assert r.json()["code"] == "403 Forbidden"
    assert (await create(image, token, visibility="community"))["visibility"] == "community"
    assert (await create(image, token, visibility="private"))["visibility"] == "private"
    await create(image, token, expect=403, owner=other["id"])
    assert (await create(image, token, owner=project["id"]))["owner"] == project["id"]
    assert (await create(image, visibility="public"))["visibility"] == "public"
    assert (await create(image, owner=other["id"]))["owner"] == other["id"]
    _, reader = await image.project_user_token(role="reader")
    await create(image, reader, expect=403)


async def test_show_unknown_and_malformed_ids(image: ImageClient) -> None:
    r = await image.call("GET", f"/v2/images/{uuid.uuid4()}", expect=404)
    assert r.json()["code"] == "404 Not Found"
    await image.call("GET", "/v2/images/tiny", expect=404)


# --- visibility between projects ---------------------------------------------------------

async def test_private_image_is_invisible_to_other_projects(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    private = await create(image, owner, visibility="private")
    shared = await create(image, owner)
    path = f"/v2/images/{private['id']}"
    for method, kwargs in [("GET", {}), ("DELETE", {}),
                           ("PATCH", {"json": [], "headers": PATCH})]:
        await image.call(method, path, token=other, expect=404, **kwargs)
    await image.call("GET", f"/v2/images/{shared['id']}", token=other, expect=404)
    assert set(await list_ids(image, other, visibility="all")).isdisjoint(
        {private["id"], shared["id"]})
    assert {private["id"], shared["id"]} <= set(await list_ids(image, owner))
    assert {private["id"], shared["id"]} <= set(await list_ids(image))   # admin sees all


async def test_only_owner_or_admin_modifies_a_visible_image(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    img = await create(image, name="pub", visibility="public")
    await image.call("GET", f"/v2/images/{img['id']}", token=other, expect=200)
    assert img["id"] in await list_ids(image, other)
    await patch(image, img["id"], [{"op": "replace", "path": "/name", "value": "x"}], other,
                expect=403)
    await image.call("DELETE", f"/v2/images/{img['id']}", token=other, expect=403)
    own = await create(image, owner, name="mine", visibility="community")
    await image.call("GET", f"/v2/images/{own['id']}", token=other, expect=200)
    await patch(image, own["id"], [{"op": "replace", "path": "/name", "value": "x"}], other,
                expect=403)
    renamed = await patch(image, own["id"], [{"op": "replace", "path": "/name", "value": "y"}])
    assert renamed["name"] == "y"                                         # admin may


# --- list: filters, sorting, paging --------------------------------------------------------

async def test_list_shape_and_default_visibility(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    mine = await create(image, owner, visibility="private")
    public = await create(image, visibility="public")
    community = await create(image, other, visibility="community")
    own_community = await create(image, owner, visibility="community")
    hidden = await create(image, owner, os_hidden=True)
    r = await image.call("GET", "/v2/images", token=owner, expect=200)
    body = r.json()
    assert body["first"] == "/v2/images" and body["schema"] == "/v2/schemas/images"
    assert "next" not in body
    ids = [i["id"] for i in body["images"]]
    assert {mine["id"], public["id"], own_community["id"]} <= set(ids)
    assert community["id"] not in ids and hidden["id"] not in ids
    assert await list_ids(image, owner, os_hidden="true") == [hidden["id"]]
    assert community["id"] in await list_ids(image, owner, visibility="community")
    assert community["id"] in await list_ids(image, owner, visibility="all")
    assert await list_ids(image, owner, visibility="private") == [mine["id"]]
    assert public["id"] in await list_ids(image, owner, visibility="public")
    assert mine["id"] not in await list_ids(image, owner, visibility="public")
    assert hidden["id"] in await list_ids(image, owner, visibility="shared", os_hidden="true")


async def test_list_filters(image: ImageClient) -> None:
    a = await create(image, name="alpha", disk_format="qcow2", tags=["x", "y"], os_distro="deb",
                     protected=True, min_ram=512)
    b = await create(image, name="beta", container_format="ovf", tags=["x"], os_distro="rh")
    c = await create(image, name="gamma", visibility="public")
    await set_columns(image, a["id"], status="active", size=100)
    await set_columns(image, b["id"], status="active", size=2000)

    async def ids(**params: Any) -> set[str]:
        found = set(await list_ids(image, **params))
        return found & {a["id"], b["id"], c["id"]}

    assert await ids(name="alpha") == {a["id"]}
    assert await ids(name="in:alpha,gamma") == {a["id"], c["id"]}
    assert await ids(status="active") == {a["id"], b["id"]}
    assert await ids(status="queued") == {c["id"]}
    assert await ids(disk_format="qcow2") == {a["id"]}
    assert await ids(container_format="ovf") == {b["id"]}
    assert await ids(visibility="public") == {c["id"]}
    assert await ids(size_min="150") == {b["id"]}
    assert await ids(size_max="150") == {a["id"]}
    assert await ids(size_min="50", size_max="5000") == {a["id"], b["id"]}
    assert await ids(protected="true") == {a["id"]}
    assert await ids(protected="false") == {b["id"], c["id"]}
    assert await ids(tag="x") == {a["id"], b["id"]}
    assert await ids(tag=["x", "y"]) == {a["id"]}
    assert await ids(os_distro="rh") == {b["id"]}
    assert await ids(min_ram="512") == {a["id"]}
    assert await ids(id=c["id"]) == {c["id"]}
    assert await ids(owner=a["owner"]) == {a["id"], b["id"], c["id"]}
    assert await ids(created_at=f"gte:{a['created_at']}") == {a["id"], b["id"], c["id"]}
    assert await ids(created_at="lt:2000-01-01T00:00:00Z") == set()


@pytest.mark.parametrize("params", [
    {"visibility": "everyone"}, {"os_hidden": "maybe"}, {"protected": "1"},
    {"size_min": "big"}, {"size_max": "-1"}, {"member_status": "sure"},
    {"changes-since": "2020-01-01"}, {"limit": "ten"}, {"limit": "-1"},
    {"sort": "owner:asc"}, {"sort": "name:up"}, {"sort_key": "name", "sort": "id"},
    {"marker": str(uuid.uuid4())}, {"created_at": "gt:yesterday"}, {"min_ram": "x"},
])
async def test_list_rejects_bad_queries(image: ImageClient, params: dict[str, str]) -> None:
    r = await image.call("GET", "/v2/images", params=params, expect=400)
    assert r.json()["code"] == "400 Bad Request"


async def test_list_marker_must_be_visible(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    img = await create(image, owner, visibility="private")
    await image.call("GET", "/v2/images", token=owner, params={"marker": img["id"]}, expect=200)
    await image.call("GET", "/v2/images", token=other, params={"marker": img["id"]},
                     expect=400)


async def test_sorting(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    made = [await create(image, token, name=name) for name in ("b", "c", "a")]
    assert await list_ids(image, token) == [i["id"] for i in reversed(made)]
    by_name = [made[2]["id"], made[0]["id"], made[1]["id"]]
    assert await list_ids(image, token, sort="name:asc") == by_name
    assert await list_ids(image, token, sort_key="name", sort_dir="asc") == by_name
    assert await list_ids(image, token, sort="name") == list(reversed(by_name))
    assert await list_ids(image, token, sort="status:asc,name:desc") == list(reversed(by_name))


async def test_pagination_covers_every_image_once(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    made = {(await create(image, token, name=f"img-{i % 7}"))["id"] for i in range(30)}
    for query in ("limit=10", "limit=10&sort=name:asc", "limit=10&sort_key=name&sort_dir=desc"):
        seen: list[str] = []
        url: str | None = f"/v2/images?{query}"
        pages = 0
        while url is not None:
            body = (await image.call("GET", url, token=token, expect=200)).json()
            assert len(body["images"]) == 10
            seen += [i["id"] for i in body["images"]]
            url = body.get("next")
            pages += 1
            assert url is None or ("limit=10" in url and "marker=" in url)
        assert pages == 3 and len(seen) == 30 and set(seen) == made
    first = (await image.call("GET", "/v2/images?limit=10&name=img-1", token=token)).json()
    assert first["first"] == "/v2/images?limit=10&name=img-1"


# --- update --------------------------------------------------------------------------------

async def test_patch_happy_paths(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    img = await create(image, token, name="tiny", os_distro="debian")
    updated = await patch(image, img["id"], [
        {"op": "replace", "path": "/name", "value": "small"},
        {"op": "add", "path": "/os_version", "value": "12"},
        {"op": "replace", "path": "/os_distro", "value": "ubuntu"},
        {"op": "add", "path": "/os_distro", "value": "alpine"},
        {"op": "add", "path": "/tags", "value": ["golden", "golden", "base"]},
        {"op": "replace", "path": "/visibility", "value": "private"},
        {"op": "replace", "path": "/protected", "value": True},
        {"op": "replace", "path": "/os_hidden", "value": True},
        {"op": "replace", "path": "/min_disk", "value": 5},
        {"op": "replace", "path": "/min_ram", "value": 256},
        {"op": "replace", "path": "/disk_format", "value": "qcow2"},
        {"op": "replace", "path": "/container_format", "value": "ovf"},
        {"op": "add", "path": "/owner_specified.openstack~1md5", "value": ""},
    ], token)
    assert updated["name"] == "small" and updated["os_distro"] == "alpine"
    assert updated["os_version"] == "12" and updated["tags"] == ["base", "golden"]
    assert updated["visibility"] == "private" and updated["protected"] is True
    assert updated["os_hidden"] is True and (updated["min_disk"], updated["min_ram"]) == (5, 256)
    assert (updated["disk_format"], updated["container_format"]) == ("qcow2", "ovf")
    assert updated["owner_specified.openstack/md5"] == ""
    shown = (await image.call("GET", f"/v2/images/{img['id']}", token=token)).json()
    assert shown == updated
    removed = await patch(image, img["id"], [{"op": "remove", "path": "/os_version"},
                                             {"op": "replace", "path": "/tags", "value": []},
                                             {"op": "replace", "path": "/name", "value": None}],
                          token)
    assert "os_version" not in removed and removed["tags"] == [] and removed["name"] is None


async def test_patch_v20_media_type(image: ImageClient) -> None:
    img = await create(image, name="old", k="v")
    headers = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
    updated = await patch(image, img["id"], [{"replace": "/name", "value": "new"},
                                             {"add": "/other", "value": "x"}], headers=headers)
    assert updated["name"] == "new" and updated["other"] == "x"
    await patch(image, img["id"], [{"add": "/k", "value": "w"}], headers=headers, expect=409)
    await patch(image, img["id"], [{"move": "/k"}], headers=headers, expect=400)


async def test_patch_bad_documents(image: ImageClient) -> None:
    img = await create(image, name="tiny", k="v")
    path = f"/v2/images/{img['id']}"
    r = await image.call("PATCH", path, json=[], expect=415,
                         headers={"Content-Type": "application/json"})
    assert "application/openstack-images-v2.1-json-patch" in r.headers["Accept-Patch"]
    await image.call("PATCH", path, content=b"[{", headers=PATCH, expect=400)
    await image.call("PATCH", path, content=b"", headers=PATCH, expect=400)
    for ops in ({"op": "add"}, ["add"], [{"op": "move", "path": "/name", "value": "x"}],
                [{"op": "copy", "from": "/name", "path": "/k"}], [{"path": "/name", "value": 1}],
                [{"op": "add", "value": "x"}], [{"op": "add", "path": "/name"}],
                [{"op": "add", "path": "name", "value": "x"}],
                [{"op": "add", "path": "/a/b", "value": "x"}],
                [{"op": "add", "path": "//", "value": "x"}],
                [{"op": "add", "path": "/a~2", "value": "x"}],
                [{"op": "add", "path": 5, "value": "x"}],
                [{"op": "replace", "path": "/min_ram", "value": "x"}],
                [{"op": "replace", "path": "/min_disk", "value": -1}],
                [{"op": "replace", "path": "/protected", "value": "yes"}],
                [{"op": "replace", "path": "/visibility", "value": "world"}],
                [{"op": "replace", "path": "/disk_format", "value": "bogus"}],
                [{"op": "add", "path": "/tags", "value": "golden"}],
                [{"op": "add", "path": "/k", "value": 3}],
                [{"op": "add", "path": f"/{'k' * 256}", "value": "v"}],
                [{"op": "add", "path": "/", "value": "v"}]):
        error = await patch(image, img["id"], ops, expect=400)
        assert error["code"] == "400 Bad Request", ops
    too_many = [{"op": "add", "path": f"/p{i}", "value": "v"} for i in range(128)]
    await patch(image, img["id"], too_many, expect=413)
    await patch(image, img["id"], [{"op": "add", "path": "/tags",
                                    "value": [str(i) for i in range(129)]}], expect=413)
    assert (await image.call("GET", path)).json()["name"] == "tiny"   # nothing applied


@pytest.mark.parametrize("attribute", ["id", "status", "size", "virtual_size", "checksum",
                                       "os_hash_value", "created_at", "self", "file",
                                       "schema", "direct_url"])
async def test_patch_read_only_attributes(image: ImageClient, attribute: str) -> None:
    img = await create(image)
    for op in ("add", "replace", "remove"):
        change: dict[str, Any] = {"op": op, "path": f"/{attribute}", "value": "x"}
        r = await patch(image, img["id"], [change], expect=403)
        assert r["message"] == f"Attribute '{attribute}' is read-only."


async def test_patch_conflicts_and_forbidden_operations(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    img = await create(image, token, k="v")

    async def expect(status: int, *ops: dict[str, Any]) -> str:
        return str((await patch(image, img["id"], list(ops), token, expect=status))["message"])

    assert "does not exist" in await expect(409, {"op": "remove", "path": "/missing"})
    assert "does not exist" in await expect(409, {"op": "replace", "path": "/missing",
                                                  "value": "x"})
    assert "may not be removed" in await expect(403, {"op": "remove", "path": "/name"})
    assert "reserved" in await expect(403, {"op": "add", "path": "/deleted", "value": "x"})
    assert "reserved" in await expect(403, {"op": "add", "path": "/os_glance_x", "value": "x"})
    assert "locations" in await expect(403, {"op": "replace", "path": "/locations",
                                             "value": []})
    await expect(403, {"op": "replace", "path": "/visibility", "value": "public"})
    await expect(403, {"op": "replace", "path": "/owner", "value": "someone"})
    await set_columns(image, img["id"], status="active")
    assert "queued" in await expect(403, {"op": "replace", "path": "/disk_format",
                                          "value": "qcow2"})
    assert "queued" in await expect(403, {"op": "replace", "path": "/container_format",
                                          "value": "ovf"})
    public = await patch(image, img["id"], [{"op": "replace", "path": "/visibility",
                                             "value": "public"}, {"op": "replace",
                                                                  "path": "/owner",
                                                                  "value": "someone"}])
    assert public["visibility"] == "public" and public["owner"] == "someone"


async def test_concurrent_changes_are_all_kept(image: ImageClient) -> None:
    """Each request applies to the image as the one before left it: nothing is lost."""
    img = await create(image)

    async def add_property(i: int) -> int:
        r = await image.call("PATCH", f"/v2/images/{img['id']}", headers=PATCH,
                             json=[{"op": "add", "path": f"/prop{i}", "value": str(i)}])
        return r.status_code

    async def add_tag(i: int) -> int:
        r = await image.call("PUT", f"/v2/images/{img['id']}/tags/tag{i % 5}")
        return r.status_code

    codes = await asyncio.gather(*(add_property(i) for i in range(15)),
                                 *(add_tag(i) for i in range(15)))
    assert set(codes) <= {200, 204}
    shown = (await image.call("GET", f"/v2/images/{img['id']}")).json()
    assert {k for k in shown if k.startswith("prop")} == {f"prop{i}" for i in range(15)}
    assert shown["tags"] == [f"tag{i}" for i in range(5)]


# --- delete and actions ----------------------------------------------------------------------

async def test_delete(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    img = await create(image, token, protected=True, tags=["t"])
    await image.call("POST", f"/v2/images/{img['id']}/members", token=token,
                     json={"member": "p2"}, expect=200)
    stored = image.app.svc.store_dir / img["id"]
    stored.write_bytes(b"data")
    r = await image.call("DELETE", f"/v2/images/{img['id']}", token=token, expect=403)
    assert "protected" in r.json()["message"]
    await patch(image, img["id"], [{"op": "replace", "path": "/protected", "value": False}],
                token)
    await image.call("DELETE", f"/v2/images/{img['id']}", token=token, expect=204)
    await image.call("GET", f"/v2/images/{img['id']}", token=token, expect=404)
    await image.call("DELETE", f"/v2/images/{img['id']}", token=token, expect=404)
    assert not stored.exists()
    same_id = await create(image, token, id=img["id"])    # no tag or member rows left behind
    assert same_id["tags"] == []
    members = await image.call("GET", f"/v2/images/{img['id']}/members", token=token)
    assert members.json()["members"] == []


async def test_deactivate_and_reactivate(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    _, other = await image.project_user_token()
    img = await create(image, token, visibility="community")
    actions = f"/v2/images/{img['id']}/actions"
    r = await image.call("POST", f"{actions}/deactivate", token=token, expect=403)
    assert "queued" in r.json()["message"]
    await image.call("POST", f"{actions}/reactivate", token=token, expect=403)
    await set_columns(image, img["id"], status="active")
    await image.call("POST", f"{actions}/deactivate", token=other, expect=403)
    for _ in range(2):
        await image.call("POST", f"{actions}/deactivate", token=token, expect=204)
        shown = await image.call("GET", f"/v2/images/{img['id']}", token=token)
        assert shown.json()["status"] == "deactivated"
    for _ in range(2):
        await image.call("POST", f"{actions}/reactivate", token=token, expect=204)
        shown = await image.call("GET", f"/v2/images/{img['id']}", token=token)
        assert shown.json()["status"] == "active"
    await image.call("POST", f"/v2/images/{uuid.uuid4()}/actions/deactivate", expect=404)


# --- quotas ----------------------------------------------------------------------------------

@pytest.fixture
async def quota_image(tmp_path: Path) -> AsyncIterator[ImageClient]:
    config = make_config(tmp_path, "image.port=15998", "image.image_count_quota=2",
                         "image.image_size_quota_mb=1")
    async for client in make_image_client(config):
        yield client


async def test_image_count_quota(quota_image: ImageClient) -> None:
    _, token = await quota_image.project_user_token()
    _, other = await quota_image.project_user_token()
    for _ in range(2):
        await create(quota_image, token)
    r = await quota_image.call("POST", "/v2/images", token=token, json={}, expect=413)
    assert r.json()["code"] == "413 Request Entity Too Large"
    await create(quota_image, other)
    listed = await list_ids(quota_image, token)
    await quota_image.call("DELETE", f"/v2/images/{listed[0]}", token=token, expect=204)
    await create(quota_image, token)


async def test_image_size_quota(quota_image: ImageClient) -> None:
    project, token = await quota_image.project_user_token()
    svc = quota_image.app.svc
    one_mib = 1024 * 1024
    active = await create(quota_image, token)
    killed = await create(quota_image, token)
    await set_columns(quota_image, active["id"], status="active", size=one_mib - 10)
    await set_columns(quota_image, killed["id"], status="killed", size=one_mib)
    async with svc.read() as db:
        await check_size_quota(db, project["id"], 10, svc.config)
        await check_size_quota(db, "another-project", one_mib, svc.config)
        await check_size_quota(db, project["id"], one_mib, svc.config,
                               exclude_image_id=active["id"])
        with pytest.raises(QuotaExceeded) as info:
            await check_size_quota(db, project["id"], 11, svc.config)
    assert info.value.status == 413
