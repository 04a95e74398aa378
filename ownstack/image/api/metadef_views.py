"""The bodies of the metadata definitions answers, as Glance's wsme models render them:
an attribute without a value is left out, never null."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from ownstack.image.api.views import isotime
from ownstack.image.objects.models import (
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefResourceTypeAssociation,
    MetadefTag,
)

NAMESPACES_PATH = "/v2/metadefs/namespaces"
Associations = list[tuple[MetadefResourceTypeAssociation, str]]


def _present(view: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in view.items() if value is not None}


def namespace_href(name: str) -> str:
    return f"{NAMESPACES_PATH}/{name}"


def namespace(row: MetadefNamespace, associations: Associations | None = None,
              **contents: Any) -> dict[str, Any]:
    """A namespace; with its resource type associations where it has any, and the
    ``contents`` a show adds (``objects``, ``properties``, ``tags``) where not empty."""
    view = _present({
        "namespace": row.namespace, "display_name": row.display_name,
        "description": row.description, "visibility": row.visibility,
        "protected": bool(row.protected), "owner": row.owner,
        "created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at),
        "self": namespace_href(row.namespace), "schema": "/v2/schemas/metadefs/namespace"})
    if associations:
        view["resource_type_associations"] = [association(a, name)
                                              for a, name in associations]
    view.update({key: value for key, value in contents.items() if value})
    return view


def namespaces(rows: list[MetadefNamespace], associations: dict[int, Associations],
               query: QueryParams, limit: int) -> dict[str, Any]:
    """A page of namespaces; ``next`` where the page is full (Glance's test), its marker
    the last namespace's name."""
    kept = [(k, v) for k, v in query.multi_items() if k != "marker"]
    body: dict[str, Any] = {
        "namespaces": [namespace(row, associations.get(row.id)) for row in rows],
        "first": f"{NAMESPACES_PATH}?{urlencode(kept)}" if kept else NAMESPACES_PATH,
        "schema": "/v2/schemas/metadefs/namespaces"}
    if rows and len(rows) == limit:
        body["next"] = f"{NAMESPACES_PATH}?{urlencode([*kept, ('marker', rows[-1].namespace)])}"
    return body


def metadef_object(row: MetadefObject, namespace_name: str, prefix: str = ""
                   ) -> dict[str, Any]:
    return _present({
        "name": row.name, "description": row.description,
        "required": [prefix + name for name in row.required]
        if row.required is not None else None,
        "properties": {prefix + name: definition
                       for name, definition in row.properties.items()}
        if row.properties is not None else None,
        "created_at": isotime(row.created_at), "updated_at": isotime(row.updated_at),
        "self": f"{namespace_href(namespace_name)}/objects/{row.name}",
        "schema": "/v2/schemas/metadefs/object"})


def metadef_objects(rows: list[MetadefObject], namespace_name: str) -> dict[str, Any]:
    # Glance's value, without its leading slash.
    return {"objects": [metadef_object(row, namespace_name) for row in rows],
            "schema": "v2/schemas/metadefs/objects"}


def metadef_property(row: MetadefProperty, name: str | None = None) -> dict[str, Any]:
    return {"name": name or row.name, **row.definition}


def metadef_properties(rows: list[MetadefProperty], prefix: str = "") -> dict[str, Any]:
    return {prefix + row.name: dict(row.definition) for row in rows}


def tag(row: MetadefTag) -> dict[str, Any]:
    return {"name": row.name, "created_at": isotime(row.created_at),
            "updated_at": isotime(row.updated_at)}


def tag_names(rows: list[MetadefTag]) -> dict[str, Any]:
    return {"tags": [{"name": row.name} for row in rows]}


def association(row: MetadefResourceTypeAssociation, name: str) -> dict[str, Any]:
    return _present({"name": name, "prefix": row.prefix,
                     "properties_target": row.properties_target,
                     "created_at": isotime(row.created_at),
                     "updated_at": isotime(row.updated_at)})


def resource_types(rows: list[MetadefResourceType]) -> dict[str, Any]:
    return {"resource_types": [{"name": row.name, "created_at": isotime(row.created_at),
                                "updated_at": isotime(row.updated_at)} for row in rows]}
