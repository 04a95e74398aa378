"""Request JSON: strict RFC 8259, nested at most MAX_DEPTH levels, no NUL characters."""

from __future__ import annotations

import pytest

from ownstack.common.api.json_body import MAX_DEPTH, parse_json
from ownstack.common.errors import BadRequest


def _nested(depth: int, kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


@pytest.mark.parametrize("kind", ["list", "object"])
def test_nesting_up_to_the_limit_parses(kind: str) -> None:
    document = parse_json(_nested(MAX_DEPTH, kind))
    for _ in range(MAX_DEPTH - 1):
        document = document[0] if kind == "list" else document["a"]
    assert document in ([], {})


@pytest.mark.parametrize(("kind", "depth"), [("list", MAX_DEPTH + 1), ("object", MAX_DEPTH + 1),
                                             ("list", 100_000), ("object", 20_000)])
def test_deeper_nesting_is_a_400(kind: str, depth: int) -> None:
    with pytest.raises(BadRequest, match=r"Malformed JSON|nested deeper"):
        parse_json(_nested(depth, kind))


def test_depth_counts_under_keys_and_beside_shallow_values() -> None:
    deep = b'{"x": [1, 2, {"y": ' + _nested(MAX_DEPTH - 2) + b"}]}"
    with pytest.raises(BadRequest, match="nested deeper than 32"):
        parse_json(deep)
    assert parse_json(b'{"x": [1, 2, {"y": ' + _nested(MAX_DEPTH - 3) + b"}]}")


@pytest.mark.parametrize("raw", [
    b'{"name": "a\\u0000b"}', b'{"a\\u0000": 1}', b'"\\u0000"', b'[[["\\u0000"]]]',
])
def test_nul_characters_are_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="NUL"):
        parse_json(raw)


def test_an_escaped_backslash_before_u0000_is_just_text() -> None:
    assert parse_json(b'{"path": "C:\\\\u0000"}') == {"path": "C:\\u0000"}


@pytest.mark.parametrize("raw", [
    b"1e400", b'{"x": -1e400}', b"1" + b"0" * 1000, b'{"x": NaN}', b"Infinity",
    b'{"x": "\\ud800"}', b'{"x": "\xff"}', b'{"x": "\xed\xa0\x80"}', b'{"x": "a\x00"}',
    b"{", b"",
])
def test_what_is_not_json_is_a_400(raw: bytes) -> None:
    with pytest.raises(BadRequest, match="Malformed JSON in request body"):
        parse_json(raw)


def test_ordinary_documents_parse_as_json_does() -> None:
    assert parse_json(b'{"a": [1, 2.5, "\\u00e9", null, true], "b": {"c": -3}}') == {
        "a": [1, 2.5, "é", None, True], "b": {"c": -3}}
    assert parse_json(b"12345678901234567890") == 12345678901234567890


def test_integers_beyond_64_bits_keep_every_digit() -> None:
    assert parse_json(b'{"n": ' + b"1" + b"0" * 300 + b"}") == {"n": 10 ** 300}
    assert parse_json(b"[18446744073709551617, -9223372036854775809]") == [
        2 ** 64 + 1, -(2 ** 63) - 1]
    assert parse_json(b'{"id": "12345678901234567890123", "x": 1.5}') == {
        "id": "12345678901234567890123", "x": 1.5}
