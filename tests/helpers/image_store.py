"""The image store seen from outside the server: the files under a cloud's state
directory, and the hashes Glance reports for a file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers.process import Cloud


def file_hashes(path: Path) -> tuple[str, str]:
    """(md5, sha512) of a file: Glance's ``checksum`` and ``os_hash_value``."""
    md5, sha512 = hashlib.md5(), hashlib.sha512()  # noqa: S324 - Glance's checksum is md5
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            md5.update(chunk)
            sha512.update(chunk)
    return md5.hexdigest(), sha512.hexdigest()


def store_files(cloud: Cloud) -> set[Path]:
    """Every file under the image store (default location: <state dir>/images)."""
    return {p for p in (cloud.state_dir / "images").rglob("*") if p.is_file()}
