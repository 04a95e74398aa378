"""The heap setting the server makes for large request bodies (glibc's, which Debian has)."""

from __future__ import annotations

from ownstack.common.heap import keep_heap_top


def test_glibc_takes_the_top_pad() -> None:
    assert keep_heap_top() is True
