"""A patch applied to an image, as Glance applies one: ``add``, ``replace`` and ``remove``
of core attributes, extra properties and the tag list.

Removing a core attribute is 403; replacing or removing an extra property that does not
exist is 409, and so is adding one that exists under the v2.0 patch format (draft 4);
the formats can change only while the image is ``queued``. What a patch asks is parsed
and checked against the schema in ``api/image_requests.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.errors import Conflict, Forbidden
from ownstack.image.errors import QuotaExceeded
from ownstack.image.objects.images import (
    MAX_PROPERTIES,
    MAX_TAGS,
    load_tags,
    replace_tags,
    save_image,
)
from ownstack.image.objects.models import Image

# The core attributes a client may set; every other core attribute is read-only.
WRITABLE = ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
            "container_format", "min_disk", "min_ram", "tags")


def check_limits(properties: dict[str, Any], tags: list[str]) -> None:
    if len(properties) > MAX_PROPERTIES:
        raise QuotaExceeded(f"Maximum number of image properties ({MAX_PROPERTIES}) "
                            "exceeded.")
    if len(tags) > MAX_TAGS:
        raise QuotaExceeded(f"Maximum number of tags ({MAX_TAGS}) exceeded.")


@dataclass(frozen=True)
class Change:
    """One patch operation on one attribute (``path`` is the decoded top-level name)."""

    op: str
    path: str
    value: Any = None


@dataclass
class EditableImage:
    """The writable state of an image while a patch applies to it."""

    image: Image
    original_tags: list[str]
    core: dict[str, Any]
    properties: dict[str, str]
    tags: list[str]
    changed_core: set[str] = field(default_factory=set)
    touched: bool = False

    @classmethod
    async def load(cls, db: AsyncSession, image: Image) -> EditableImage:
        tags = await load_tags(db, image.id)
        core = {name: getattr(image, name) for name in WRITABLE if name != "tags"}
        return cls(image, tags, core, dict(image.properties or {}), list(tags))

    def apply(self, change: Change, draft: int) -> None:
        name = change.path
        self.touched = True
        if change.op == "remove":
            if name in WRITABLE:
                raise Forbidden(f"Property {name} may not be removed.")
            if name not in self.properties:
                raise Conflict(f"Property {name} does not exist.")
            del self.properties[name]
            return
        present = name in WRITABLE or name in self.properties
        if change.op == "add" and draft == 4 and present:
            raise Conflict(f"Property {name} already present.")
        if change.op == "replace" and not present:
            raise Conflict(f"Property {name} does not exist.")
        if name == "tags":
            self.tags = list(dict.fromkeys(change.value))
        elif name in WRITABLE:
            self._set_core(name, change.value)
        else:
            self.properties[name] = change.value

    async def save(self, db: AsyncSession) -> None:
        """Write what the patch changed (413 past the quotas), with the image's generation
        bumped; nothing when the patch had no operations."""
        check_limits(self.properties, self.tags)
        if not self.touched:
            return
        image = self.image
        values = {name: self.core[name] for name in self.changed_core}
        if self.properties != image.properties:
            values["properties"] = self.properties
        await save_image(db, image, values)
        if self.tags != self.original_tags:
            await replace_tags(db, image.id, self.tags)

    def _set_core(self, name: str, value: Any) -> None:
        if name in ("disk_format", "container_format") and self.image.status != "queued":
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        self.core[name] = value
        self.changed_core.add(name)
