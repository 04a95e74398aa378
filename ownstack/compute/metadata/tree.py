"""The metadata service's paths, as Nova's ``InstanceMetadata.lookup`` answers them.

``/`` lists the EC2 versions and ``latest``; ``/<ec2 version>/`` holds ``meta-data/`` and
``user-data``, and ``meta-data/`` is a tree whose listings end a directory's name with
``/`` (``public-keys/`` lists ``0=<key name>``, as EC2 does). ``/openstack`` lists the
OpenStack versions; ``/openstack/<version>`` lists that version's files; the files are
:func:`~.documents.openstack_document`'s, and ``password`` is the service's to answer
(:data:`PASSWORD`), since a guest posts it. Anything else is :class:`InvalidPath`.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ownstack.compute.metadata.documents import (
    EC2_SERVICE_VERSIONS,
    LATEST,
    PASSWORD,
    ec2_meta_data,
    openstack_document,
    openstack_listing,
    openstack_versions,
)
from ownstack.compute.metadata.instance import InstanceMetadata

TEXT: Final = "text/plain"
JSON: Final = "application/json"
OCTETS: Final = "application/octet-stream"


class InvalidPath(LookupError):
    """No such path in the instance's metadata: a 404."""


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    content_type: str = TEXT


@dataclass(frozen=True, slots=True)
class PasswordSlot:
    """``openstack/<version>/password``: GET reads, POST writes once (the service's job)."""


def _render(node: Any) -> bytes:
    """Nova's ``ec2_md_print``: a directory lists its sorted names (a sub-directory with a
    slash, or its ``_name``), a list one item a line, a value as text."""
    if isinstance(node, dict):
        lines = []
        for key in sorted(node):
            if key == "_name":
                continue
            value = node[key]
            if isinstance(value, dict):
                lines.append(str(value["_name"]) if "_name" in value else f"{key}/")
            else:
                lines.append(key)
        return "\n".join(lines).encode("utf-8")
    if isinstance(node, list):
        return "\n".join(str(item) for item in node).encode("utf-8")
    if isinstance(node, bytes):
        return node
    return str(node).encode("utf-8")


def _ec2_tree(md: InstanceMetadata, version: str) -> dict[str, Any]:
    meta = ec2_meta_data(md, version)
    if "public-keys" in meta:
        meta["public-keys"] = {"0": {"_name": f"0={md.key_name}",
                                     "openssh-key": md.key_data}}
    tree: dict[str, Any] = {"meta-data": meta}
    if md.user_data is not None:
        tree["user-data"] = md.user_data
    return tree


def _ec2(md: InstanceMetadata, tokens: list[str]) -> Document:
    version = EC2_SERVICE_VERSIONS[-1] if tokens[0] == LATEST else tokens[0]
    if version not in EC2_SERVICE_VERSIONS:
        raise InvalidPath(tokens[0])
    node: Any = _ec2_tree(md, version)
    for name in tokens[1:]:
        if not isinstance(node, dict) or name not in node or name.startswith("_"):
            raise InvalidPath("/".join(tokens))
        node = node[name]
    return Document(_render(node), OCTETS if tokens[1:] == ["user-data"] else TEXT)


def _openstack(md: InstanceMetadata, tokens: list[str], now: datetime | None
               ) -> Document | PasswordSlot:
    versions = openstack_versions(now)
    if not tokens:
        return Document(_render(versions))
    version = tokens[0]
    if version not in versions:
        raise InvalidPath(version)
    if len(tokens) == 1:
        return Document(_render(openstack_listing(md, version)))
    if len(tokens) > 2:
        raise InvalidPath("/".join(tokens))
    name = tokens[1]
    if name == PASSWORD and name in openstack_listing(md, version):
        return PasswordSlot()
    content = openstack_document(md, version, name, config_drive=False)
    if content is None:
        raise InvalidPath("/".join(tokens))
    return Document(content, JSON if name.endswith(".json") else OCTETS)


def resolve(md: InstanceMetadata, path: str, *, now: datetime | None = None
            ) -> Document | PasswordSlot:
    """What ``path`` is for ``md``; :class:`InvalidPath` when nothing is there."""
    tokens = [t for t in posixpath.normpath("/" + path).split("/") if t]
    if not tokens:
        return Document(_render([*EC2_SERVICE_VERSIONS, LATEST]))
    if tokens[0] == "openstack":
        return _openstack(md, tokens[1:], now)
    return _ec2(md, tokens)

