"""The bodies of OS-OAUTH1: a consumer (Keystone keeps other attributes as ``extra``), and
the roles a user authorizes a request token with."""

from __future__ import annotations

from ownstack.common.api.schema import DESCRIPTION, ID, NAME, Validator
from ownstack.identity.api.schemas.common import entity_body

# Keystone makes the id and the secret; either in a create body is not kept.
CREATE_CONSUMER = entity_body("consumer", {"description": DESCRIPTION})

# The secret never changes: naming it is Keystone's 400.
UPDATE_CONSUMER = Validator({
    "type": "object", "required": ["consumer"], "additionalProperties": False,
    "properties": {"consumer": {"type": "object", "minProperties": 1,
                                "not": {"required": ["secret"]},
                                "properties": {"description": DESCRIPTION}}}})

_ROLE_REF = {"type": "object", "minProperties": 1, "maxProperties": 1,
             "additionalProperties": False, "properties": {"id": ID, "name": NAME}}

# Keystone takes an empty list (and a body without one); an access token without roles
# could never get a token, so at least one role is asked for, as the CLI always sends.
AUTHORIZE = Validator({
    "type": "object", "required": ["roles"], "additionalProperties": False,
    "properties": {"roles": {"type": "array", "minItems": 1, "items": _ROLE_REF}}})
