"""Network namespaces for tests that touch kernel objects: each test makes its own, with a
unique name, and removes it (and every link in it) at teardown, even on failure. Nothing is
ever made in the real host namespace."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PREFIX = "ostest-"


@contextmanager
def namespace() -> Iterator[str]:
    """A fresh, empty network namespace; its name."""
    name = PREFIX + uuid.uuid4().hex[:10]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def ip(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``ip`` inside the namespace ``name``."""
    return subprocess.run(["ip", "-n", name, *args], check=check, capture_output=True,
                          text=True)


def links(name: str) -> dict[str, dict[str, object]]:
    """Every link of the namespace, by name, as ``ip -d -j link`` reports it."""
    import json

    return {link["ifname"]: link for link in json.loads(ip(name, "-d", "-j", "link").stdout)}
