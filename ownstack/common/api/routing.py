"""One routing table per service: URL template -> HTTP method -> handler.

An unknown URL is a 404; a known URL with an unknown method is a 405 whose ``Allow``
header is generated from the table, never written by hand.

A trailing slash is forgiven (``/v2/`` is the version document, ``/servers/{id}/`` the
server) except where it stands for an empty path parameter: ``/v2/images/`` names the
image whose id is the empty string, so it is a 404, as in Glance, and never the image
list (nor a 405 for ``DELETE``). That holds wherever a template has a parameter after the
slash; an empty parameter inside a path (``/v2/images//file``) matches no template.
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
        normalised = _normalise(path)
        if normalised != path and \
                self._lookup(normalised.rstrip("/") + _EMPTY_SEGMENT) is not None:
            # The slash ends where a parameter would start: an empty id.
            raise NotFound("The resource could not be found.")
        found = self._lookup(normalised)
        if found is None:
            raise NotFound("The resource could not be found.")
        methods, params = found
        handler = methods.get(method)
        if handler is None:
            allow = ", ".join(sorted(methods))
            raise MethodNotAllowed(f"The method {method} is not allowed for this resource.",
                                   headers={"Allow": allow})
        return handler, params

    def _lookup(self, path: str) -> tuple[Mapping[str, Handler], dict[str, str]] | None:
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        for pattern, candidate in self._dynamic:
            found = pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None


# What stands for the empty segment when a trailing slash is checked: ``/`` and a NUL,
# which only a parameter matches (no template has one, and a URL holding one is refused
# before routing).
_EMPTY_SEGMENT = "/\x00"


def _normalise(path: str) -> str:
    return path.rstrip("/") or "/"
