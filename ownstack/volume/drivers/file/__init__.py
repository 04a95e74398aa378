"""The ``file`` volume driver: each volume a qcow2 (or raw) file under the volumes
directory, made, copied, grown and converted with ``qemu-img``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ownstack.volume.drivers.file.driver import FileVolumeDriver

__all__ = ["FileVolumeDriver", "from_config"]


def from_config(host: str, state_dir: Path, options: Mapping[str, Any]) -> FileVolumeDriver:
    directory = Path(options.get("volumes_dir") or state_dir / "volumes")
    return FileVolumeDriver(directory / host, volume_format=str(options.get(
        "volume_format") or "qcow2"), copy_timeout=float(options.get("copy_timeout") or 3600))
