"""The router: templates, the generated 405, and what a trailing slash may and may not do."""

from __future__ import annotations

from typing import Any

import pytest

from helpers.sweeps.routes import Route, route_table, service_types
from ownstack.common.api.routing import Router
from ownstack.common.errors import MethodNotAllowed, NotFound


async def listing(req: Any) -> Any: ...
async def making(req: Any) -> Any: ...
async def showing(req: Any) -> Any: ...
async def deleting(req: Any) -> Any: ...
async def detail(req: Any) -> Any: ...
async def version(req: Any) -> Any: ...
async def data(req: Any) -> Any: ...


ROUTER = Router({
    "/": {"GET": version},
    "/v2": {"GET": version},
    "/v2/things": {"GET": listing, "POST": making},
    "/v2/things/detail": {"GET": detail},
    "/v2/things/{thing_id}": {"GET": showing, "DELETE": deleting},
    "/v2/things/{thing_id}/data": {"PUT": data},
})


@pytest.mark.parametrize(("method", "path", "handler", "params"), [
    ("GET", "/", version, {}),
    ("GET", "/v2/", version, {}),                        # discovery with its slash
    ("GET", "/v2//", version, {}),
    ("GET", "/v2/things", listing, {}),
    ("HEAD", "/v2/things", listing, {}),                 # HEAD is GET's
    ("GET", "/v2/things/detail", detail, {}),            # a literal beats a parameter
    ("GET", "/v2/things/detail/", detail, {}),
    ("GET", "/v2/things/t1", showing, {"thing_id": "t1"}),
    ("GET", "/v2/things/t1/", showing, {"thing_id": "t1"}),
    ("PUT", "/v2/things/t1/data/", data, {"thing_id": "t1"}),
])
def test_matches(method: str, path: str, handler: Any, params: dict[str, str]) -> None:
    assert ROUTER.match(method, path) == (handler, params)


@pytest.mark.parametrize(("method", "path"), [
    # A trailing slash where an id would start is an empty id, never the collection.
    ("GET", "/v2/things/"),
    ("DELETE", "/v2/things/"),
    ("POST", "/v2/things/"),
    ("GET", "/v2/things//"),
    ("PUT", "/v2/things//data"),                          # an empty id inside the path
    ("GET", "/v2/nothing"),
    ("GET", "/v3/"),
])
def test_not_found(method: str, path: str) -> None:
    with pytest.raises(NotFound):
        ROUTER.match(method, path)


def test_an_unknown_method_is_a_405_naming_the_allowed_ones() -> None:
    with pytest.raises(MethodNotAllowed) as caught:
        ROUTER.match("PATCH", "/v2/things")
    assert caught.value.headers == {"Allow": "GET, HEAD, POST"}


def _variants(template: str) -> list[str]:
    """``template`` with each of its parameters in turn empty (the others filled)."""
    route = Route("", template, "GET")
    return [route.path({n: "" if n == empty else "x" for n in route.params})
            for empty in route.params]


@pytest.mark.parametrize("service", service_types())
def test_no_route_of_any_service_takes_an_empty_parameter(service: str) -> None:
    """Every route's every parameter, left empty (``/v2/images/``, ``/servers//action``):
    a 404 for every method, never another route's handler or a 405."""
    table = route_table(service)
    router = Router(table)
    wrong = []
    for template, methods in table.items():
        for path in _variants(template):
            for method in {*methods, "GET", "DELETE"}:
                try:
                    handler, _ = router.match(method, path)
                except NotFound:
                    continue
                except MethodNotAllowed:
                    handler = None
                wrong.append(f"{method} {path}: {getattr(handler, '__qualname__', '405')}")
    assert not wrong, f"{service}: empty parameters reach a route:\n" + "\n".join(wrong)


@pytest.mark.parametrize("service", service_types())
def test_a_trailing_slash_keeps_a_route_or_is_a_404(service: str) -> None:
    """``template/`` of every route: the same handler, or a 404 where the slash starts an
    id; never another route's handler."""
    table = route_table(service)
    router = Router(table)
    wrong = []
    for template, methods in table.items():
        route = Route(service, template, "GET")
        filled = route.path(dict.fromkeys(route.params, "x"))
        for method in methods:
            expected, _ = router.match(method, filled)
            try:
                handler, _ = router.match(method, filled + "/")
            except NotFound:
                continue
            if handler is not expected:
                wrong.append(f"{method} {filled}/: {handler.__qualname__}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(("service", "root"), [
    ("identity", "/v3/"), ("image", "/v2/"), ("compute", "/v2.1/"), ("network", "/v2.0/"),
    ("identity", "/"), ("image", "/"), ("placement", "/"), ("compute", "/"), ("network", "/")])
def test_version_discovery_with_the_slash_clients_send(service: str, root: str) -> None:
    router = Router(route_table(service))
    assert router.match("GET", root) == router.match("GET", root.rstrip("/") or "/")
