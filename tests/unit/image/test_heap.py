"""The heap setting the image service makes for large request bodies."""

from __future__ import annotations

import platform

import pytest

from ownstack.image.heap import keep_heap_top


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt(M_TOP_PAD) is glibc's")
def test_glibc_takes_the_top_pad() -> None:
    assert keep_heap_top() is True
