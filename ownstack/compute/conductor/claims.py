"""What scheduling reads of an instance, and what it hands on once a host is claimed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ToPlace:
    """An instance as scheduling needs it (``build.TO_PLACE``), with its server group."""

    uuid: str
    project_id: str
    user_id: str
    flavor: dict[str, Any]
    image_meta: dict[str, Any]
    availability_zone: str | None
    attempts: list[str]
    vm_state: str
    task_state: str | None
    host: str | None
    group_uuid: str | None
    image_ref: str | None = None        # "": booted from volume (no DISK_GB for its root)
    # What the instance asked for at its create, which a build does not change: whether it
    # asked for networks, and whether it has volume mappings not attached yet. Unknown
    # (True) unless read with it (``build.TO_PLACE``): ``Builder.commit`` then reads them.
    networks_asked: bool = True
    volumes_pending: bool = True


@dataclass(frozen=True)
class Claimed:
    """A host claimed in Placement for an instance, for ``Builder.commit``."""

    row: ToPlace
    host: str
    node: str
    zone: str
    request_id: str | None
    started: float
