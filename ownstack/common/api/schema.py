"""JSON-schema validation of request bodies, with Keystone-style messages.

A body is first asked of jsonschema-rs (compiled, about a hundredth of jsonschema's time)
and only a body it refuses is walked by jsonschema, whose first error makes the message;
a body jsonschema-rs refuses and jsonschema takes is taken, so jsonschema's answer is the
one that stands. For that, jsonschema-rs must never take a body jsonschema refuses: where
the two differ it is told to read the schema as jsonschema does (:func:`_quick_validator`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import jsonschema_rs
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
        self._validator = Draft202012Validator(schema, format_checker=_FORMATS)
        self._quick = _quick_validator(schema)
        _ALL.append(self)

    def validate(self, data: Any) -> Any:
        if self._quick is not None:
            try:
                if self._quick.is_valid(data):
                    return data
            except Exception:  # noqa: S110 - a value it cannot read: jsonschema judges
                pass
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


_FORMATS: Final = FormatChecker()
# The keywords whose value is a schema, a map of names to schemas or a list of schemas:
# where :func:`_guarded` looks for ``patternProperties``.
_ONE_SCHEMA: Final = frozenset({
    "additionalProperties", "items", "contains", "not", "if", "then", "else",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "additionalItems"})
_SCHEMA_MAPS: Final = frozenset({
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_LISTS: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
_SAME_KEYS: Final = "ownstack:same-keys"


def _quick_validator(schema: Schema) -> jsonschema_rs.Validator | None:
    """A jsonschema-rs validator of ``schema`` that takes no body jsonschema (Draft
    2020-12, :data:`_FORMATS`) refuses, or None when ``schema`` cannot be given one.

    The two differ in their regular expressions (jsonschema-rs reads ECMA-262's: ``\\s``
    is not Python's, nor ``.``, ``$`` or ``\\d``) and in the formats each checks. So
    ``pattern`` is Python's ``re.search`` (:class:`_PythonPattern`), every format
    jsonschema checks is checked by the same function, and an object of a schema with
    ``patternProperties`` is refused (so left to jsonschema) when a key of it is matched
    otherwise by the two engines (:class:`_SameKeys`), which is then all that
    ``patternProperties`` and ``additionalProperties`` could read differently.
    """
    guarded, count = _guarded(schema)
    if count != _count_key(schema, "patternProperties"):
        return None     # a patternProperties where no guard went: not judged twice
    return jsonschema_rs.Draft202012Validator(
        guarded, validate_formats=True, formats=_PYTHON_FORMATS,
        keywords={"pattern": _PythonPattern, _SAME_KEYS: _SameKeys})


def _conforms(name: str) -> Callable[[Any], bool]:
    def conforms(value: Any) -> bool:
        return _FORMATS.conforms(value, name)
    return conforms


_PYTHON_FORMATS: Final = {name: _conforms(name) for name in _FORMATS.checkers}


class _PythonPattern:
    """``pattern`` as jsonschema reads it: Python's ``re.search`` on a string."""

    def __init__(self, parent_schema: dict[str, Any], value: str,
                 schema_path: list[str | int]) -> None:
        self._search = re.compile(value).search

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self._search(instance) is None:
            raise ValueError("no match")


class _SameKeys:
    """Beside each ``patternProperties``: every key of the object is matched alike by
    Python's ``re`` and jsonschema-rs's engine, by each pattern and (as jsonschema's
    ``additionalProperties`` reads them) by their alternation."""

    def __init__(self, parent_schema: dict[str, Any], value: Any,
                 schema_path: list[str | int]) -> None:
        patterns = list(parent_schema["patternProperties"])
        self._pairs = [(re.compile(pattern).search,
                        jsonschema_rs.Draft202012Validator({"pattern": pattern}).is_valid)
                       for pattern in patterns]
        self._joined = re.compile("|".join(patterns)).search

    def validate(self, instance: Any) -> None:
        if not isinstance(instance, dict):
            return
        for key in instance:
            anywhere = False
            for python, engine in self._pairs:
                found = python(key) is not None
                if found != engine(key):
                    raise ValueError(f"{key!r} is read otherwise by jsonschema")
                anywhere = anywhere or found
            if anywhere != (self._joined(key) is not None):
                raise ValueError(f"{key!r} is read otherwise by jsonschema")


def _guarded(schema: Any) -> tuple[Any, int]:
    """``schema`` with :data:`_SAME_KEYS` beside each ``patternProperties`` found at a
    schema's place, and how many."""
    if not isinstance(schema, dict):
        return schema, 0
    out: dict[str, Any] = {}
    count = 0
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {}
            for name, sub in value.items():
                out[key][name], found = _guarded(sub)
                count += found
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = []
            for sub in value:
                guarded, found = _guarded(sub)
                out[key].append(guarded)
                count += found
        elif key in _ONE_SCHEMA:
            out[key], found = _guarded(value)
            count += found
        else:
            out[key] = value
    if "patternProperties" in schema:
        out[_SAME_KEYS] = True
        count += 1
    return out, count


def _count_key(document: Any, key: str) -> int:
    """How many mappings anywhere in ``document`` hold ``key``."""
    if isinstance(document, dict):
        return (key in document) + sum(_count_key(value, key) for value in document.values())
    if isinstance(document, list):
        return sum(_count_key(value, key) for value in document)
    return 0


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
