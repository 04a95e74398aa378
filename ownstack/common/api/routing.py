"""One routing table per service: URL template -> HTTP method -> handler.

An unknown URL is a 404; a known URL with an unknown method is a 405 whose ``Allow``
header is generated from the table, never written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from ownstack.common.errors import MethodNotAllowed, NotFound

Handler = Callable[[Any], Awaitable[Any]]
RouteTable = Mapping[str, Mapping[str, Handler]]

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")

H = TypeVar("H", bound=Handler)


def public(handler: H) -> H:
    """Mark a handler as reachable without a token (version documents, token issue)."""
    handler.__ownstack_public__ = True  # type: ignore[attr-defined]
    return handler


def is_public(handler: Handler) -> bool:
    return bool(getattr(handler, "__ownstack_public__", False))


class Router:
    def __init__(self, table: RouteTable) -> None:
        self._static: dict[str, Mapping[str, Handler]] = {}
        self._dynamic: list[tuple[re.Pattern[str], Mapping[str, Handler]]] = []
        for template, methods in table.items():
            methods = dict(methods)
            if "GET" in methods and "HEAD" not in methods:
                methods["HEAD"] = methods["GET"]
            key = _normalise(template)
            if _PARAM.search(template):
                pattern = _PARAM.sub(lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(key)
                                     .replace(r"\{", "{").replace(r"\}", "}"))
                self._dynamic.append((re.compile(f"^{pattern}$"), methods))
            else:
                self._static[key] = methods

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        path = _normalise(path)
        methods = self._static.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for pattern, candidate in self._dynamic:
                found = pattern.match(path)
                if found:
                    methods, params = candidate, found.groupdict()
                    break
        if methods is None:
            raise NotFound("The resource could not be found.")
        handler = methods.get(method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"The method {method} is not allowed for this resource.",
                                   headers={"Allow": allow})
        return handler, params


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"
