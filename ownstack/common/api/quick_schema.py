"""A quick yes-or-no check of a request body against a JSON schema, for the valid body.

Every service validates every write's body (:class:`ownstack.common.api.schema.Validator`),
and jsonschema's ``iter_errors`` walks a valid body through its generic machinery (a
``descend`` per keyword and value, the type checker's registry, the error generators) at
about 15-25 us for a port or router create. :func:`compile_check` turns a schema into
nested closures that answer only "valid" with the keywords' rules of Draft 2020-12, a
few microseconds for the same bodies. It is sound one way only: it may say "invalid" of a
body jsonschema accepts (then jsonschema is asked, and its answer stands), never "valid"
of a body jsonschema refuses; so a bad body still gets jsonschema's errors, and the same
400 message. A schema with a keyword not handled here (``$ref``, ``uniqueItems``, ``oneOf``,
``not``, ...) gets no quick check at all.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

from jsonschema import FormatChecker

Check = Callable[[Any], bool]

# Keywords that assert nothing (annotations): left out of the check.
_ANNOTATIONS = frozenset({"description", "title", "default", "readOnly", "writeOnly",
                          "examples", "deprecated", "$comment", "$schema"})
_HANDLED = frozenset({"type", "properties", "required", "additionalProperties",
                      "patternProperties", "minProperties", "maxProperties", "minLength",
                      "maxLength", "pattern", "format", "enum", "minimum", "maximum",
                      "items", "minItems", "maxItems", "anyOf", "allOf"})


class Unsupported(Exception):
    """The schema uses a keyword or form the quick check does not handle."""


_TYPES: dict[str, Check] = {
    "null": lambda value: value is None,
    "boolean": lambda value: type(value) is bool,
    # A float with an integral value is an "integer" to jsonschema too, and a Decimal a
    # "number": refusing them here only sends them to jsonschema.
    "integer": lambda value: type(value) is int,
    "number": lambda value: type(value) is int or type(value) is float,
    "string": lambda value: type(value) is str,
    "array": lambda value: type(value) is list,
    "object": lambda value: type(value) is dict,
}


def _tag(value: Any) -> tuple[str, Any] | None:
    """``value`` as jsonschema's ``equal`` compares scalars (a bool is no number), or
    None for a container (left to jsonschema)."""
    kind = type(value)
    if kind is str:
        return ("s", value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is float:
        return ("n", value)
    if value is None:
        return ("z", None)
    return None


def compile_check(schema: Any, format_checker: FormatChecker | None) -> Check:
    """A check of ``schema``; raise :class:`Unsupported` if it cannot be made."""
    if schema is True:
        return lambda value: True
    if schema is False:
        return lambda value: False
    if not isinstance(schema, Mapping):
        raise Unsupported(repr(schema))
    unknown = set(schema) - _HANDLED - _ANNOTATIONS
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    checks: list[Check] = []

    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if any(name not in _TYPES for name in names):
            raise Unsupported(f"type {kinds!r}")
        tests = tuple(_TYPES[name] for name in names)
        if len(tests) == 1:
            checks.append(tests[0])
        else:
            checks.append(lambda value: any(test(value) for test in tests))

    if "enum" in schema:
        allowed = set()
        for each in schema["enum"]:
            tag = _tag(each)
            if tag is not None:  # a container member can only match a container,
                allowed.add(tag)  # which the check leaves to jsonschema
        checks.append(lambda value: _tag(value) in allowed)

    checks.extend(_string_checks(schema, format_checker))
    checks.extend(_number_checks(schema))
    checks.extend(_array_checks(schema, format_checker))
    checks.extend(_object_checks(schema, format_checker))
    checks.extend(_combinators(schema, format_checker))

    if not checks:
        return lambda value: True
    if len(checks) == 1:
        return checks[0]
    every = tuple(checks)
    return lambda value: all(check(value) for check in every)


def _string_checks(schema: Mapping[str, Any],
                   format_checker: FormatChecker | None) -> list[Check]:
    checks: list[Check] = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if low is not None or high is not None:
        lo = 0 if low is None else low
        hi = math.inf if high is None else high
        checks.append(lambda value: lo <= len(value) <= hi if type(value) is str
                      else not isinstance(value, str))
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda value: search(value) is not None if type(value) is str
                      else not isinstance(value, str))
    if "format" in schema and format_checker is not None:
        conforms, name = format_checker.conforms, schema["format"]
        checks.append(lambda value: conforms(value, name))
    return checks


def _plain_number(value: Any) -> bool | None:
    """True for an int or float, False for what jsonschema takes as no number (a bool,
    a non-number), None for another kind of number (left to jsonschema)."""
    kind = type(value)
    if kind is int or kind is float:
        return True
    if kind is bool or not isinstance(value, numbers.Number):
        return False
    return None


def _number_checks(schema: Mapping[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if "minimum" in schema:
        low = schema["minimum"]

        def at_least(value: Any) -> bool:
            plain = _plain_number(value)
            return value >= low if plain else plain is False

        checks.append(at_least)
    if "maximum" in schema:
        high = schema["maximum"]

        def at_most(value: Any) -> bool:
            plain = _plain_number(value)
            return value <= high if plain else plain is False

        checks.append(at_most)
    return checks


def _array_checks(schema: Mapping[str, Any],
                  format_checker: FormatChecker | None) -> list[Check]:
    checks: list[Check] = []
    low, high = schema.get("minItems"), schema.get("maxItems")
    if low is not None or high is not None:
        lo = 0 if low is None else low
        hi = math.inf if high is None else high
        checks.append(lambda value: lo <= len(value) <= hi if type(value) is list
                      else not isinstance(value, list))
    if "items" in schema:
        if not isinstance(schema["items"], (Mapping, bool)):
            raise Unsupported("items as a list")
        item = compile_check(schema["items"], format_checker)
        checks.append(lambda value: all(map(item, value)) if type(value) is list
                      else not isinstance(value, list))
    return checks


def _object_checks(schema: Mapping[str, Any],
                   format_checker: FormatChecker | None) -> list[Check]:
    checks: list[Check] = []
    low, high = schema.get("minProperties"), schema.get("maxProperties")
    if low is not None or high is not None:
        lo = 0 if low is None else low
        hi = math.inf if high is None else high
        checks.append(lambda value: lo <= len(value) <= hi if type(value) is dict
                      else not isinstance(value, dict))
    required = tuple(schema.get("required", ()))
    if required:
        checks.append(lambda value: all(name in value for name in required)
                      if type(value) is dict else not isinstance(value, dict))
    properties = {name: compile_check(sub, format_checker)
                  for name, sub in schema.get("properties", {}).items()}
    patterns = [(re.compile(pattern).search, compile_check(sub, format_checker))
                for pattern, sub in schema.get("patternProperties", {}).items()]
    extra_schema = schema.get("additionalProperties", True)
    extra = None if extra_schema is True else compile_check(extra_schema, format_checker)
    if not properties and not patterns and extra is None:
        return checks

    def members(value: Any) -> bool:
        if type(value) is not dict:
            return not isinstance(value, dict)
        for name, member in value.items():
            if type(name) is not str:
                return False
            known = properties.get(name)
            if known is not None and not known(member):
                return False
            matched = False
            for search, check in patterns:
                if search(name) is not None:
                    matched = True
                    if not check(member):
                        return False
            if known is None and not matched and extra is not None and not extra(member):
                return False
        return True

    checks.append(members)
    return checks


def _combinators(schema: Mapping[str, Any],
                 format_checker: FormatChecker | None) -> list[Check]:
    checks: list[Check] = []
    if "allOf" in schema:
        every = tuple(compile_check(sub, format_checker) for sub in schema["allOf"])
        checks.append(lambda value: all(check(value) for check in every))
    if "anyOf" in schema:
        # A check may say "invalid" of a valid value, never the reverse: "some" stays
        # sound that way. "oneOf" and "not" would not ("exactly one", an inversion).
        some = tuple(compile_check(sub, format_checker) for sub in schema["anyOf"])
        checks.append(lambda value: any(check(value) for check in some))
    return checks
