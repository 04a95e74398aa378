"""glibc's heap, kept from shrinking and growing again under large request bodies.

uvicorn hands a request body over in pieces of about 256 KB, each a new bytes object.
glibc gives the top of its heap back to the kernel as soon as a few hundred KB of it are
free, so with the default settings every piece lands on pages the kernel must map and
zero afresh: on the 2-core machine of ``bench/results/image.md`` receiving a 1 GiB
upload took 0.9-1.0 s of CPU that way, and 0.4 s with 4 MiB kept at the top of the heap
(``M_TOP_PAD``; 2 MiB was enough). That is a process-wide setting: the server sets it
once for the process (``ownstack/server.py``), and every service in it gets it; memory
stays flat, at most 4 MiB higher.
"""

from __future__ import annotations

import ctypes

M_TOP_PAD = -2              # glibc's <malloc.h>
HEAP_TOP_PAD = 4 << 20


def keep_heap_top() -> bool:
    """Ask the C library to keep :data:`HEAP_TOP_PAD` bytes free at the top of its heap;
    False where it cannot (a C library without ``mallopt``, or one that refuses)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TOP_PAD, HEAP_TOP_PAD))
