"""The config drive: an ISO9660 image labelled ``config-2`` holding the metadata files.

cloud-init (and cloudbase-init) find it by its label and read it through Rock Ridge on
Linux and the BSDs, and through Joliet on Windows, so both carry the files' real names.
The plain ISO9660 names underneath are what a reader with neither extension sees; they
are generated here as strict 8.3 names (``META_DAT.JSO;1``, d-characters only, unique per
directory), valid at every interchange level.

Built with pycdlib, in the same shape as Nova's ``genisoimage -J -r -V config-2`` call
(``nova/virt/configdrive.py``): Rock Ridge 1.09, Joliet level 3, interchange level 4 (no
directory depth limit, so any tree is written without Rock Ridge relocation).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pycdlib

__all__ = ["VOLUME_LABEL", "write_config_drive"]

VOLUME_LABEL = "config-2"
APPLICATION_ID = "ownstack config drive"

_ISO_NAME_LIMIT = 8           # ISO9660 level 1: 8 d-characters, and 3 for an extension
_ISO_EXT_LIMIT = 3
_JOLIET_NAME_LIMIT = 64       # UCS-2 characters; pycdlib counts UTF-8 bytes, so do we
_RR_NAME_LIMIT = 255          # bytes: NAME_MAX of every reader
_NOT_D_CHARACTERS = re.compile(r"[^A-Z0-9_]")
_NOT_JOLIET = re.compile(r"[\x00-\x1f*/:;?\\]")


@dataclass
class _Dir:
    iso: str                  # absolute ISO9660 path of this directory, "" for the root
    joliet: str               # absolute Joliet path, "" for the root
    children: dict[str, _Dir] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    iso_taken: set[str] = field(default_factory=set)
    joliet_taken: set[str] = field(default_factory=set)


def write_config_drive(path: Path, files: Mapping[str, bytes]) -> int:
    """Write an ISO9660 image with Rock Ridge and Joliet (long names as given), labelled
    config-2; return its size. Writes to a temp name beside `path` and renames, so a crash
    never leaves a half ISO under `path`. Blocking: the driver calls it in a thread.

    ``files`` maps relative '/'-separated paths to contents; directories are implied. A
    path that is empty, absolute, has an empty, ``.`` or ``..`` component, contains NUL,
    has a component over 255 bytes, or is both a file and a directory raises
    :class:`ValueError` before anything is written.
    """
    root = _tree(files)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, vol_ident=VOLUME_LABEL, app_ident_str=APPLICATION_ID,
            joliet=3, rock_ridge="1.09")
    try:
        _add(iso, root)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                iso.write_fp(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
    finally:
        iso.close()
    return path.stat().st_size


def _components(path: str) -> list[str]:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"config drive path {path!r} is not a relative '/'-separated path")
    for part in parts:
        if "\x00" in part or len(part.encode("utf-8")) > _RR_NAME_LIMIT:
            raise ValueError(f"config drive path {path!r} has an invalid name {part!r}")
    return parts


def _tree(files: Mapping[str, bytes]) -> _Dir:
    root = _Dir("", "")
    for path in sorted(files):
        *dirs, name = _components(path)
        node = root
        for part in dirs:
            if part in node.files:
                raise ValueError(f"config drive path {path!r}: {part!r} is a file")
            node = node.children.setdefault(part, _Dir("", ""))
        if name in node.children:
            raise ValueError(f"config drive path {path!r} is also a directory")
        node.files[name] = files[path]
    return root


def _add(iso: pycdlib.PyCdlib, node: _Dir) -> None:
    """Add ``node``'s files and subdirectories, depth first, in sorted order."""
    for name in sorted(node.files):
        stem, ext = _split(name)
        iso_ext = _d_characters(ext)[:_ISO_EXT_LIMIT]
        iso_stem = _unique(node.iso_taken, _d_characters(stem), iso_ext)
        data = node.files[name]
        iso.add_fp(io.BytesIO(data), len(data), f"{node.iso}/{iso_stem}.{iso_ext};1",
                   rr_name=name, joliet_path=f"{node.joliet}/{_joliet_name(node, name)}")
    for name in sorted(node.children):
        child = node.children[name]
        child.iso = f"{node.iso}/{_unique(node.iso_taken, _d_characters(name), '')}"
        child.joliet = f"{node.joliet}/{_joliet_name(node, name)}"
        iso.add_directory(child.iso, rr_name=name, joliet_path=child.joliet)
        _add(iso, child)


def _split(name: str) -> tuple[str, str]:
    """Name and extension at the last dot; a leading dot starts no extension."""
    stem, dot, ext = name.rpartition(".")
    return (stem, ext) if dot and stem else (name, "")


def _d_characters(text: str) -> str:
    return _NOT_D_CHARACTERS.sub("_", text.upper())


def _unique(taken: set[str], stem: str, ext: str) -> str:
    """A stem of at most 8 d-characters whose ``STEM.EXT`` is not in ``taken`` yet.

    Files and directories share ``taken``: a reader without Rock Ridge drops the dot of
    an empty extension, so a file ``FOO.;1`` and a directory ``FOO`` would collide.
    """
    base = stem[:_ISO_NAME_LIMIT] or "_"
    candidate, number = base, 0
    while f"{candidate}.{ext}".rstrip(".") in taken:
        number += 1
        suffix = f"_{number}"
        candidate = base[:_ISO_NAME_LIMIT - len(suffix)] + suffix
    taken.add(f"{candidate}.{ext}".rstrip("."))
    return candidate


def _joliet_name(node: _Dir, name: str) -> str:
    """``name`` within Joliet's rules: no control characters or ``*/:;?\\``, BMP only, at
    most 64 units, and unique ignoring case (Windows reads it case-insensitively)."""
    clean = "".join("_" if ord(c) > 0xFFFF else c for c in _NOT_JOLIET.sub("_", name))
    stem, ext = _split(clean)
    ext = f".{ext}" if ext else ""
    candidate, number = _fit(stem, ext, ""), 0
    while candidate.casefold() in node.joliet_taken:
        number += 1
        candidate = _fit(stem, ext, f"~{number}")
    node.joliet_taken.add(candidate.casefold())
    return candidate


def _fit(stem: str, ext: str, suffix: str) -> str:
    """``stem + suffix + ext``, the stem cut so the whole is at most 64 UTF-8 bytes (an
    extension too long to leave room for a stem is dropped)."""
    if len((suffix + ext).encode("utf-8")) >= _JOLIET_NAME_LIMIT // 2:
        ext = ""
    while len((stem + suffix + ext).encode("utf-8")) > _JOLIET_NAME_LIMIT:
        stem = stem[:-1]
    return stem + suffix + ext
