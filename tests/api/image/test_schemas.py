"""``/v2/schemas/*``: Glance's documents, and images that validate against them."""

from __future__ import annotations

from typing import Any

import jsonschema

from helpers.image import create
from helpers.inprocess import ImageClient
from ownstack.image.objects.images import CONTAINER_FORMATS, DISK_FORMATS


async def schema(image: ImageClient, name: str) -> dict[str, Any]:
    return dict((await image.call("GET", f"/v2/schemas/{name}", expect=200)).json())


async def test_image_schema(image: ImageClient) -> None:
    doc = await schema(image, "image")
    assert doc["name"] == "image"
    assert doc["additionalProperties"] == {"type": "string"}
    props = doc["properties"]
    assert {"id", "name", "status", "visibility", "protected", "os_hidden", "owner",
            "disk_format", "container_format", "size", "virtual_size", "checksum",
            "os_hash_algo", "os_hash_value", "min_disk", "min_ram", "tags", "created_at",
            "updated_at", "self", "file", "schema", "locations"} <= set(props)
    assert props["disk_format"]["enum"] == [None, *DISK_FORMATS]
    assert props["container_format"]["enum"] == [None, *CONTAINER_FORMATS]
    assert props["visibility"]["enum"] == ["public", "private", "shared", "community"]
    assert "deactivated" in props["status"]["enum"] and props["status"]["readOnly"] is True
    assert props["name"]["type"] == ["null", "string"] and props["min_ram"]["type"] == "integer"
    assert props["tags"]["items"] == {"type": "string", "maxLength": 255}
    assert {link["rel"] for link in doc["links"]} == {"self", "enclosure", "describedby"}


async def test_images_schema_wraps_the_image_schema(image: ImageClient) -> None:
    doc = await schema(image, "images")
    assert doc["name"] == "images"
    assert doc["properties"]["images"] == {"type": "array",
                                           "items": await schema(image, "image")}
    assert {"first", "next", "schema"} <= set(doc["properties"])
    assert [link["rel"] for link in doc["links"]] == ["first", "next", "describedby"]


async def test_member_schemas(image: ImageClient) -> None:
    member = await schema(image, "member")
    assert member["name"] == "member" and member["additionalProperties"] is False
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    members = await schema(image, "members")
    assert members["properties"]["members"]["items"] == member


async def test_views_validate_against_the_published_schemas(image: ImageClient) -> None:
    osc_md5: dict[str, Any] = {"owner_specified.openstack.md5": ""}
    img = await create(image, name="tiny", tags=["a"], os_distro="debian", **osc_md5)
    jsonschema.Draft4Validator(await schema(image, "image")).validate(img)
    listed = (await image.call("GET", "/v2/images", params={"limit": 1})).json()
    jsonschema.Draft4Validator(await schema(image, "images")).validate(listed)
    member = (await image.call("POST", f"/v2/images/{img['id']}/members",
                               json={"member": "p"}, expect=200)).json()
    jsonschema.Draft4Validator(await schema(image, "member")).validate(member)
    members = (await image.call("GET", f"/v2/images/{img['id']}/members")).json()
    jsonschema.Draft4Validator(await schema(image, "members")).validate(members)


async def test_schemas_need_a_token(image: ImageClient) -> None:
    r = await image.http.get("/v2/schemas/image")
    assert r.status_code == 401


async def test_import_info_offers_no_method(image: ImageClient) -> None:
    # Glance's discovery of import methods (Tempest's image tests read it first); ownstack
    # has the upload, not the import API, so it offers none, and the import route is 404.
    r = await image.call("GET", "/v2/info/import", expect=200)
    assert r.json() == {"import-methods": {"description": "Import methods available.",
                                           "type": "array", "value": []}}
    r = await image.http.get("/v2/info/import")
    assert r.status_code == 401


