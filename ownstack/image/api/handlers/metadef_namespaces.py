"""Metadata definition namespaces, resource types and the schemas of the catalog:
``/v2/metadefs/namespaces[/{namespace}]``, ``.../resource_types``, the deletes of all
of a namespace's objects, properties or tags, and ``/v2/schemas/metadefs/*``.

As in Glance, a namespace the caller may not see is a 404; writing needs the admin
(``glance/policies/metadef.py``); a protected namespace keeps everything it holds (403).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.errors import BadRequest
from ownstack.image.api import metadef_views as views
from ownstack.image.api.handlers.metadef_common import (
    DEFAULT_LIMIT,
    TIME_ATTRIBUTES,
    allowed,
    enforce,
    list_limit,
    list_sort,
    property_definitions,
    read_body,
)
from ownstack.image.api.schemas import metadef as schema
from ownstack.image.objects import metadef_contents as contents
from ownstack.image.objects import metadef_namespaces as namespaces
from ownstack.image.objects.models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefTag,
)
from ownstack.image.state import Req

_READ_ONLY = ("self", "schema", *TIME_ATTRIBUTES)
# What a namespace's create body may hold besides the namespace, and the rule each needs.
_CONTENT_RULES = {"resource_type_associations": "add_metadef_resource_type_association",
                  "objects": "add_metadef_object", "properties": "add_metadef_property",
                  "tags": "add_metadef_tag"}


async def list_namespaces(req: Req) -> Response:
    enforce(req, "get_metadef_namespaces")
    enforce(req, "list_metadef_resource_types")
    limit = list_limit(req.query, DEFAULT_LIMIT)
    limit = DEFAULT_LIMIT if limit is None else limit
    sort = list_sort(req.query, namespaces.NAMESPACE_SORT_KEYS)
    visibility = req.query.get("visibility")
    if visibility and visibility not in ("public", "private"):
        raise BadRequest(f"Invalid visibility value: {visibility}")
    types = req.query.get("resource_types")
    wanted = namespaces.NamespaceFilters(
        visibility=visibility or None,
        resource_types=[t.strip() for t in types.split(",")] if types is not None else None)
    async with req.svc.read() as db:
        rows = await namespaces.list_visible(db, req.ctx, wanted, limit=limit,
                                             marker=req.query.get("marker"), sort=sort)
        rows = [row for row in rows if allowed(req, "get_metadef_namespace", row)]
        associations = await namespaces.associations_of(db, [row.id for row in rows])
    return json_response(views.namespaces(rows, associations, req.query, limit))


async def create_namespace(req: Req) -> Response:
    body = await read_body(req, schema.NAMESPACE, _READ_ONLY)
    enforce(req, "add_metadef_namespace")
    for key, rule in _CONTENT_RULES.items():
        if body.get(key):
            enforce(req, rule)
    objects = [(item, property_definitions(item.get("properties")))
               for item in body.get("objects") or []]
    properties = property_definitions(body.get("properties"), checked=False) or {}
    async with req.svc.write() as db:
        namespace = await namespaces.create(db, _namespace_values(req, body))
        for association in body.get("resource_type_associations") or []:
            await contents.associate(db, namespace, association["name"],
                                     association.get("prefix"),
                                     association.get("properties_target"))
        for item, definitions in objects:
            await contents.add_item(db, namespace, MetadefObject(
                name=item["name"], description=item.get("description"),
                required=item.get("required"), properties=definitions))
        for name, definition in properties.items():
            await contents.add_item(db, namespace, MetadefProperty(name=name,
                                                                   definition=definition))
        for tag in body.get("tags") or []:
            await contents.add_item(db, namespace, MetadefTag(name=tag["name"]))
        view = await _detail(db, namespace)
    return json_response(view, status=201, headers={
        "Location": f"{req.base_url()}{views.namespace_href(namespace.namespace)}"})


async def show_namespace(req: Req) -> Response:
    name = req.params["namespace"]
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(
            db, req.ctx, name, message=f"Metadata definition namespace={name} was not found.")
        enforce(req, "get_metadef_namespace", namespace)
        for rule in ("list_metadef_resource_types", "get_metadef_objects",
                     "get_metadef_properties", "get_metadef_tags"):
            enforce(req, rule, namespace)
        view = await _detail(db, namespace, req.query.get("resource_type"))
    return json_response(view)


async def update_namespace(req: Req) -> Response:
    body = await read_body(req, schema.NAMESPACE, _READ_ONLY)
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "modify_metadef_namespace", namespace)
        await namespaces.update(db, namespace, _namespace_values(req, body))
    return json_response(views.namespace(namespace))


async def delete_namespace(req: Req) -> Response:
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "delete_metadef_namespace", namespace)
        await namespaces.delete_namespace(db, namespace)
    return empty_response()


async def delete_objects(req: Req) -> Response:
    return await _delete_all(req, MetadefObject)


async def delete_properties(req: Req) -> Response:
    return await _delete_all(req, MetadefProperty)


async def delete_tags(req: Req) -> Response:
    return await _delete_all(req, MetadefTag, "delete_metadef_tags")


async def _delete_all(req: Req, kind: type[Any], *rules: str) -> Response:
    """Glance asks for the right to delete the namespace, and keeps a protected one's."""
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        for rule in ("delete_metadef_namespace", *rules):
            enforce(req, rule, namespace)
        namespaces.check_deletable(namespace)
        await contents.remove_all(db, kind, namespace)
    return empty_response()


