"""What image handlers share: the policy target of an image."""

from __future__ import annotations

from typing import Any

from ownstack.image.objects.models import Image


def image_target(image: Image) -> dict[str, Any]:
    """The policy target for rules about ``image`` (``%(target.image.owner)s``)."""
    return {"target.image.owner": image.owner, "target.image.id": image.id,
            "target.image.visibility": image.visibility}
