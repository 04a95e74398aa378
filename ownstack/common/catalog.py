"""One entry of the service catalog, as the registry of roles describes a service and
identity's bootstrap writes it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogEntry:
    type: str
    name: str
    url: str
    description: str = ""
