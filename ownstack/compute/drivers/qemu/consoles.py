"""A QEMU guest's consoles on its host: the console log and the console sockets.

QEMU copies all the guest writes to its first serial port into ``console.log``, appending
(``logappend=on`` opens it ``O_APPEND``); :func:`trim` keeps the file under the driver's
cap. The screen (VNC) and the serial port listen on Unix sockets in the runtime directory,
named on the guest's command line; a guest started before its driver gave guests consoles
has none until it is rebuilt (:func:`socket_path`).
"""

from __future__ import annotations

from pathlib import Path

from ownstack.compute.drivers.base import ConsoleKind
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe, opt


def trim(files: GuestFiles, max_bytes: int) -> None:
    """Keep the console log under ``max_bytes``: the newest half of it stays. Blocking.

    QEMU appends (``append=on`` opens it ``O_APPEND``), so its next write lands at the
    new end after the rewrite.
    """
    try:
        if files.console.stat().st_size <= max_bytes:
            return
        with files.console.open("r+b") as f:
            keep = max_bytes // 2
            f.seek(-keep, 2)
            tail = f.read()
            f.seek(0)
            f.write(tail)
            f.truncate(len(tail))
    except OSError:
        return


def read(files: GuestFiles, cap: int, max_bytes: int | None) -> str:
    """The console log (trimmed to ``cap`` first), its last ``max_bytes`` if given.
    Blocking (up to ``cap`` bytes of file): run in a thread."""
    trim(files, cap)
    try:
        with files.console.open("rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - max_bytes) if max_bytes is not None else 0)
            data = f.read()
    except FileNotFoundError:
        data = b""
    return data.decode(errors="replace")


def socket_path(files: GuestFiles, kind: ConsoleKind, recipe: Recipe | None) -> str | None:
    """Where the guest's ``kind`` console listens, if its command line made one (a guest
    adopted from before consoles has none until it is rebuilt)."""
    path: Path = files.vnc if kind is ConsoleKind.VNC else files.serial
    if recipe is None or not any(opt(path) in arg for arg in recipe.argv):
        return None
    return str(path)
