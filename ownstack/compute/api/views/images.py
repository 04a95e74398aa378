"""Nova's image proxy bodies (``views/images.py``): a Glance image as compute shows it.

Glance's status becomes Nova's (``queued`` and ``saving`` are ``SAVING``, ``killed`` is
``ERROR``, ...) with a ``progress``; the image's extra properties are its ``metadata``;
an image made from a server (a snapshot, ``instance_uuid`` in its properties) links to
that server; ``auto_disk_config`` gives ``OS-DCF:diskConfig``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from ownstack.common.booleans import bool_from_string
from ownstack.common.clients.image import ImageInfo
from ownstack.compute.api.common import links
from ownstack.compute.state import Req

_STATUSES: Final = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING",
                    "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
_PROGRESS: Final = {"queued": 25, "saving": 50, "active": 100}
ALTERNATE_TYPE: Final = "application/vnd.openstack.image"


def image_links(req: Req, image_id: str) -> list[dict[str, str]]:
    """Self and bookmark in compute, and the alternate: the image in the image service."""
    config = req.svc.config
    return [*links(req, "images", image_id),
            {"rel": "alternate", "type": ALTERNATE_TYPE,
             "href": config.public_url(config.image.port, f"/images/{image_id}")}]


def basic(req: Req, image: ImageInfo) -> dict[str, Any]:
    """An item of ``GET /images``."""
    return {"id": image.id, "name": image.name, "links": image_links(req, image.id)}


def detail(req: Req, image: ImageInfo) -> dict[str, Any]:
    """``GET /images/{id}``, and an item of ``GET /images/detail``."""
    metadata = dict(image.properties)
    view: dict[str, Any] = {
        "id": image.id, "name": image.name,
        "minRam": image.min_ram, "minDisk": image.min_disk,
        "metadata": metadata,
        "created": _time(image.created_at), "updated": _time(image.updated_at),
        "status": _STATUSES.get(image.status, "UNKNOWN"),
        "progress": _PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size or 0,
        "links": image_links(req, image.id),
    }
    server = metadata.get("instance_uuid")
    if server is not None:
        view["server"] = {"id": server, "links": links(req, "servers", str(server))}
    disk_config = metadata.get("auto_disk_config")
    if disk_config is not None:
        view["OS-DCF:diskConfig"] = "AUTO" if bool_from_string(str(disk_config)) \
            else "MANUAL"
    return view


def _time(value: str | None) -> str | None:
    """Glance's time as Nova writes one (``2026-11-24T01:02:03Z``)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
