"""Keypair bodies, field for field per microversion."""

from __future__ import annotations

from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects.models import KeyPair


def keypair_brief(version: Version, keypair: KeyPair) -> dict[str, Any]:
    view: dict[str, Any] = {"name": keypair.name, "public_key": keypair.public_key,
                            "fingerprint": keypair.fingerprint}
    if at_least(version, "2.2"):
        view["type"] = keypair.type
    return view


def keypair_created(version: Version, keypair: KeyPair) -> dict[str, Any]:
    return {**keypair_brief(version, keypair), "user_id": keypair.user_id}


def keypair_detail(version: Version, keypair: KeyPair) -> dict[str, Any]:
    # Nova's soft-delete columns, always empty for a key that can be shown.
    return {**keypair_created(version, keypair), "id": keypair.id,
            "created_at": nova_time(keypair.created_at), "updated_at": None,
            "deleted": False, "deleted_at": None}
