"""A flavor's extra specs, after Nova's ``schemas/flavors_extraspecs.py``.

Values are checked against the registry of known keys by the handler (from 2.86,
:mod:`ownstack.compute.api.schemas.extra_specs_registry`), not here.
"""

from __future__ import annotations

from typing import Final

from ownstack.common.api.schema import Validator

_KEY: Final = r"^[a-zA-Z0-9-_:. ]{1,255}$"
_VALUE: Final = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}

CREATE: Final = Validator({
    "type": "object", "required": ["extra_specs"], "additionalProperties": False,
    "properties": {"extra_specs": {"type": "object", "additionalProperties": False,
                                   "patternProperties": {_KEY: _VALUE}}}})
UPDATE: Final = Validator({
    "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
    "patternProperties": {_KEY: _VALUE}})
