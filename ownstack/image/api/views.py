"""The bodies of Image v2's answers: images, pages of images, members, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Row
from starlette.datastructures import QueryParams

from ownstack.common.api.pagination import next_link
from ownstack.image.objects.image_list import ImagePage
from ownstack.image.objects.models import Image, ImageMember


def isotime(moment: datetime | None) -> str | None:
    """Glance's timestamps: seconds precision, UTC, a trailing ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def image(row: Image | Row[Any], tags: list[str]) -> dict[str, Any]:
    """The image as Glance shows it: every core attribute (null when unset), then each
    extra property flattened at the top level. ``row`` is the entity or a plain row of its
    table's columns (a show's)."""
    view: dict[str, Any] = dict(row.properties or {})
    view.update({
        "id": row.id,
        "name": row.name,
        "status": row.status,
        "visibility": row.visibility,
        "protected": bool(row.protected),
        "os_hidden": bool(row.os_hidden),
        "owner": row.owner,
        "disk_format": row.disk_format,
        "container_format": row.container_format,
        "size": row.size,
        "virtual_size": row.virtual_size,
        "checksum": row.checksum,
        "os_hash_algo": row.os_hash_algo,
        "os_hash_value": row.os_hash_value,
        "min_disk": row.min_disk or 0,
        "min_ram": row.min_ram or 0,
        "tags": list(tags),
        "created_at": isotime(row.created_at),
        "updated_at": isotime(row.updated_at),
        "self": f"/v2/images/{row.id}",
        "file": f"/v2/images/{row.id}/file",
        "schema": "/v2/schemas/image",
    })
    return view


def images(page: ImagePage, query: QueryParams, page_size: int) -> dict[str, Any]:
    """A page of images, with Glance's ``first`` (the query without its marker) and, when
    more follow, ``next`` links."""
    kept = [(k, v) for k, v in query.multi_items() if k != "marker"]
    body: dict[str, Any] = {
        "images": [image(row, page.tags[row.id]) for row in page.images],
        "first": f"/v2/images?{urlencode(kept)}" if kept else "/v2/images",
        "schema": "/v2/schemas/images"}
    if page.more and page.images:
        body["next"] = next_link("/v2/images", query, page.images[-1].id, page_size)
    return body


def member(row: ImageMember) -> dict[str, Any]:
    return {"member_id": row.member_id, "image_id": row.image_id,
            "status": row.status, "created_at": isotime(row.created_at),
            "updated_at": isotime(row.updated_at), "schema": "/v2/schemas/member"}


def members(rows: list[ImageMember]) -> dict[str, Any]:
    return {"members": [member(row) for row in rows], "schema": "/v2/schemas/members"}


def versions(href: str, published: list[str]) -> dict[str, Any]:
    """Version discovery: every published version, newest first, the newest CURRENT."""
    return {"versions": [
        {"id": f"v{v}", "status": "CURRENT" if v == published[-1] else "SUPPORTED",
         "links": [{"rel": "self", "href": href}]}
        for v in reversed(published)]}
