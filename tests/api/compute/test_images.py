"""Nova's image proxy (/images up to 2.35, their metadata up to 2.38), through to the
image service as the caller: Tempest's snapshot tests show and delete their snapshots
through it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import (
    act,
    fake_agent,
    fault,
    make_image,
    owner,
    reader_token,
    server,
    version,
)
from helpers.inprocess import CloudClient, quiet_cloud
from helpers.names import unique

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DETAIL_FIELDS = {"id", "name", "minRam", "minDisk", "metadata", "created", "updated",
                 "status", "progress", "OS-EXT-IMG-SIZE:size", "links"}


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.quota.metadata_items=3"):
        yield client


async def _get(cloud: CloudClient, path: str, *, token: str | None = None, v: str = "2.1",
               expect: int = 200, **params: str) -> Any:
    r = await cloud.call("GET", f"/v2.1/images{path}", token=token, headers=version(v),
                         params=params, expect=expect)
    return r.json()


async def test_show_and_detail_as_nova_shows_an_image(cloud: CloudClient) -> None:
    who = await owner(cloud)
    image_id = await make_image(cloud, token=who.token, data=b"x" * 4096, min_ram=128,
                                min_disk=1, os_distro="debian", auto_disk_config="true")
    image = (await _get(cloud, f"/{image_id}", token=who.token))["image"]
    assert set(image) == DETAIL_FIELDS | {"OS-DCF:diskConfig"}
    assert (image["status"], image["progress"]) == ("ACTIVE", 100)
    assert (image["minRam"], image["minDisk"], image["OS-EXT-IMG-SIZE:size"]) == (128, 1, 4096)
    assert image["metadata"] == {"os_distro": "debian", "auto_disk_config": "true"}
    assert image["OS-DCF:diskConfig"] == "AUTO"
    assert TIME.fullmatch(image["created"]) and TIME.fullmatch(image["updated"])
    self_, bookmark, alternate = image["links"]
    assert self_["rel"] == "self" and self_["href"].endswith(f"/v2.1/images/{image_id}")
    assert bookmark["rel"] == "bookmark" and bookmark["href"].endswith(f"/images/{image_id}")
    assert "/v2.1/" not in bookmark["href"]
    assert alternate == {"rel": "alternate", "type": "application/vnd.openstack.image",
                         "href": f"http://127.0.0.1:15998/images/{image_id}"}
    queued = await make_image(cloud, token=who.token, upload=False)
    image = (await _get(cloud, f"/{queued}", token=who.token))["image"]
    assert (image["status"], image["progress"], image["OS-EXT-IMG-SIZE:size"]) == (
        "SAVING", 25, 0)
    assert set(image) == DETAIL_FIELDS
    detail = (await _get(cloud, "/detail", token=who.token))["images"]
    assert {i["id"]: i["status"] for i in detail if i["id"] in (image_id, queued)} == {
        image_id: "ACTIVE", queued: "SAVING"}
    listed = (await _get(cloud, "", token=who.token))["images"]
    assert all(set(i) == {"id", "name", "links"} and len(i["links"]) == 3 for i in listed)
    assert {image_id, queued} <= {i["id"] for i in listed}


async def test_a_snapshot_names_its_server_and_is_deleted_through_the_proxy(
        cloud: CloudClient) -> None:
    """What Tempest's createImage tests do: wait on the snapshot and clean it up through
    compute's /images."""
    who = await owner(cloud)
    await fake_agent(cloud)
    server_id = await server(cloud, who)
    r = await act(cloud, who.token, server_id, {"createImage": {
        "name": "snap", "metadata": {"purpose": "test"}}}, expect=202)
    image_id = r.headers["location"].rsplit("/", 1)[1]
    image = (await _get(cloud, f"/{image_id}", token=who.token))["image"]
    assert image["status"] == "SAVING" and image["metadata"]["purpose"] == "test"
    assert image["server"]["id"] == server_id
    assert [link["rel"] for link in image["server"]["links"]] == ["self", "bookmark"]
    assert image["server"]["links"][0]["href"].endswith(f"/v2.1/servers/{server_id}")
    by_server = await _get(cloud, "/detail", token=who.token,
                           server=f"http://compute.test/v2.1/servers/{server_id}")
    assert [i["id"] for i in by_server["images"]] == [image_id]
    by_type = await _get(cloud, "", token=who.token, type="snapshot")
    assert [i["id"] for i in by_type["images"]] == [image_id]
    await cloud.call("DELETE", f"/v2.1/images/{image_id}", token=who.token, expect=204)
    r = await cloud.call("GET", f"/v2.1/images/{image_id}", token=who.token, expect=404)
    assert fault(r, "itemNotFound") == "Image not found."
    r = await cloud.call("DELETE", f"/v2.1/images/{image_id}", token=who.token, expect=404)
    assert fault(r, "itemNotFound") == "Image not found."


