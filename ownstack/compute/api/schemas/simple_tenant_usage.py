"""The queries of ``os-simple-tenant-usage`` (2.75 refuses any other parameter)."""

from __future__ import annotations

from typing import Final

LIST_QUERY: Final = frozenset({"start", "end", "detailed", "limit", "marker"})
SHOW_QUERY: Final = frozenset({"start", "end", "limit", "marker"})