def _namespace_values(req: Req, body: dict[str, Any]) -> dict[str, Any]:
    """A create or update body as the namespace's columns: Glance's defaults for what it
    leaves out, also on an update (private, not protected, the caller's project)."""
    return {"namespace": body["namespace"], "display_name": body.get("display_name"),
            "description": body.get("description"),
            "visibility": body.get("visibility") or "private",
            "protected": bool(body.get("protected")),
            "owner": body.get("owner") or req.ctx.project_id or req.ctx.user_id or ""}


async def _detail(db: Any, namespace: MetadefNamespace,
                  resource_type: str | None = None) -> dict[str, Any]:
    """The namespace with everything it holds; its property names (of its objects' too)
    prefixed as ``resource_type``'s association prefixes them, where it asks."""
    associations = (await namespaces.associations_of(db, [namespace.id]))[namespace.id]
    prefix = next((a.prefix or "" for a, name in associations if name == resource_type), "")
    objects = await contents.list_items(db, MetadefObject, namespace)
    properties = await contents.list_items(db, MetadefProperty, namespace)
    tags = await contents.list_items(db, MetadefTag, namespace)
    return views.namespace(
        namespace, associations,
        objects=[views.metadef_object(row, namespace.namespace, prefix) for row in objects],
        properties=views.metadef_properties(properties, prefix),
        tags=[{"name": row.name} for row in tags])


# --- resource types ------------------------------------------------------------------------

async def list_resource_types(req: Req) -> Response:
    enforce(req, "list_metadef_resource_types")
    async with req.svc.read() as db:
        rows = await contents.list_resource_types(db)
    return json_response(views.resource_types(rows))


async def list_associations(req: Req) -> Response:
    async with req.svc.read() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"])
        enforce(req, "list_metadef_resource_types", namespace)
        found = (await namespaces.associations_of(db, [namespace.id]))[namespace.id]
    if not allowed(req, "get_metadef_resource_type", namespace):
        found = []
    return json_response({"resource_type_associations": [
        views.association(row, name) for row, name in found]})


async def create_association(req: Req) -> Response:
    body = await read_body(req, schema.RESOURCE_TYPE_ASSOCIATION, TIME_ATTRIBUTES)
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "add_metadef_resource_type_association", namespace)
        row = await contents.associate(db, namespace, body["name"], body.get("prefix"),
                                       body.get("properties_target"))
    return json_response(views.association(row, body["name"]), status=201)


async def delete_association(req: Req) -> Response:
    async with req.svc.write() as db:
        namespace = await namespaces.get_visible(db, req.ctx, req.params["namespace"],
                                                 lock=True)
        enforce(req, "remove_metadef_resource_type_association", namespace)
        await contents.dissociate(db, namespace, req.params["resource_type"])
    return empty_response()


# --- schemas -------------------------------------------------------------------------------

def _schema_handler(name: str) -> Any:
    async def show_schema(req: Req) -> Response:
        return json_response(schema.DOCUMENTS[name]())
    show_schema.__name__ = show_schema.__qualname__ = f"metadef_{name}_schema"
    return show_schema


SCHEMA_HANDLERS = {name: _schema_handler(name) for name in schema.DOCUMENTS}
