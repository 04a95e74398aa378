"""The metadata definitions schemas: Glance's ``/v2/schemas/metadefs/*``, and the
validators of request bodies built from the same documents (decision 69).

Glance validates each body against the document it publishes (``additionalProperties``
false, its ``required`` list), after refusing read-only attributes with a 403; the
validators here are those documents, so what is published is what is enforced.
"""

from __future__ import annotations

import copy
from typing import Any

from ownstack.common.api.schema import Validator

_TYPES = ["array", "boolean", "integer", "number", "object", "string", None]


def _read_only_time(what: str) -> dict[str, Any]:
    return {"type": "string", "readOnly": True, "description": what, "format": "date-time"}


_READ_ONLY_STRING = {"readOnly": True, "type": "string"}

# A property's definition: what a namespace's, an object's and /properties hold.
PROPERTY_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": _TYPES},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {"type": "object", "properties": {
        "type": {"type": "string", "enum": _TYPES}, "enum": {"type": "array"}}},
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}
# What Glance keeps of a property's definition (its PropertyType): the rest is dropped.
KEPT_PROPERTY_FIELDS = ("type", "title", "description", "operators", "default", "readonly",
                        "minimum", "maximum", "enum", "pattern", "minLength", "maxLength",
                        "confidential", "items", "uniqueItems", "minItems", "maxItems",
                        "additionalItems")


def _definitions(*, string_array_min_items: bool = False) -> dict[str, Any]:
    string_array: dict[str, Any] = {"type": "array", "items": {"type": "string"},
                                    "uniqueItems": True}
    if string_array_min_items:
        string_array = {**string_array, "minItems": 1}
    return {
        "positiveInteger": {"type": "integer", "minimum": 0},
        "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"},
                                              {"default": 0}]},
        "stringArray": string_array,
    }


def _namespace_definitions() -> dict[str, Any]:
    return {**_definitions(), "property": {
        "type": "object", "additionalProperties": {
            "type": "object", "required": ["title", "type"],
            "properties": copy.deepcopy(PROPERTY_FIELDS)}}}


def _document(name: str, properties: dict[str, Any], required: list[str] | None = None,
              definitions: dict[str, Any] | None = None) -> dict[str, Any]:
    """Glance's ``Schema.raw()``."""
    doc: dict[str, Any] = {"name": name, "properties": properties,
                           "additionalProperties": False}
    if definitions:
        doc["definitions"] = definitions
    if required:
        doc["required"] = required
    return doc


def _collection(name: str, item: dict[str, Any], *, as_dict: bool = False) -> dict[str, Any]:
    """Glance's ``CollectionSchema.raw()`` (``DictCollectionSchema`` where ``as_dict``):
    the item's definitions move up to the collection."""
    item = dict(item)
    definitions = item.pop("definitions", None)
    holder = {"type": "object", "additionalProperties": item} if as_dict \
        else {"type": "array", "items": item}
    doc: dict[str, Any] = {
        "name": name,
        "properties": {name: holder, "first": {"type": "string"},
                       "next": {"type": "string"}, "schema": {"type": "string"}},
        "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                  {"rel": "describedby", "href": "{schema}"}]}
    if definitions:
        doc["definitions"] = definitions
    return doc


def namespace_document() -> dict[str, Any]:
    properties = {
        "namespace": {"type": "string", "description": "The unique namespace text.",
                      "maxLength": 80},
        "display_name": {"type": "string", "description": "The user friendly name for the "
                         "namespace. Used by UI if available.", "maxLength": 80},
        "description": {"type": "string", "description": "Provides a user friendly "
                        "description of the namespace.", "maxLength": 500},
        "visibility": {"type": "string", "description": "Scope of namespace accessibility.",
                       "enum": ["public", "private"]},
        "protected": {"type": "boolean",
                      "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "description": "Owner of the namespace.",
                  "maxLength": 255},
        "created_at": _read_only_time("Date and time of namespace creation"),
        "updated_at": _read_only_time("Date and time of the last namespace modification"),
        "schema": dict(_READ_ONLY_STRING),
        "self": dict(_READ_ONLY_STRING),
        "resource_type_associations": {"type": "array", "items": {
            "type": "object", "properties": {"name": {"type": "string"},
                                             "prefix": {"type": "string"},
                                             "properties_target": {"type": "string"}}}},
        "properties": {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "description": {"type": "string"},
            "required": {"$ref": "#/definitions/stringArray"},
            "properties": {"$ref": "#/definitions/property"}}}},
        "tags": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}}}},
    }
    return _document("namespace", properties, ["namespace"], _namespace_definitions())


