"""``request_path`` gives what ``request.url.path`` gives, building the URL only for a
path Starlette or ``urlsplit`` would change."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from ownstack.common.api.app import request_path

PATHS = ["/v2.0/ports", "/v2.0/networks/abc/tags/x y", "/v3/auth/tokens", "/", "/é/ü",
         "/a?b", "/a#b", "/a\\b", "//x", "///", "/a\tb", "/a\r\nb", "/a%20b", "/a:b",
         "/a;b=c", "/a@b", "/\x7f", "/a\x01", "/v2.0/tags/%3F", "/[::1]", "/a/../b"]


def _request(path: str, host: bytes | None = b"example.test:9696",
             query: bytes = b"") -> Request:
    headers = [(b"host", host)] if host is not None else []
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path,
                             "query_string": query, "headers": headers,
                             "scheme": "http", "server": ("127.0.0.1", 9696)}
    return Request(scope)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", [b"example.test:9696", None, b"bad host"])
def test_the_path_is_the_urls(path: str, host: bytes | None) -> None:
    assert request_path(_request(path, host, b"a=1&b=%3F")) == _request(
        path, host, b"a=1&b=%3F").url.path


def test_a_plain_path_builds_no_url() -> None:
    request = _request("/v2.0/ports/0b4f7a6e-5b3e-4a0c-9d1e-2f3a4b5c6d7e")
    assert request_path(request) == "/v2.0/ports/0b4f7a6e-5b3e-4a0c-9d1e-2f3a4b5c6d7e"
    assert "_url" not in request.__dict__
    odd = _request("/v2.0/tags/a?b")
    assert request_path(odd) == "/v2.0/tags/a%3Fb"
    assert "_url" in odd.__dict__
