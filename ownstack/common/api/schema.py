"""JSON-schema validation of request bodies, with Keystone-style messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from ownstack.common.errors import ValidationFailed

Schema = Mapping[str, Any]


class Validator:
    """A compiled schema. Made once at import time, used on every request.

    The schema itself is checked against the JSON Schema meta-schema by a unit test over
    every validator (:func:`validators`), not here: checking the hundred schemas of the
    services at each start costs about half a second of ``ownstack up``.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._validator = Draft202012Validator(schema, format_checker=FormatChecker())
        _ALL.append(self)

    def validate(self, data: Any) -> Any:
        error = next(iter(sorted(self._validator.iter_errors(data), key=_depth)), None)
        if error is not None:
            raise ValidationFailed(_describe(error))
        return data


_ALL: list[Validator] = []


def validators() -> list[Validator]:
    """Every validator made so far (those of every module imported)."""
    return list(_ALL)


def check_schema(schema: Schema) -> None:
    """Raise :class:`jsonschema.SchemaError` unless ``schema`` is a valid JSON Schema."""
    Draft202012Validator.check_schema(schema)


def _depth(error: ValidationError) -> int:
    return -len(error.absolute_path)


def _describe(error: ValidationError) -> str:
    field = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        return f"Invalid input for field '{field or 'body'}': {error.message}"
    if error.validator == "required":
        return f"Invalid input for field '{field or 'body'}': {error.message}"
    if field:
        return f"Invalid input for field '{field}': {error.message}"
    return f"Invalid input: {error.message}"


# Reusable fragments.
NAME = {"type": "string", "minLength": 1, "maxLength": 255}
OPTIONAL_STRING = {"type": ["string", "null"]}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 65535}
BOOLEAN = {"type": "boolean"}
# Nova's ``parameter_types.boolean``: a JSON boolean or one of these spellings.
FLEXIBLE_BOOLEAN = {"type": ["boolean", "string"], "enum": [
    True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"]}
ID = {"type": "string", "minLength": 1, "maxLength": 64}
NULLABLE_ID = {"type": ["string", "null"], "minLength": 1, "maxLength": 64}
