"""Booleans spelled as strings, as oslo.utils' ``bool_from_string`` reads them.

Query strings, extra specs, image properties and config values all say "yes", "on" or
"1" for true. Every service reads them with these two functions, so they agree on what a
boolean is; each caller words its own 400 when :func:`parse_bool` gives ``None``.
"""

from __future__ import annotations

from typing import Final

TRUE_STRINGS: Final = frozenset({"1", "t", "true", "on", "y", "yes"})
FALSE_STRINGS: Final = frozenset({"0", "f", "false", "off", "n", "no"})


def parse_bool(value: object) -> bool | None:
    """``True`` or ``False`` for a recognised spelling (any case, surrounding spaces
    ignored) or a real bool; ``None`` for anything else."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    return None


def bool_from_string(value: object, *, default: bool = False) -> bool:
    """oslo's lenient form: a recognised spelling, else ``default``."""
    parsed = parse_bool(value)
    return default if parsed is None else parsed
