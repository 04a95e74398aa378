"""The queries of ``os-hypervisors`` (2.75 refuses any other parameter)."""

from __future__ import annotations

from typing import Final

LIST_QUERY: Final = frozenset({"limit", "marker", "hypervisor_hostname_pattern",
                               "with_servers"})
SHOW_QUERY: Final = frozenset({"with_servers"})