async def test_an_image_has_no_tasks(image: ImageClient) -> None:
    # Glance 2.12's list of an image's import tasks: ownstack imports nothing, so a
    # visible image has none (Tempest's snapshot tests wait on it); an unknown one is 404.
    made = await create(image, name="no-tasks")
    r = await image.call("GET", f"/v2/images/{made['id']}/tasks", expect=200)
    assert r.json() == {"tasks": []}
    await image.call("GET", "/v2/images/00000000-0000-4000-8000-000000000000/tasks",
                     expect=404)


METADEF_SCHEMAS = {"namespace": "namespace", "namespaces": "namespaces", "object": "object",
                   "objects": "objects", "property": "property", "properties": "properties",
                   "tag": "tag", "tags": "tags", "resource_type": "resource_type_association",
                   "resource_types": "resource_type_associations"}


async def test_metadef_schemas_are_glances(image: ImageClient) -> None:
    # Tempest's image.v2.test_images_metadefs_schema reads each name as a project reader.
    _, reader = await image.project_user_token("reader")
    for path, name in METADEF_SCHEMAS.items():
        r = await image.call("GET", f"/v2/schemas/metadefs/{path}", token=reader, expect=200)
        doc = r.json()
        assert doc["name"] == name
        jsonschema.Draft4Validator.check_schema(doc)
    namespace = await schema(image, "metadefs/namespace")
    assert namespace["required"] == ["namespace"] and namespace["additionalProperties"] is False
    assert namespace["properties"]["visibility"]["enum"] == ["public", "private"]
    assert namespace["properties"]["properties"] == {"$ref": "#/definitions/property"}
    assert set(namespace["definitions"]) == {"positiveInteger", "positiveIntegerDefault0",
                                             "stringArray", "property"}
    namespaces = await schema(image, "metadefs/namespaces")
    assert "definitions" not in namespaces["properties"]["namespaces"]["items"]
    assert namespaces["definitions"] == namespace["definitions"]
    prop = await schema(image, "metadefs/property")
    assert prop["required"] == ["type", "title", "name"]
    assert prop["definitions"]["stringArray"]["minItems"] == 1
    props = await schema(image, "metadefs/properties")
    assert props["properties"]["properties"]["type"] == "object"
    assert props["properties"]["properties"]["additionalProperties"]["required"] == [
        "type", "title"]
    assert (await schema(image, "metadefs/tag"))["required"] == ["name"]
    rt = await schema(image, "metadefs/resource_type")
    assert set(rt["properties"]) == {"name", "prefix", "properties_target", "created_at",
                                     "updated_at"}


async def test_metadef_views_validate_against_their_schemas(image: ImageClient) -> None:
    name = "OS::Schema::Check"
    made = (await image.call("POST", "/v2/metadefs/namespaces", expect=201, json={
        "namespace": name, "resource_type_associations": [{"name": "OS::Glance::Image",
                                                           "prefix": "hw_"}],
        "properties": {"p": {"title": "P", "type": "string", "enum": ["a"]}},
        "objects": [{"name": "o", "required": ["p"],
                     "properties": {"p": {"title": "P", "type": "integer"}}}],
        "tags": [{"name": "t"}]})).json()
    base = f"/v2/metadefs/namespaces/{name}"

    async def check(doc_name: str, path: str, body: Any = None) -> None:
        doc = await schema(image, f"metadefs/{doc_name}")
        jsonschema.Draft4Validator(doc).validate(
            body if body is not None else (await image.call("GET", path, expect=200)).json())

    await check("namespace", base, made)
    await check("namespace", base)
    await check("namespaces", "/v2/metadefs/namespaces")
    await check("object", f"{base}/objects/o")
    await check("objects", f"{base}/objects")
    await check("property", f"{base}/properties/p")
    await check("properties", f"{base}/properties")
    await check("tag", f"{base}/tags/t")
    await check("tags", f"{base}/tags")
    await check("resource_types", f"{base}/resource_types")
