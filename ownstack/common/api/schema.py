"""JSON-schema validation of request bodies, with Keystone-style messages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from ownstack.common.api.microversion import Version
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


class ByVersion:
    """One validator per microversion at which a body's schema changes, each compiled the
    first time a request needs it; a request gets the latest one at or below its version.

    ``build(step)`` makes the schema of ``step``, a :class:`Version` it may compare with
    ``at_least``; ``base`` is the service's first microversion, the first step.
    """

    def __init__(self, build: Callable[[Version], Schema], *changes: str,
                 base: Version) -> None:
        self._build = build
        self._steps = tuple(sorted({base, *(Version.parse(change) for change in changes)},
                                   reverse=True))
        self._compiled: dict[Version, Validator] = {}
        _VERSIONED.append(self)

    def __call__(self, version: Version) -> Validator:
        step = next((step for step in self._steps if version >= step), self._steps[-1])
        validator = self._compiled.get(step)
        if validator is None:
            validator = self._compiled[step] = Validator(self._build(step))
        return validator

    def every_step(self) -> list[Validator]:
        """The validator of each step (compiling those no request needed yet)."""
        return [self(step) for step in self._steps]


_ALL: list[Validator] = []
_VERSIONED: list[ByVersion] = []


def validators() -> list[Validator]:
    """Every validator of every module imported so far, each step of a
    :class:`ByVersion` included."""
    for versioned in list(_VERSIONED):
        versioned.every_step()
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
