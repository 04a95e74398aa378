"""A request body is asked of jsonschema-rs first (``Validator._quick``): it never takes a
body jsonschema refuses, it takes the valid bodies of the writes, and a refused body gets
jsonschema's message, word for word."""

from __future__ import annotations

import importlib
import random
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from ownstack.common.api.schema import Validator, validators
from ownstack.common.errors import ValidationFailed
from ownstack.roles import CATALOG_SERVICES

UUID = "0b4f7a6e-5b3e-4a0c-9d1e-2f3a4b5c6d7e"
# Where Python's ``re`` and ECMA-262's (jsonschema-rs) read a string otherwise: Python's
# ``\s`` takes \x1c-\x1f and \x85 and not \ufeff, its ``$`` a last newline, its ``.`` a
# \r and \u2028, its ``\d`` and ``\w`` other scripts' digits and letters.
_TRICKY = ["\x1c", "\x85", "\ufeff", "a\n", "1\n", "a\rb", "a\u2028b", "\u0661\u0662",
           "\u00e9", " ", " x", "x ", "\t"]
_ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**40, 2**63, -(2**63) - 1,
                          2**64 + 1, "", "x", "1", "a" * 300, "True", "no", UUID,
                          UUID.replace("-", ""), "10.0.0.1", "010.0.0.1", "::1%eth0",
                          "2026-12-06T00:00:00Z", "[", [], [1], ["x"], {}, {"x": 1}, [{}],
                          *_TRICKY]
_KEYS = ["key", "x1", "Key-2", "quota_x", "CUSTOM_X", "VCPU", "resources1", UUID,
         UUID + "\n", "a" * 256, *_TRICKY]


def _every_validator() -> list[Validator]:
    for spec in CATALOG_SERVICES:
        importlib.import_module(f"ownstack.{spec.type}.app")
    return validators()


