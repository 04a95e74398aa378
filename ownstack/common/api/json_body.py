"""Request bodies as JSON: strict RFC 8259 and bounded, or a 400.

``json.loads`` takes more than JSON (``NaN``, ``Infinity``, lone UTF-16 surrogates that no
encoder can write back) and recurses once per level of nesting, so a body of a few
thousand ``[`` is a RecursionError. orjson parses in C, refuses all of those, and caps
nesting at 1024 levels. The parsed document is bounded further: at most ``MAX_DEPTH``
levels, deep enough for any OpenStack body (the deepest, Placement's reshaper, has seven)
and shallow enough for the schema validator, the error messages that quote the input and
the response encoder, which all recurse; and no NUL character in any string or key, which
PostgreSQL cannot store and no field has a use for. A number too large for a double is a
400; an integer beyond 64 bits keeps every digit, as json reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import orjson

from ownstack.common.errors import BadRequest

__all__ = ["MAX_DEPTH", "parse_json"]

MAX_DEPTH: Final = 32
_NUL_ESCAPE: Final = b"\\u0000"
# orjson reads an integer beyond 64 bits as a float, losing digits; json keeps it exact.
_LONG_NUMBER: Final = re.compile(rb"[0-9]{19}")


def parse_json(raw: bytes) -> Any:
    """``raw`` as a JSON document, or :class:`BadRequest` saying what is wrong with it."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Malformed JSON in request body: {exc}") from None
    # Both checks walk the document; the byte scans (in C) spare the walk for the bodies
    # that cannot fail it, which is nearly all of them.
    deep = raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
    if deep or _NUL_ESCAPE in raw:
        _check_bounds(document)
    if _LONG_NUMBER.search(raw):
        # Strict and bounded by now, so json neither accepts more nor recurses too deep.
        return json.loads(raw)
    return document


def _check_bounds(document: Any) -> None:
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadRequest("Invalid JSON in request body: a string holds a NUL "
                                 "character (\\u0000).")
            continue
        if isinstance(value, dict):
            items = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            items = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise BadRequest(f"Invalid JSON in request body: nested deeper than "
                             f"{MAX_DEPTH} levels.")
        pending.extend((item, depth + 1) for item in items
                       if isinstance(item, str | dict | list))