async def test_filters_and_paging(cloud: CloudClient) -> None:
    who = await owner(cloud)
    name = unique("filtered")
    first = await make_image(cloud, token=who.token, name=name, min_ram=512, colour="red")
    second = await make_image(cloud, token=who.token, name=name, min_disk=2, colour="blue")
    queued = await make_image(cloud, token=who.token, name=name, upload=False)

    async def ids(**query: str) -> list[str]:
        return [i["id"] for i in (await _get(cloud, "", token=who.token, name=name,
                                             **query))["images"]]

    assert sorted(await ids()) == sorted([first, second, queued])
    assert sorted(await ids(status="ACTIVE")) == sorted([first, second])
    assert await ids(status="saving") == []         # Glance's queued is not its saving
    assert await ids(minRam="512") == [first]       # Glance's exact min_ram
    assert await ids(minDisk="2") == [second]
    assert await ids(**{"property-colour": "blue"}) == [second]
    assert sorted(await ids(**{"changes-since": "2000-01-01T00:00:00Z"})) == sorted(
        [first, second, queued])
    assert await ids(**{"changes-since": "2999-01-01T00:00:00Z"}) == []
    r = await cloud.call("GET", "/v2.1/images", token=who.token, expect=400,
                         params={"changes-since": "yesterday"})
    fault(r, "badRequest")

    # Newest first; a full page links to the next one.
    page = await _get(cloud, "/detail", token=who.token, name=name, limit="2")
    assert [i["id"] for i in page["images"]] == [queued, second]
    (link,) = page["images_links"]
    assert link["rel"] == "next" and f"marker={second}" in link["href"]
    rest = await _get(cloud, "/detail", token=who.token, name=name, limit="2", marker=second)
    assert [i["id"] for i in rest["images"]] == [first] and "images_links" not in rest
    paged = await _get(cloud, "", token=who.token, name=name, page_size="1")
    assert len(paged["images"]) == 3
    for bad in ({"limit": "-1"}, {"limit": "x"}, {"page_size": "-1"}, {"offset": "a"},
                {"marker": "no-such-image"}):
        r = await cloud.call("GET", "/v2.1/images", token=who.token, params=bad, expect=400)
        fault(r, "badRequest")


async def test_what_each_project_and_role_may_do(cloud: CloudClient) -> None:
    who = await owner(cloud)
    other = await owner(cloud)
    reader = await reader_token(cloud, who)
    private = await make_image(cloud, token=who.token)
    # Another project sees neither the image nor its metadata, and cannot delete it.
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/metadata")):
        r = await cloud.call(method, f"/v2.1/images/{private}{path}", token=other.token,
                             expect=404)
        assert fault(r, "itemNotFound") == "Image not found."
    assert private not in [i["id"] for i in (await _get(cloud, "", token=other.token))["images"]]
    # The project's reader sees it and changes nothing: the image service's rules.
    assert (await _get(cloud, f"/{private}", token=reader))["image"]["id"] == private
    r = await cloud.call("DELETE", f"/v2.1/images/{private}", token=reader, expect=403)
    assert fault(r, "forbidden") == "You are not allowed to delete the image."
    await cloud.call("PUT", f"/v2.1/images/{private}/metadata/a", token=who.token,
                     expect=200, json={"meta": {"a": "1"}})
    for body in ({"metadata": {"a": "2"}}, {"metadata": {"a": "1"}}):   # even a no-op
        r = await cloud.call("POST", f"/v2.1/images/{private}/metadata", token=reader,
                             expect=403, json=body)
        fault(r, "forbidden")
    r = await cloud.call("PUT", f"/v2.1/images/{private}/metadata/a", token=reader,
                         expect=403, json={"meta": {"a": "1"}})
    fault(r, "forbidden")
    await cloud.call("DELETE", f"/v2.1/images/{private}/metadata/a", token=reader, expect=403)
    await cloud.call("DELETE", f"/v2.1/images/{private}", token=who.token, expect=204)


