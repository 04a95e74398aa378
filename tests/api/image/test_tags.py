"""Image tags: ``PUT`` and ``DELETE /v2/images/{image_id}/tags/{tag}``."""

from __future__ import annotations

import uuid

from helpers.image import create, list_ids
from helpers.inprocess import ImageClient


async def tags_of(image: ImageClient, image_id: str, token: str | None = None) -> list[str]:
    r = await image.call("GET", f"/v2/images/{image_id}", token=token, expect=200)
    return list(r.json()["tags"])


async def test_add_and_delete_tags(image: ImageClient) -> None:
    _, token = await image.project_user_token()
    img = await create(image, token, tags=["base"])
    path = f"/v2/images/{img['id']}/tags"
    r = await image.call("PUT", f"{path}/golden", token=token, expect=204)
    assert r.content == b""
    await image.call("PUT", f"{path}/golden", token=token, expect=204)   # idempotent
    await image.call("PUT", f"{path}/with%20space", token=token, expect=204)
    assert await tags_of(image, img["id"], token) == ["base", "golden", "with space"]
    assert await list_ids(image, token, tag="golden") == [img["id"]]
    shown = await image.call("GET", f"/v2/images/{img['id']}", token=token)
    assert shown.json()["updated_at"] >= img["updated_at"]
    await image.call("DELETE", f"{path}/golden", token=token, expect=204)
    assert await tags_of(image, img["id"], token) == ["base", "with space"]
    r = await image.call("DELETE", f"{path}/golden", token=token, expect=404)
    assert r.json()["code"] == "404 Not Found"
    assert await list_ids(image, token, tag="golden") == []


async def test_tags_are_case_sensitive(image: ImageClient) -> None:
    img = await create(image)
    for tag in ("Golden", "golden"):
        await image.call("PUT", f"/v2/images/{img['id']}/tags/{tag}", expect=204)
    assert await tags_of(image, img["id"]) == ["Golden", "golden"]


async def test_tag_limits(image: ImageClient) -> None:
    img = await create(image, tags=[f"t{i}" for i in range(127)])
    path = f"/v2/images/{img['id']}/tags"
    await image.call("PUT", f"{path}/{'x' * 256}", expect=400)
    await image.call("PUT", f"{path}/{'x' * 255}", expect=204)
    r = await image.call("PUT", f"{path}/one-too-many", expect=413)
    assert r.json()["code"] == "413 Request Entity Too Large"
    await image.call("PUT", f"{path}/t0", expect=204)        # present already: no limit
    assert len(await tags_of(image, img["id"])) == 128


async def test_tags_follow_image_permissions(image: ImageClient) -> None:
    _, owner = await image.project_user_token()
    _, other = await image.project_user_token()
    private = await create(image, owner, visibility="private")
    public = await create(image, visibility="public", tags=["keep"])
    await image.call("PUT", f"/v2/images/{private['id']}/tags/x", token=other, expect=404)
    await image.call("DELETE", f"/v2/images/{private['id']}/tags/x", token=other, expect=404)
    await image.call("PUT", f"/v2/images/{public['id']}/tags/x", token=other, expect=403)
    await image.call("DELETE", f"/v2/images/{public['id']}/tags/keep", token=other,
                     expect=403)
    assert await tags_of(image, public["id"]) == ["keep"]
    await image.call("PUT", f"/v2/images/{uuid.uuid4()}/tags/x", expect=404)
