"""The ASGI app core: routing, request ids, auth, error mapping, body limits."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.responses import Response

from ownstack.common.api.app import ApiRequest, ServiceApp, empty_response, json_response
from ownstack.common.api.routing import public
from ownstack.common.api.schema import Validator
from ownstack.common.context import RequestContext
from ownstack.common.errors import Conflict, OwnstackError, Unauthorized

SCHEMA = Validator({"type": "object", "required": ["thing"], "additionalProperties": False,
                    "properties": {"thing": {"type": "object", "required": ["name"],
                                             "properties": {"name": {"type": "string"}}}}})


@public
async def hello(req: ApiRequest[Any]) -> Response:
    return json_response({"hello": req.params.get("name", "world"),
                          "user": req.ctx.user_id})


async def private(req: ApiRequest[Any]) -> Response:
    return json_response({"user": req.ctx.user_id, "roles": list(req.ctx.roles)})


@public
async def create(req: ApiRequest[Any]) -> Response:
    return json_response(await req.json(SCHEMA), status=201)


@public
async def conflict(req: ApiRequest[Any]) -> Response:
    raise Conflict("it clashes")


@public
async def crash(req: ApiRequest[Any]) -> Response:
    raise RuntimeError("secret internals")


@public
async def add_tag(req: ApiRequest[Any]) -> Response:
    return empty_response(201, {"Location": f"http://t/tags/{req.params['tag']}"})


@public
async def echo(req: ApiRequest[Any]) -> Response:
    return json_response(await req.json())


class Validator_:
    async def context_for(self, token: str, request_id: str) -> RequestContext:
        if token != "good":
            raise Unauthorized()
        return RequestContext(request_id=request_id, user_id="u1", roles=("member",))


def fmt(exc: OwnstackError, request_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    return {"err": {"status": exc.status, "message": exc.message, "code": exc.code}}, {}


@pytest.fixture
async def client() -> Any:
    app = ServiceApp(name="test", svc=None, format_error=fmt, validator=Validator_(),
                     body_limit=100, routes={
                         "/hello": {"GET": hello}, "/hello/{name}": {"GET": hello},
                         "/private": {"GET": private}, "/things": {"POST": create},
                         "/conflict": {"GET": conflict}, "/crash": {"GET": crash},
                         "/tags/{tag}": {"PUT": add_tag}, "/echo": {"POST": echo}})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as c:
        yield c


async def test_routes_params_and_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/hello/alice/")
    assert r.json() == {"hello": "alice", "user": None}
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")
    other = await client.get("/hello")
    assert other.headers["X-Openstack-Request-Id"] != r.headers["X-Openstack-Request-Id"]


async def test_head_is_get_without_body(client: httpx.AsyncClient) -> None:
    r = await client.head("/hello")
    assert r.status_code == 200 and r.content == b""


async def test_unknown_path_404_and_wrong_method_405(client: httpx.AsyncClient) -> None:
    r = await client.get("/nope")
    assert r.status_code == 404 and r.json()["err"]["status"] == 404
    r = await client.delete("/hello")
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


async def test_auth(client: httpx.AsyncClient) -> None:
    assert (await client.get("/private")).status_code == 401
    assert (await client.get("/private", headers={"X-Auth-Token": "bad"})).status_code == 401
    r = await client.get("/private", headers={"X-Auth-Token": "good"})
    assert r.json() == {"user": "u1", "roles": ["member"]}
    # A bad token on a public route is ignored, as Keystone does for token issue.
    assert (await client.get("/hello", headers={"X-Auth-Token": "bad"})).status_code == 200


@pytest.mark.parametrize(("body", "ctype", "status"), [
    (b'{"thing": {"name": "x"}}', "application/json", 201),
    (b'{"thing": {"name": 1}}', "application/json", 400),
    (b'{"thing": {"name": "x"}, "extra": 1}', "application/json", 400),
    (b"{", "application/json", 400),
    (b"", "application/json", 400),
    (b'{"thing": {"name": "x"}}', "text/plain", 415),
    (b'{"thing": {"name": "' + b"x" * 200 + b'"}}', "application/json", 413),
])
async def test_body_validation(client: httpx.AsyncClient, body: bytes, ctype: str,
                               status: int) -> None:
    r = await client.post("/things", content=body, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text


async def test_chunked_body_over_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 20
    r = await client.post("/things", content=chunks(),
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 413


async def test_errors_map_to_service_format(client: httpx.AsyncClient) -> None:
    r = await client.get("/conflict")
    assert r.status_code == 409
    assert r.json() == {"err": {"status": 409, "message": "it clashes",
                                "code": "ownstack.conflict"}}


async def test_unexpected_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/crash")
    assert r.status_code == 500
    assert "secret internals" not in r.text
    assert r.json()["err"]["code"] == "ownstack.internal_error"


@pytest.mark.parametrize("url", ["/hello/a%00b", "/hello/%00", "/hello?name=%00",
                                 "/hello?%00=1", "/nope/%00"])
async def test_a_nul_in_the_url_is_a_400_before_routing(client: httpx.AsyncClient,
                                                        url: str) -> None:
    r = await client.get(url)
    assert r.status_code == 400
    assert r.json()["err"]["code"] == "ownstack.bad_request"
    assert "NUL" in r.json()["err"]["message"]


@pytest.mark.parametrize(("tag", "location"), [
    ("plain", "http://t/tags/plain"),
    ("%E3%83%97%C3%A9", "http://t/tags/%E3%83%97%C3%A9"),      # Unicode: UTF-8, escaped
    ("%FF", "http://t/tags/%EF%BF%BD"),         # invalid UTF-8 arrives as U+FFFD
    ("50%25%20off", "http://t/tags/50%25%20off"),
])
async def test_a_location_header_is_a_percent_encoded_uri(client: httpx.AsyncClient,
                                                          tag: str, location: str) -> None:
    r = await client.put(f"/tags/{tag}")
    assert r.status_code == 201, r.text
    assert r.headers["Location"] == location


async def test_a_deeply_nested_body_is_a_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", content=b"[" * 40 + b"]" * 40,
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "nested deeper" in r.json()["err"]["message"]


@pytest.mark.parametrize("token", [b"tok\xe9n", b"good\x7f", "x\u00ff".encode("latin-1")])
async def test_a_token_that_is_not_printable_ascii_is_no_token(client: httpx.AsyncClient,
                                                               token: bytes) -> None:
    r = await client.get("/private", headers={"X-Auth-Token": token})
    assert r.status_code == 401 and r.json()["err"]["code"] == "ownstack.unauthorized"
    assert (await client.get("/hello", headers={"X-Auth-Token": token})).status_code == 200


async def test_an_integer_beyond_64_bits_is_echoed_with_every_digit(
        client: httpx.AsyncClient) -> None:
    r = await client.post("/echo", content=b'{"n": 1' + b"0" * 30 + b', "s": "\xc3\xa9"}',
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    assert r.content == b'{"n":1' + b"0" * 30 + b',"s":"\xc3\xa9"}'
