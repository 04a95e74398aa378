"""The quick check of a request body (``ownstack.common.api.quick_schema``) never passes a
body jsonschema refuses, passes the valid bodies of the network writes, and a refused
body still gets jsonschema's message."""

from __future__ import annotations

import importlib
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from ownstack.common.api.quick_schema import Unsupported, compile_check
from ownstack.common.api.schema import Validator, validators
from ownstack.common.errors import ValidationFailed
from ownstack.roles import CATALOG_SERVICES

UUID = "0b4f7a6e-5b3e-4a0c-9d1e-2f3a4b5c6d7e"


def _every_validator() -> list[Validator]:
    for spec in CATALOG_SERVICES:
        importlib.import_module(f"ownstack.{spec.type}.app")
    return validators()


_ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 1.5, 2**40, "", "x", "1",
                          "a" * 300, "True", "no", UUID, "10.0.0.1", "2026-12-06T00:00:00Z",
                          [], [1], ["x"], {}, {"x": 1}, [{}]]


def _sample(schema: Any, rng: random.Random, depth: int = 0) -> Any:
    """A value shaped after ``schema``, right or wrong at random."""
    if not isinstance(schema, dict) or depth > 6 or rng.random() < 0.15:
        return rng.choice(_ODD_VALUES)
    if "enum" in schema and rng.random() < 0.7:
        return rng.choice(schema["enum"])
    kinds = schema.get("type", "object")
    kind = rng.choice(kinds) if isinstance(kinds, list) else kinds
    if "properties" in schema or kind == "object":
        value: dict[str, Any] = {}
        for name, sub in schema.get("properties", {}).items():
            if name in schema.get("required", ()) or rng.random() < 0.5:
                value[name] = _sample(sub, rng, depth + 1)
        for sub in schema.get("patternProperties", {}).values():
            if rng.random() < 0.5:
                value[rng.choice(["key", "x1", "Key-2", "quota_x"])] = _sample(
                    sub, rng, depth + 1)
        if rng.random() < 0.1:
            value["unexpected"] = 1
        return value
    if kind == "array":
        return [_sample(schema.get("items", {}), rng, depth + 1)
                for _ in range(rng.randrange(3))]
    if kind == "string":
        return rng.choice(["", "x", "name", UUID, "a" * rng.choice([255, 256]),
                           "10.0.0.0/24", "fe80::1", "true"])
    if kind in ("integer", "number"):
        return rng.choice([0, 1, -1, 5, 65535, 65536, 1.5, 3.0, True])
    if kind == "boolean":
        return rng.choice([True, False, 1])
    return None


def test_the_quick_check_never_passes_what_jsonschema_refuses() -> None:
    rng = random.Random(89)
    quick_passed = 0
    for validator in _every_validator():
        if validator._quick is None:
            continue
        full = Draft202012Validator(validator.schema, format_checker=FormatChecker())
        for _ in range(60):
            body = _sample(validator.schema, rng)
            if validator._quick(body):
                quick_passed += 1
                assert full.is_valid(body), (validator.schema, body)
    assert quick_passed > 1000      # the check is exercised, not only refusing


def _message(validator: Validator, body: Any) -> str | None:
    try:
        validator.validate(body)
    except ValidationFailed as error:
        return str(error)
    return None


def test_every_refused_body_gets_the_message_jsonschema_alone_gives() -> None:
    rng = random.Random(8989)
    refused = 0
    for validator in _every_validator():
        if validator._quick is None:
            continue
        alone = Validator.__new__(Validator)
        alone.schema, alone._validator, alone._quick = (
            validator.schema, validator._validator, None)
        for _ in range(20):
            body = _sample(validator.schema, rng)
            message = _message(validator, body)
            assert message == _message(alone, body), (validator.schema, body)
            refused += message is not None
    assert refused > 500


def test_most_schemas_get_a_quick_check() -> None:
    found = _every_validator()
    assert sum(v._quick is not None for v in found) > len(found) * 3 // 4


@pytest.mark.parametrize("schema, value", [
    ({"type": "integer"}, True),                        # a bool is no integer
    ({"enum": [1, 2]}, True),                           # nor equal to 1
    ({"enum": [True]}, 1),
    ({"type": "string", "maxLength": 3}, "abcd"),
    ({"type": "string", "pattern": "^a"}, "ba"),
    ({"type": "object", "additionalProperties": False, "properties": {"a": {}}},
     {"a": 1, "b": 2}),
    ({"type": "object", "patternProperties": {"^x": {"type": "integer"}},
      "additionalProperties": False}, {"xa": "s"}),
    ({"type": "object", "required": ["a"]}, {"b": 1}),
    ({"type": "array", "items": {"type": "string"}, "maxItems": 2}, ["a", "b", "c"]),
    ({"type": "array", "items": {"type": "string"}}, ["a", 1]),
    ({"type": "number", "minimum": 1}, 0.5),
    ({"maximum": 3}, 4),
    ({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1),
    ({"type": "string", "format": "ipv4"}, "300.1.1.1"),
    ({"type": "object", "minProperties": 1}, {}),
])
def test_the_quick_check_refuses(schema: dict[str, Any], value: Any) -> None:
    assert not Draft202012Validator(schema, format_checker=FormatChecker()).is_valid(value)
    assert not compile_check(schema, FormatChecker())(value)


@pytest.mark.parametrize("schema", [{"oneOf": [{}]}, {"not": {}}, {"$ref": "#/x"},
                                    {"uniqueItems": True}, {"items": [{}]}])
def test_a_keyword_it_cannot_judge_leaves_the_schema_to_jsonschema(
        schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_check(schema, FormatChecker())


def test_a_float_integer_is_left_to_jsonschema_which_takes_it() -> None:
    validator = Validator({"type": "integer"})
    assert not validator._quick(3.0)      # type: ignore[misc]
    assert validator.validate(3.0) == 3.0


def test_network_write_bodies_pass_the_quick_check() -> None:
    from ownstack.network.api.schemas import networks, ports, routers, subnets
    assert ports.CREATE._quick is not None
    assert ports.CREATE._quick({"port": {"network_id": UUID, "name": "p",
                                         "fixed_ips": [{"subnet_id": UUID}]}})
    assert routers.CREATE._quick is not None
    assert routers.CREATE._quick({"router": {"name": "r", "admin_state_up": True}})
    assert networks.CREATE._quick is not None
    assert networks.CREATE._quick({"network": {"name": "n"}})
    assert subnets.CREATE._quick is not None
    assert subnets.CREATE._quick({"subnet": {"network_id": UUID, "ip_version": 4,
                                             "cidr": "10.0.0.0/24"}})


def test_a_refused_body_gets_jsonschemas_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from ownstack.network.api.schemas import ports
    bad = {"port": {"network_id": UUID, "name": "", "bogus": 1}}
    with pytest.raises(ValidationFailed) as quick_first:
        ports.CREATE.validate(bad)
    monkeypatch.setattr(ports.CREATE, "_quick", None)
    with pytest.raises(ValidationFailed) as jsonschema_only:
        ports.CREATE.validate(bad)
    assert str(quick_first.value) == str(jsonschema_only.value)
    assert "Additional properties are not allowed ('bogus' was unexpected)" in str(
        quick_first.value)