def _sample(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value shaped after ``schema``, right or wrong at random."""
    if not isinstance(schema, dict) or depth > 6 or rng.random() < 0.15:
        return rng.choice(_ODD_VALUES)
    if "enum" in schema and rng.random() < 0.7:
        return rng.choice(schema["enum"])
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema and rng.random() < 0.5:
            return _sample(rng.choice(schema[combined]), rng, depth + 1)
    kinds = schema.get("type", "object")
    kind = rng.choice(kinds) if isinstance(kinds, list) else kinds
    if "properties" in schema or kind == "object":
        value: dict[str, Any] = {}
        for name, sub in schema.get("properties", {}).items():
            if name in schema.get("required", ()) or rng.random() < 0.5:
                value[name] = _sample(sub, rng, depth + 1)
        for sub in schema.get("patternProperties", {}).values():
            if rng.random() < 0.6:
                value[rng.choice(_KEYS)] = _sample(sub, rng, depth + 1)
        if rng.random() < 0.1:
            value["unexpected"] = 1
        return value
    if kind == "array":
        return [_sample(schema.get("items", {}), rng, depth + 1)
                for _ in range(rng.randrange(3))]
    if kind == "string":
        return rng.choice(["", "x", "name", UUID, "a" * rng.choice([255, 256]),
                           "10.0.0.0/24", "fe80::1", "true", "12", *_TRICKY])
    if kind in ("integer", "number"):
        return rng.choice([0, 1, -1, 5, 65535, 65536, 1.5, 3.0, True, 2**31, 2**63 - 1,
                           2**63, -(2**63) - 1])
    if kind == "boolean":
        return rng.choice([True, False, 1])
    return None


def test_the_quick_validator_never_takes_what_jsonschema_refuses() -> None:
    rng = random.Random(105)
    taken = refused = 0
    for validator in _every_validator():
        assert validator._quick is not None, validator.schema
        full = Draft202012Validator(validator.schema, format_checker=FormatChecker())
        for _ in range(80):
            body = _sample(validator.schema, rng)
            if validator._quick.is_valid(body):
                taken += 1
                assert full.is_valid(body), (validator.schema, body)
            else:
                refused += 1
    assert taken > 3000 and refused > 3000      # both ways exercised


def test_a_refused_body_gets_jsonschemas_message_word_for_word() -> None:
    rng = random.Random(1050)
    compared = 0
    for validator in _every_validator():
        full = Draft202012Validator(validator.schema, format_checker=FormatChecker())
        for _ in range(20):
            body = _sample(validator.schema, rng)
            if full.is_valid(body):
                assert validator.validate(body) is body
                continue
            with pytest.raises(ValidationFailed) as quick_first:
                validator.validate(body)
            only = Validator.__new__(Validator)
            only.schema, only._validator, only._quick = validator.schema, full, None
            with pytest.raises(ValidationFailed) as jsonschema_only:
                only.validate(body)
            assert str(quick_first.value) == str(jsonschema_only.value)
            compared += 1
    assert compared > 1000


@pytest.mark.parametrize("schema, value, python_takes", [
    # Python's \s takes \x1c and \x85 (so \S refuses them); ECMA-262's does not.
    ({"type": "string", "pattern": r"\S"}, "\x1c", False),
    ({"type": "string", "pattern": r"^\S(?:.*\S)?$"}, "\x85", False),
    # ... and Python's $ takes a last newline, which ECMA-262's does not.
    ({"type": "string", "pattern": "^[0-9]+$"}, "12\n", True),
    # A key the two engines match otherwise: ECMA-262 would leave it unchecked.
    ({"type": "object", "patternProperties": {"^.{1,9}$": {"type": "integer"}}},
     {"a\rb": "x"}, False),
    ({"type": "object", "patternProperties": {"^[a-z]+$": {"type": "integer"}},
      "additionalProperties": False}, {"ab\n": 1}, True),
    # jsonschema's uuid takes only the dashed form.
    ({"type": "string", "format": "uuid"}, UUID.replace("-", ""), False),
    ({"type": "string", "format": "ipv4"}, "300.1.1.1", False),
    ({"type": "integer", "maximum": 2**63 - 1}, 2**63, False),
])
def test_jsonschemas_reading_stands(schema: dict[str, Any], value: Any,
                                    python_takes: bool) -> None:
    assert Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(
        value) is python_takes
    validator = Validator(schema)
    assert validator._quick is not None
    assert not validator._quick.is_valid(value) or python_takes
    if python_takes:
        assert validator.validate(value) is value
    else:
        with pytest.raises(ValidationFailed):
            validator.validate(value)


def test_unguarded_jsonschema_rs_would_take_what_jsonschema_refuses() -> None:
    # Why the pattern and key guards are there: each of these passes a plain
    # jsonschema-rs validator.
    for schema, value in [
            ({"type": "string", "pattern": r"\S"}, "\x1c"),
            ({"type": "object", "patternProperties": {"^.{1,9}$": {"type": "integer"}}},
             {"a\rb": "x"})]:
        assert jsonschema_rs.Draft202012Validator(schema, validate_formats=True).is_valid(value)
        assert not Validator(schema)._quick.is_valid(value)     # type: ignore[union-attr]


def test_a_schema_naming_a_property_patternproperties_gets_no_quick_validator() -> None:
    validator = Validator({"type": "object", "properties": {
        "patternProperties": {"type": "string"}}, "additionalProperties": False})
    assert validator._quick is None
    assert validator.validate({"patternProperties": "x"}) == {"patternProperties": "x"}


def test_a_valid_write_body_is_not_walked_by_jsonschema(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ownstack.compute.api.schemas import servers
    from ownstack.network.api.schemas import ports

    class Walked:
        def iter_errors(self, instance: Any) -> Any:
            raise AssertionError("jsonschema walked a valid body")
    boot = servers.CREATE.every_step()[0]
    for validator in (ports.CREATE, boot):
        monkeypatch.setattr(validator, "_validator", Walked())
    assert ports.CREATE.validate({"port": {"network_id": UUID, "name": "p",
                                           "fixed_ips": [{"subnet_id": UUID}]}})
    assert boot.validate({"server": {"name": "s", "imageRef": UUID, "flavorRef": "1",
                                     "metadata": {"role": "web"}, "networks": "none"}})
