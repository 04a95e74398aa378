"""The shape every Identity v3 request body shares: ``{"<entity>": {...}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ownstack.common.api.schema import Validator


def entity_body(key: str, fields: Mapping[str, Any], *, required: tuple[str, ...] = (),
                update: bool = False, forbid_id: bool = False, closed: bool = False
                ) -> Validator:
    """A body holding one entity under ``key``, whose named ``fields`` are typed. Other
    attributes are kept as Keystone's ``extra`` unless ``closed``; an ``update`` names at
    least one; ``forbid_id`` refuses an ``id`` (Keystone's immutable id)."""
    # Errors at the same depth are reported in this keyword order: a missing field first.
    inner: dict[str, Any] = {"type": "object"}
    if required:
        inner["required"] = list(required)
    if update:
        inner["minProperties"] = 1
    if forbid_id:
        inner["not"] = {"anyOf": [{"required": ["id"]}]}
    if closed:
        inner["additionalProperties"] = False
    inner["properties"] = dict(fields)
    return Validator({"type": "object", "required": [key], "additionalProperties": False,
                      "properties": {key: inner}})