async def test_the_proxy_ends_at_its_microversions(cloud: CloudClient) -> None:
    who = await owner(cloud)
    image_id = await make_image(cloud, token=who.token, colour="red")
    await _get(cloud, f"/{image_id}", token=who.token, v="2.35")
    for path in ("", "/detail", f"/{image_id}"):
        r = await cloud.call("GET", f"/v2.1/images{path}", token=who.token,
                             headers=version("2.36"), expect=404)
        fault(r, "itemNotFound")
    await cloud.call("DELETE", f"/v2.1/images/{image_id}", token=who.token,
                     headers=version("2.36"), expect=404)
    # Its metadata stay until 2.38, as in Nova.
    assert (await _get(cloud, f"/{image_id}/metadata", token=who.token, v="2.38")) == {
        "metadata": {"colour": "red"}}
    for method, path, body in (("GET", "/metadata", None), ("GET", "/metadata/colour", None),
                               ("PUT", "/metadata", {"metadata": {}}),
                               ("DELETE", "/metadata/colour", None)):
        r = await cloud.call(method, f"/v2.1/images/{image_id}{path}", token=who.token,
                             headers=version("2.39"), json=body, expect=404)
        fault(r, "itemNotFound")
    await _get(cloud, f"/{image_id}", token=who.token)


async def test_image_metadata(cloud: CloudClient) -> None:
    who = await owner(cloud)
    image_id = await make_image(cloud, token=who.token, colour="red")
    base = f"/v2.1/images/{image_id}/metadata"

    async def metadata() -> dict[str, str]:
        return dict((await _get(cloud, f"/{image_id}/metadata", token=who.token))["metadata"])

    r = await cloud.call("GET", f"{base}/colour", token=who.token, expect=200)
    assert r.json() == {"meta": {"colour": "red"}}
    await cloud.call("GET", f"{base}/nothing", token=who.token, expect=404)
    r = await cloud.call("POST", base, token=who.token, expect=200,
                         json={"metadata": {"size_hint": "big", "colour": "blue"}})
    assert r.json() == {"metadata": {"colour": "blue", "size_hint": "big"}}
    assert await metadata() == {"colour": "blue", "size_hint": "big"}
    r = await cloud.call("PUT", f"{base}/shape", token=who.token, expect=200,
                         json={"meta": {"shape": "round"}})
    assert r.json() == {"meta": {"shape": "round"}}
    r = await cloud.call("PUT", f"{base}/shape", token=who.token, expect=400,
                         json={"meta": {"other": "x"}})
    assert fault(r, "badRequest") == "Request body and URI mismatch"
    r = await cloud.call("PUT", base, token=who.token, expect=200,
                         json={"metadata": {"only": "this"}})
    assert r.json() == {"metadata": {"only": "this"}}
    assert await metadata() == {"only": "this"}
    await cloud.call("DELETE", f"{base}/only", token=who.token, expect=204)
    assert await metadata() == {}
    r = await cloud.call("DELETE", f"{base}/only", token=who.token, expect=404)
    assert fault(r, "itemNotFound") == "Invalid metadata key"
    # The image's own attributes are not metadata.
    r = await cloud.call("POST", base, token=who.token, expect=400,
                         json={"metadata": {"min_ram": "4096"}})
    fault(r, "badRequest")
    # Nova's metadata_items quota (3 here) bounds what an image may hold.
    r = await cloud.call("PUT", base, token=who.token, expect=403,
                         json={"metadata": {"a": "1", "b": "2", "c": "3", "d": "4"}})
    assert fault(r, "forbidden") == "Image metadata limit exceeded"
    await cloud.call("PUT", base, token=who.token, expect=200,
                     json={"metadata": {"a": "1", "b": "2", "c": "3"}})
    r = await cloud.call("POST", base, token=who.token, expect=403,
                         json={"metadata": {"d": "4"}})
    assert fault(r, "forbidden") == "Image metadata limit exceeded"
    for bad in ({}, {"metadata": {"k": 1}}, {"metadata": {"": "v"}}, {"meta": {"a": "b"}}):
        await cloud.call("POST", base, token=who.token, expect=400, json=bad)
    r = await cloud.call("GET", "/v2.1/images/no-such-image/metadata", token=who.token,
                         expect=404)
    assert fault(r, "itemNotFound") == "Image not found."
