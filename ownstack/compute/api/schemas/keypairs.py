"""Keypair import bodies, after Nova's ``schemas/keypairs.py``."""

from __future__ import annotations

from typing import Any, Final

from ownstack.common.api.microversion import Version, at_least
from ownstack.common.api.schema import ByVersion
from ownstack.compute.api.schemas.parameter_types import BASE_VERSION, SHORT_TEXT, wrapped


def _create(version: Version) -> dict[str, Any]:
    """2.2 adds ``type``, 2.10 ``user_id`` (an admin imports for another user), and from
    2.92 ``public_key`` is required (Nova generates no more keys)."""
    properties: dict[str, Any] = {"name": SHORT_TEXT, "public_key": {"type": "string"}}
    if at_least(version, "2.2"):
        properties["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if at_least(version, "2.10"):
        properties["user_id"] = SHORT_TEXT
    required = ["name", "public_key"] if at_least(version, "2.92") else ["name"]
    return wrapped("keypair", properties, required)


CREATE: Final = ByVersion(_create, "2.2", "2.10", "2.92", base=BASE_VERSION)
