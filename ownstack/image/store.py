"""PLACEHOLDER: the file store (being written)."""
from __future__ import annotations

from typing import Any


async def recover_interrupted_uploads(svc: Any) -> None:
    return None
