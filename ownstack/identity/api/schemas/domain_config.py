"""The body of ``PUT`` and ``PATCH /v3/domains/{domain_id}/config[/{group}[/{option}]]``.

Keystone checks groups and options itself (a 403 for one it does not support), so the
schema asks only for an object under ``config``; the values are any JSON.
"""

from __future__ import annotations

from ownstack.common.api.schema import Validator

CONFIG = Validator({"type": "object", "required": ["config"], "additionalProperties": False,
                    "properties": {"config": {"type": "object"}}})
