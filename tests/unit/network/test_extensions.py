"""The extensions list names only what exists: every alias once, every module importable."""

from __future__ import annotations

import importlib

from ownstack.network.extensions import EXTENSIONS


def test_every_alias_is_listed_once_and_its_module_exists() -> None:
    aliases = [ext.alias for ext in EXTENSIONS]
    assert len(aliases) == len(set(aliases))
    for ext in EXTENSIONS:
        importlib.import_module(ext.module)


def test_the_security_group_and_quota_extensions_are_listed() -> None:
    aliases = {ext.alias for ext in EXTENSIONS}
    assert {"security-group", "stateful-security-group", "quotas", "quota_details"} <= aliases
