"""Version discovery and extension bodies."""

from __future__ import annotations

from typing import Any

from ownstack.network.extensions import Extension


def versions(base: str) -> dict[str, Any]:
    return {"versions": [{"id": "v2.0", "status": "CURRENT",
                          "links": [{"href": f"{base}/v2.0/", "rel": "self"}]}]}


def resources(base: str, kinds: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {"resources": [{"name": name, "collection": collection,
                           "links": [{"href": f"{base}/v2.0/{collection}", "rel": "self"}]}
                          for name, collection in kinds]}


def extension(ext: Extension) -> dict[str, Any]:
    return {"alias": ext.alias, "name": ext.name, "description": ext.description,
            "updated": ext.updated, "links": []}
