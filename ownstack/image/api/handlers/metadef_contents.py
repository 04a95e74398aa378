"""A namespace's objects, properties and tags:
``/v2/metadefs/namespaces/{namespace}/objects[/{object_name}]``, ``.../properties[/...]``
and ``.../tags[/{tag_name}]``.

Each lookup goes through the namespace first (404 when the caller may not see it); reads
need a reader of the owning project (or a public namespace), writes the admin.
"""

from __future__ import annotations

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.booleans import bool_from_string
from ownstack.image.api import metadef_views as views
from ownstack.image.api.handlers.metadef_common import (
    TIME_ATTRIBUTES,
    allowed,
    enforce,
    list_limit,
    list_sort,
    property_definition,
    property_definitions,
    read_body,
)
from ownstack.image.api.schemas import metadef as schema
from ownstack.image.objects import metadef_contents as contents
from ownstack.image.objects import metadef_namespaces as namespaces
from ownstack.image.objects.models import MetadefObject, MetadefProperty, MetadefTag
from ownstack.image.state import Req

_OBJECT_READ_ONLY = ("self", "schema", *TIME_ATTRIBUTES)
_SORT_KEYS = ("name", "created_at", "updated_at")


# --- objects -------------------------------------------------------------------------------

async def list_objects(req: Req) -> Response:
    limit = list_limit(req.query, None)
    sort = list_sort(req.query, _SORT_KEYS)
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_objects", namespace)
        rows = await contents.list_items(db, MetadefObject, namespace, limit=limit,
                                         marker=req.query.get("marker"), sort=sort)
    if not allowed(req, "get_metadef_object", namespace):
        rows = []
    return json_response(views.metadef_objects(rows, namespace.namespace))


async def create_object(req: Req) -> Response:
    body = await read_body(req, schema.OBJECT, _OBJECT_READ_ONLY)
    definitions = property_definitions(body.get("properties"))
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "add_metadef_object", namespace)
        row = await contents.add_item(db, namespace, MetadefObject(
            name=body["name"], description=body.get("description"),
            required=body.get("required"), properties=definitions))
    return json_response(views.metadef_object(row, namespace.namespace), status=201)


async def show_object(req: Req) -> Response:
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_object", namespace)
        row = await contents.get_item(db, MetadefObject, namespace, req.params["object_name"])
    return json_response(views.metadef_object(row, namespace.namespace))


async def update_object(req: Req) -> Response:
    body = await read_body(req, schema.OBJECT, _OBJECT_READ_ONLY)
    definitions = property_definitions(body.get("properties"))
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "modify_metadef_object", namespace)
        row = await contents.get_item(db, MetadefObject, namespace, req.params["object_name"])
        await contents.rename_item(db, namespace, row, {
            "name": body["name"], "description": body.get("description"),
            "required": body.get("required"), "properties": definitions})
    return json_response(views.metadef_object(row, namespace.namespace))


async def delete_object(req: Req) -> Response:
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "delete_metadef_object", namespace)
        row = await contents.get_item(db, MetadefObject, namespace, req.params["object_name"])
        await contents.remove_item(db, namespace, row)
    return empty_response()


# --- properties ----------------------------------------------------------------------------

async def list_properties(req: Req) -> Response:
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_properties", namespace)
        rows = await contents.list_items(db, MetadefProperty, namespace, sort=[("name", "asc")])
    return json_response({"properties": views.metadef_properties(rows)})


async def create_property(req: Req) -> Response:
    body = await read_body(req, schema.PROPERTY, TIME_ATTRIBUTES)
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "add_metadef_property", namespace)
        row = await contents.add_item(db, namespace, MetadefProperty(
            name=body["name"], definition=property_definition(body)))
    return json_response(views.metadef_property(row), status=201)


async def show_property(req: Req) -> Response:
    """``?resource_type=`` names the property as that association prefixes it: the
    prefix is taken off before the lookup (404 when the name lacks it)."""
    name = req.params["property_name"]
    resource_type = req.query.get("resource_type")
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_property", namespace)
        if resource_type:
            enforce(req, "get_metadef_resource_type", namespace)
            name = await contents.unprefixed_name(db, namespace, name, resource_type)
        row = await contents.get_item(db, MetadefProperty, namespace, name)
    return json_response(views.metadef_property(row, name))


async def update_property(req: Req) -> Response:
    body = await read_body(req, schema.PROPERTY, TIME_ATTRIBUTES)
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "modify_metadef_property", namespace)
        row = await contents.get_item(db, MetadefProperty, namespace,
                                      req.params["property_name"])
        await contents.rename_item(db, namespace, row, {
            "name": body["name"], "definition": property_definition(body)})
    return json_response(views.metadef_property(row))


async def delete_property(req: Req) -> Response:
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "remove_metadef_property", namespace)
        row = await contents.get_item(db, MetadefProperty, namespace,
                                      req.params["property_name"])
        await contents.remove_item(db, namespace, row)
    return empty_response()


# --- tags ----------------------------------------------------------------------------------

async def list_tags(req: Req) -> Response:
    limit = list_limit(req.query, None)
    sort = list_sort(req.query, _SORT_KEYS)
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_tags", namespace)
        rows = await contents.list_items(db, MetadefTag, namespace, limit=limit or None,
                                         marker=req.query.get("marker") or None, sort=sort)
    return json_response(views.tag_names(rows))


async def create_tags(req: Req) -> Response:
    """Glance's bulk create: the list replaces the namespace's tags, or is added to them
    with ``X-Openstack-Append: true``."""
    body = await read_body(req, schema.TAGS, TIME_ATTRIBUTES)
    append = bool_from_string(req.headers.get("x-openstack-append"))
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "add_metadef_tags", namespace)
        rows = await contents.replace_tags(db, namespace,
                                           [tag["name"] for tag in body.get("tags", [])],
                                           append=append)
    return json_response(views.tag_names(rows), status=201)


async def create_tag(req: Req) -> Response:
    name = req.params["tag_name"]
    schema.TAG.validate({"name": name})
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "add_metadef_tag", namespace)
        row = await contents.add_item(db, namespace, MetadefTag(name=name))
    return json_response(views.tag(row), status=201)


async def show_tag(req: Req) -> Response:
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "get_metadef_tag", namespace)
        row = await contents.get_item(db, MetadefTag, namespace, req.params["tag_name"])
    return json_response(views.tag(row))


async def update_tag(req: Req) -> Response:
    body = await read_body(req, schema.TAG, TIME_ATTRIBUTES)
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "modify_metadef_tag", namespace)
        row = await contents.get_item(db, MetadefTag, namespace, req.params["tag_name"])
        await contents.rename_item(db, namespace, row, {"name": body["name"]})
    return json_response(views.tag(row))


async def delete_tag(req: Req) -> Response:
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "delete_metadef_tag", namespace)
        row = await contents.get_item(db, MetadefTag, namespace, req.params["tag_name"])
        await contents.remove_item(db, namespace, row)
    return empty_response()
