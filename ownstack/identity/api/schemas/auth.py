"""The body of ``POST /v3/auth/tokens``: the methods, their credentials and the scope."""

from __future__ import annotations

from ownstack.common.api.schema import Validator

_STR = {"type": "string", "maxLength": 4096}
_DOMAIN_REF = {"type": "object", "properties": {"id": _STR, "name": _STR}}
_USER_REF = {"type": "object", "properties": {
    "id": _STR, "name": _STR, "password": {"type": "string", "maxLength": 4096},
    "domain": _DOMAIN_REF}}

AUTH = Validator({
    "type": "object", "required": ["auth"],
    "properties": {"auth": {"type": "object", "required": ["identity"], "properties": {
        "identity": {"type": "object", "required": ["methods"], "properties": {
            "methods": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "password": {"type": "object", "required": ["user"],
                         "properties": {"user": _USER_REF}},
            "token": {"type": "object", "required": ["id"], "properties": {"id": _STR}},
            # OS-OAUTH1: the request's signature is the credential; the body says nothing.
            "oauth1": {"type": "object"},
            "application_credential": {"type": "object", "required": ["secret"],
                                       "properties": {"id": _STR, "name": _STR,
                                                      "secret": _STR, "user": _USER_REF}},
        }},
        "scope": {"oneOf": [
            {"type": "string", "enum": ["unscoped"]},
            {"type": "object", "maxProperties": 1, "properties": {
                "project": {"type": "object", "properties": {
                    "id": _STR, "name": _STR, "domain": _DOMAIN_REF}},
                "domain": _DOMAIN_REF,
                "system": {"type": "object", "required": ["all"],
                           "properties": {"all": {"type": "boolean"}}},
                "OS-TRUST:trust": {"type": "object"},
            }},
        ]},
    }}},
})
