"""Validators of a body whose schema changes at some microversions."""

from __future__ import annotations

from collections.abc import Callable

from ownstack.common.api.microversion import Version
from ownstack.common.api.schema import Schema, Validator

# Compute's minimum microversion: the first step of every schema.
_BASE = Version(2, 1)


class ByVersion:
    """One validator per version at which the schema changes, each compiled the first time
    a request needs it; a request gets the latest one at or below its version.

    ``build(step)`` makes the schema of ``step``, a :class:`Version` it may compare with
    ``at_least``.
    """

    def __init__(self, build: Callable[[Version], Schema], *changes: str) -> None:
        self._build = build
        self._steps = tuple(sorted({_BASE, *(Version.parse(change) for change in changes)},
                                   reverse=True))
        self._compiled: dict[Version, Validator] = {}

    def __call__(self, version: Version) -> Validator:
        step = next((step for step in self._steps if version >= step), _BASE)
        validator = self._compiled.get(step)
        if validator is None:
            validator = self._compiled[step] = Validator(self._build(step))
        return validator
