"""Microversions.versioned: negotiation in front of every handler of a route table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from starlette.responses import Response

from ownstack.common.api.microversion import Microversions, Version, version_of
from ownstack.common.errors import Conflict, NotAcceptable

SERVICE = Microversions("placement", [("1.0", "first"), ("1.1", "second")])


def request(headers: dict[str, str]) -> Any:
    return SimpleNamespace(headers=headers, request=SimpleNamespace(scope={}))


async def test_the_handler_sees_the_version_and_the_response_names_it() -> None:
    seen: list[Version] = []

    async def handler(req: Any) -> Response:
        seen.append(version_of(req))
        return Response(b"")

    table = SERVICE.versioned_routes({"/": {"GET": handler}})
    response = await table["/"]["GET"](request({"OpenStack-API-Version": "placement 1.1"}))
    assert seen == [Version(1, 1)]
    assert response.headers["OpenStack-API-Version"] == "placement 1.1"
    assert response.headers["Vary"] == "OpenStack-API-Version"


async def test_errors_carry_the_version_header() -> None:
    async def handler(req: Any) -> Response:
        raise Conflict("no")

    with pytest.raises(Conflict) as caught:
        await SERVICE.versioned(handler)(request({}))
    assert caught.value.headers["OpenStack-API-Version"] == "placement 1.0"


async def test_an_unsupported_version_never_reaches_the_handler() -> None:
    async def handler(req: Any) -> Response:
        raise AssertionError("called")

    with pytest.raises(NotAcceptable):
        await SERVICE.versioned(handler)(request({"OpenStack-API-Version": "placement 1.2"}))
