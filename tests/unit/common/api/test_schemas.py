"""Every request schema of every service is a valid JSON Schema.

Validators skip the meta-schema check when they are made (it costs ``ownstack up`` half a
second), so this test makes it for all of them, as the app factories import them.
"""

from __future__ import annotations

import importlib

import pytest
from jsonschema.exceptions import SchemaError

from ownstack.common.api.schema import Validator, check_schema, validators
from ownstack.roles import CATALOG_SERVICES


def _every_validator() -> list[Validator]:
    for spec in CATALOG_SERVICES:
        importlib.import_module(f"ownstack.{spec.type}.app")
    return validators()


def test_every_service_schema_is_a_valid_json_schema() -> None:
    found = _every_validator()
    assert len(found) > 50                  # every service's schemas, not a handful
    for validator in found:
        check_schema(validator.schema)


def test_a_broken_schema_is_caught() -> None:
    with pytest.raises(SchemaError):
        check_schema({"type": "no-such-type"})