def namespaces_document() -> dict[str, Any]:
    return _collection("namespaces", namespace_document())


def object_document() -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string"},
        "required": {"$ref": "#/definitions/stringArray"},
        "properties": {"$ref": "#/definitions/property"},
        "schema": dict(_READ_ONLY_STRING),
        "self": dict(_READ_ONLY_STRING),
        "created_at": _read_only_time("Date and time of object creation"),
        "updated_at": _read_only_time("Date and time of the last object modification"),
    }
    return _document("object", properties, ["name"], _namespace_definitions())


def objects_document() -> dict[str, Any]:
    return _collection("objects", object_document())


def property_document(*, require_name: bool = True) -> dict[str, Any]:
    required = ["type", "title", "name"] if require_name else ["type", "title"]
    return _document("property", copy.deepcopy(PROPERTY_FIELDS), required,
                     _definitions(string_array_min_items=True))


def properties_document() -> dict[str, Any]:
    return _collection("properties", property_document(require_name=False), as_dict=True)


def tag_document() -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "maxLength": 80},
        "created_at": _read_only_time("Date and time of tag creation"),
        "updated_at": _read_only_time("Date and time of the last tag modification"),
    }
    return _document("tag", properties, ["name"])


def tags_document() -> dict[str, Any]:
    return _collection("tags", tag_document())


def resource_type_document() -> dict[str, Any]:
    properties = {
        "name": {"type": "string", "description": "Resource type names should be aligned "
                 "with Heat resource types whenever possible: https://docs.openstack.org/"
                 "heat/latest/template_guide/openstack.html", "maxLength": 80},
        "prefix": {"type": "string", "description": "Specifies the prefix to use for the "
                   "given resource type. Any properties in the namespace should be prefixed "
                   "with this prefix when being applied to the specified resource type. "
                   "Must include prefix separator (e.g. a colon :).", "maxLength": 80},
        "properties_target": {"type": "string", "description": "Some resource types allow "
                              "more than one key / value pair per instance.  For example, "
                              "Cinder allows user and image metadata on volumes. Only the "
                              "image properties metadata is evaluated by Nova (scheduling "
                              "or drivers). This property allows a namespace target to "
                              "remove the ambiguity.", "maxLength": 80},
        "created_at": _read_only_time("Date and time of resource type association"),
        "updated_at": _read_only_time("Date and time of the last resource type association "
                                      "modification"),
    }
    return _document("resource_type_association", properties, ["name"])


def resource_types_document() -> dict[str, Any]:
    return _collection("resource_type_associations", resource_type_document())


DOCUMENTS = {
    "namespace": namespace_document, "namespaces": namespaces_document,
    "object": object_document, "objects": objects_document,
    "property": property_document, "properties": properties_document,
    "tag": tag_document, "tags": tags_document,
    "resource_type": resource_type_document, "resource_types": resource_types_document,
}

_NAME = {"type": "string", "minLength": 1, "maxLength": 80}


def _tightened(doc: dict[str, Any]) -> dict[str, Any]:
    """A published document as a validator: a JSON object, whose names are 1 to 80
    characters wherever they go (Glance's columns are 80 wide; some of its documents
    leave the length out, and none says the body is an object)."""
    doc = {"type": "object", **copy.deepcopy(doc)}
    props = doc["properties"]
    for key in ("namespace", "name"):
        if key in props:
            props[key] = {**props[key], **_NAME}
    definitions = doc.get("definitions", {})
    if "property" in definitions:
        definitions["property"]["propertyNames"] = _NAME
    for key, fields in (("resource_type_associations", ("name", "prefix", "properties_target")),
                        ("objects", ("name",)), ("tags", ("name",))):
        if key in props:
            item = props[key]["items"]
            for field in fields:
                item["properties"][field] = {**item["properties"][field], **_NAME}
            item["required"] = ["name"]
    return doc


NAMESPACE = Validator(_tightened(namespace_document()))
OBJECT = Validator(_tightened(object_document()))
PROPERTY = Validator(_tightened(property_document()))
# Each property of an object, and of a namespace's create body: named by its key.
UNNAMED_PROPERTY = Validator(_tightened(property_document(require_name=False)))
TAG = Validator(_tightened(tag_document()))
TAGS = Validator({"type": "object", "additionalProperties": False, "properties": {
    "tags": {"type": "array", "items": {
        "type": "object", "properties": {"name": _NAME},
        "required": ["name"], "additionalProperties": False}}}})
RESOURCE_TYPE_ASSOCIATION = Validator(_tightened(resource_type_document()))
