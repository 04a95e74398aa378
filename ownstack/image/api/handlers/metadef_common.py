"""What the metadata definitions handlers share: Glance's policy checks on a namespace,
its read-only attributes, and its list parameters."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams

from ownstack.common.api.schema import Validator
from ownstack.common.errors import BadRequest, Forbidden
from ownstack.image.api.schemas.metadef import KEPT_PROPERTY_FIELDS, UNNAMED_PROPERTY
from ownstack.image.errors import MetadefNamespaceNotFound
from ownstack.image.objects.models import MetadefNamespace
from ownstack.image.state import Req

# Glance's api_limit_max and limit_param_default.
MAX_LIMIT = 1000
DEFAULT_LIMIT = 25
TIME_ATTRIBUTES = ("created_at", "updated_at")


def enforce(req: Req, rule: str, namespace: MetadefNamespace | None = None) -> None:
    """Glance's ``MetadefAPIPolicy``: the target is the namespace's owner and visibility
    (the caller's project where there is no namespace); a refusal about a namespace the
    caller may not read is a 404, not a 403."""
    target: dict[str, Any] = {"project_id": req.ctx.project_id}
    if namespace is not None:
        target = {"project_id": namespace.owner, "visibility": namespace.visibility}
    if req.svc.allowed(req.ctx, rule, target):
        return
    if namespace is not None and (
            rule == "get_metadef_namespace"
            or not req.svc.allowed(req.ctx, "get_metadef_namespace", target)):
        raise MetadefNamespaceNotFound(f"Namespace {namespace.namespace} not found")
    req.svc.enforce(req.ctx, rule, target)


def allowed(req: Req, rule: str, namespace: MetadefNamespace) -> bool:
    return req.svc.allowed(req.ctx, rule, {"project_id": namespace.owner,
                                           "visibility": namespace.visibility})


async def read_body(req: Req, validator: Validator, read_only: tuple[str, ...]) -> Any:
    """The body, validated; Glance refuses read-only attributes first, with a 403."""
    body = await req.json()
    if isinstance(body, dict):
        for key in read_only:
            if key in body:
                raise Forbidden(f"Attribute '{key}' is read-only.")
    return validator.validate(body)


def property_definition(body: dict[str, Any]) -> dict[str, Any]:
    """What Glance keeps of a property's definition (its name is its key)."""
    return {key: body[key] for key in KEPT_PROPERTY_FIELDS if key in body}


def property_definitions(properties: dict[str, Any] | None, *, checked: bool = True
                         ) -> dict[str, Any] | None:
    """An object's or a new namespace's properties; an object's are each checked as a
    property is (Glance checks a namespace's against its own document only)."""
    if properties is None:
        return None
    for definition in properties.values():
        if checked:
            UNNAMED_PROPERTY.validate(definition)
    return {name: property_definition(definition) for name, definition in properties.items()}


def list_limit(query: QueryParams, default: int | None) -> int | None:
    value = query.get("limit")
    if value is None:
        return default
    try:
        limit = int(value)
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def list_sort(query: QueryParams, allowed_keys: tuple[str, ...]) -> list[tuple[str, str]]:
    """Glance's ``sort_key`` (one, ``created_at`` by default) and ``sort_dir``."""
    key = query.get("sort_key", "created_at")
    direction = query.get("sort_dir", "desc")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    if key not in allowed_keys:
        raise BadRequest(f"Invalid sort key: {key}. It must be one of the following: "
                         f"{', '.join(allowed_keys)}.")
    return [(key, direction)]
