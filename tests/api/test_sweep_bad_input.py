"""Every route of every service, fed malformed and hostile input.

The routes come from the route tables, so a new route is swept the day it is added. Each
request goes as the cloud admin (policy must not hide a handler), with the ids of real
resources in the URL so that the handler's deeper code runs. The answer must be a 4xx in
the service's own error body, never a 5xx (but the 501 of a route that is never supported,
``NOT_SUPPORTED``) and never a dropped connection; a 2xx is fine
only where the route never read the input at all (a body sent to a route that takes none,
a query parameter it does not know).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.types import Receive, Scope, Send

from helpers.inprocess import cloud_config, make_cloud
from helpers.sweeps.rbac import NOT_SUPPORTED
from helpers.sweeps.requests import Cell, prepare, valid_body
from helpers.sweeps.routes import Route, error_body_problem, every_route, route_table, service_types
from helpers.sweeps.world import World, build_world
from ownstack.common.api.routing import is_public

pytestmark = pytest.mark.asyncio(loop_scope="module")

WRITES = ("POST", "PUT", "PATCH")
VERSIONED = {"placement": "1.39", "compute": "2.96", "volume": "3.71"}
SERVICES = ["identity", "image", "placement", "compute", "network", "volume"]


@dataclass(frozen=True)
class Probe:
    label: str
    must_reject: bool = True        # a 2xx is a failure (where the route read the input)


class WatchedApp:
    """An ASGI app that notes whether the wrapped app read the request body."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.body_read = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def watched() -> dict[str, object]:
            message = await receive()
            if message["type"] == "http.request":
                self.body_read = True
            return dict(message)

        await self.app(scope, watched, send)  # type: ignore[operator]


@dataclass
class Sweep:
    world: World
    watched: dict[str, WatchedApp]
    limits: dict[str, int]
    failures: list[str]

    async def send(self, route: Route, probe: Probe, path: str, **kwargs: object) -> None:
        watched = self.watched[route.service]
        watched.body_read = False
        where = f"{route} [{probe.label}] {path[:120]!r}"
        try:
            r = await self.world.request(route, path, token=self.token,
                                         **kwargs)  # type: ignore[arg-type]
        except Exception as exc:     # the app raised: the connection would have dropped
            self.failures.append(f"{where}: no answer ({type(exc).__name__}: {exc})")
            return
        status = r.status_code
        if status >= 500 and not (status == 501 and route in NOT_SUPPORTED):
            self.failures.append(f"{where}: {status} {r.text[:300]}")
        elif status >= 400:
            problem = error_body_problem(route.service, r)
            if problem:
                self.failures.append(f"{where}: {status} {problem}")
        elif probe.must_reject and watched.body_read:
            self.failures.append(f"{where}: {status}, the input was accepted")

    @property
    def token(self) -> str:
        """The own project's admin: a cloud admin who also owns the user-owned things
        (keypairs, application credentials) in the URLs."""
        return self.world.tenants["own"].callers["admin"].token

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} bad answers:\n" + \
            "\n".join(self.failures)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async for cloud in make_cloud(cloud_config(tmp_path_factory.mktemp("sweep"))):
        yield await build_world(cloud)


@pytest.fixture
def sweep(world: World) -> Sweep:
    # The catalog's services (the metadata service answers only guests' signed requests,
    # and has bad-input tests of its own: tests/api/compute/test_metadata_service.py).
    apps = {"identity": world.cloud.identity.app,
            **{name: app for name, app in world.cloud.apps.items() if name in service_types()}}
    watched = {service: WatchedApp(app) for service, app in apps.items()}
    world.clients = {service: httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                                base_url=f"http://{service}.test")
                     for service, app in watched.items()}
    config = world.cloud.identity.config
    limits = {service: getattr(config, service).max_request_body_size for service in apps}
    return Sweep(world, watched, limits, [])


def _routes(service: str) -> list[Route]:
    return [route for route in every_route() if route.service == service]


async def test_every_service_is_swept() -> None:
    assert sorted(service_types()) == sorted(SERVICES), \
        "a new service needs its error shape in tests/helpers/sweeps/routes.py and its " \
        "resources in tests/helpers/sweeps/world.py"


# --- bodies --------------------------------------------------------------------------------

def _body_probes(limit: int) -> list[tuple[Probe, bytes | None, str]]:
    """(probe, body, content type); a body of None is an oversize body sent in chunks."""
    lists = min(100_000, (limit - 16) // 2)
    objects = min(100_000, (limit - 16) // 6)
    probes = [
        ("broken JSON", b'{"a": '), ("truncated", b'{"server": {"name": "x"'),
        ("not JSON", b"garbage"), ("empty", b""), ("whitespace", b"   \n"),
        ("list", b"[1, \"a\"]"), ("string", b'"a string"'), ("number", b"42"), ("null", b"null"),
        ("boolean", b"true"),
        ("deep lists", b"[" * lists + b"]" * lists),
        ("deep objects", b'{"a":' * objects + b"1" + b"}" * objects),
        ("deep under a key", b'{"server": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        ("1e400", b"1e400"), ("-1e400 in a field", b'{"x": -1e400}'),
        ("10**1000", b"1" + b"0" * 1000), ("10**5000 in a field", b'{"x": 1' + b"0" * 5000
                                               + b"}"),
        ("NaN", b'{"x": NaN}'), ("Infinity", b'{"x": Infinity}'),
        ("NUL in a string", b'{"x": "a\\u0000b"}'), ("NUL in a key", b'{"a\\u0000": 1}'),
        ("NUL string", b'"\\u0000"'), ("raw NUL byte", b'{"x": "a\x00b"}'),
        ("invalid UTF-8", b'{"x": "\xff\xfe"}'), ("invalid UTF-8 key", b'{"\xc3\x28": 1}'),
        ("lone surrogate", b'{"x": "\\ud800"}'), ("overlong UTF-8", b'{"x": "\xc0\xaf"}'),
        ("encoded surrogate", b'{"x": "\xed\xa0\x80"}'),
        ("unknown field", b'{"ownstack_sweep_unknown": 1}'),
        ("oversize", b'{"x": "' + b"a" * limit + b'"}'),
    ]
    return [(Probe(label), body, "application/json") for label, body in probes] + [
        (Probe("oversize, chunked"), None, "application/json"),
        (Probe("wrong media type"), b"{}", "text/plain"),
        (Probe("garbage media type"), b"{}", "garbage/\x7f"),
    ]


@pytest.mark.parametrize("service", SERVICES)
async def test_bad_bodies(sweep: Sweep, service: str) -> None:
    limit = sweep.limits[service]
    for route in _routes(service):
        if route.method not in WRITES:
            continue
        params = sweep.world.params(route)
        document = await valid_body(Cell(sweep.world, route, "own", "admin", params))
        json_media = document.media_type if document is not None else "application/json"
        if not json_media.endswith("json"):
            continue        # an image upload: any bytes are data
        path = route.path(params)
        headers = await sweep.world.headers(route)
        for probe, payload, media in _body_probes(limit):
            media = json_media if media == "application/json" else media
            content: bytes | AsyncIterator[bytes] = payload if payload is not None \
                else _chunks(limit)
            await sweep.send(route, probe, path, content=content,
                             headers={**headers, "Content-Type": media})
    sweep.check()


async def _chunks(limit: int) -> AsyncIterator[bytes]:
    yield b'{"x": "'
    for _ in range(limit // 65536 + 1):
        yield b"a" * 65536
    yield b'"}'


# --- paths ---------------------------------------------------------------------------------

PATH_VALUES = [
    (Probe("garbage id", must_reject=False), "garbage-id"),
    (Probe("NUL"), "%00"), (Probe("NUL inside"), "a%00b"),
    (Probe("invalid UTF-8", must_reject=False), "%FF%FE"),
    (Probe("encoded surrogate", must_reject=False), "%ED%A0%80"),
    (Probe("long", must_reject=False), "x" * 2000),
    (Probe("negative", must_reject=False), "-1"),
    (Probe("space", must_reject=False), "%20"),
    (Probe("quote", must_reject=False), "%27%22%3B"),
]


@pytest.mark.parametrize("service", SERVICES)
async def test_bad_path_parameters(sweep: Sweep, service: str) -> None:
    """Each parameter in turn is garbage, the others real, with a body the route would
    accept. A NUL must be refused; other garbage may be a name the route accepts (a new
    tag), but never a 5xx."""
    for route in _routes(service):
        real = sweep.world.params(route)
        for name in route.params:
            for probe, value in PATH_VALUES:
                params = {**real, name: value}
                document = await valid_body(Cell(sweep.world, route, "own", "admin", params))
                kwargs: dict[str, object] = {"headers": await sweep.world.headers(route)}
                if document is not None:
                    kwargs = {"content": document.content, "headers": {
                        **kwargs["headers"], "Content-Type": document.media_type}}
                await sweep.send(route, Probe(f"{name}: {probe.label}", probe.must_reject),
                                 route.path(params), **kwargs)
    sweep.check()


# --- query strings -------------------------------------------------------------------------

QUERIES = [
    (Probe("repeated limit", must_reject=False), "limit=1&limit=2"),
    (Probe("garbage limit", must_reject=False), "limit=abc"),
    (Probe("negative limit", must_reject=False), "limit=-1"),
    (Probe("zero limit", must_reject=False), "limit=0"),
    (Probe("huge limit", must_reject=False), "limit=" + "9" * 40),
    (Probe("1e400 limit", must_reject=False), "limit=1e400"),
    (Probe("negative marker", must_reject=False), "marker=-1"),
    (Probe("garbage marker", must_reject=False), "marker=" + "x" * 300),
    (Probe("garbage sort", must_reject=False), "sort_key=garbage&sort_dir=sideways&sort=x:y"),
    (Probe("garbage filters", must_reject=False),
     "all_tenants=garbage&deleted=garbage&changes-since=garbage&detailed=garbage"
     "&is_domain=garbage&enabled=garbage&visibility=garbage&member_status=garbage"
     "&in_tree=garbage&required=garbage&resources=garbage&member_of=garbage"
     "&start=garbage&end=garbage&status=garbage&user_id=garbage&project_id=garbage"
     "&name=garbage&os_hidden=garbage&protected=garbage&size_min=x&size_max=y"
     "&min_ram=x&minDisk=y&is_public=garbage&hypervisor_hostname_pattern=%5B"),
    (Probe("bad dates", must_reject=False),
     "changes-since=2020-13-45T99:99:99Z&start=0000-00-00&end=9999-99-99&changes-before=-1"),
    (Probe("NUL value"), "name=a%00b"), (Probe("NUL key"), "%00=1"),
    (Probe("invalid UTF-8 value", must_reject=False), "name=%FF%FE"),
    (Probe("invalid UTF-8 key", must_reject=False), "%FF=1"),
    (Probe("encoded surrogate", must_reject=False), "name=%ED%A0%80"),
    (Probe("bare keys", must_reject=False), "&&=&a&=b&limit"),
    (Probe("long value", must_reject=False), "name=" + "a" * 20000),
]


@pytest.mark.parametrize("service", SERVICES)
async def test_bad_query_strings(sweep: Sweep, service: str) -> None:
    for route in _routes(service):
        if route.method != "GET":
            continue
        path = route.path(sweep.world.params(route))
        required = "&".join(f"{k}={v}" for k, v in sweep.world.query(route).items())
        headers = await sweep.world.headers(route)
        for probe, query in QUERIES:
            sweep.watched[route.service].body_read = False
            full = f"{path}?{required}&{query}" if required else f"{path}?{query}"
            await sweep.send(route, probe, full, headers=headers)
    sweep.check()


# --- microversion headers ------------------------------------------------------------------

def _version_headers(service: str) -> list[tuple[str, dict[str, str | bytes]]]:
    major = VERSIONED[service].split(".")[0]
    header = "OpenStack-API-Version"
    probes: list[tuple[str, dict[str, str | bytes]]] = [
        ("too new", {header: f"{service} 99.0"}),
        ("not a number", {header: f"{service} {major}.x"}),
        ("leading zero", {header: f"{service} {major}.01"}),
        ("no version", {header: service}),
        ("three words", {header: f"{service} {major}.1 extra"}),
        ("garbage", {header: "garbage"}),
        ("conflicting", {header: f"{service} {major}.1, {service} {major}.2"}),
        ("latin-1", {header: f"{service} {major}.".encode() + b"\xe9"}),
        ("huge", {header: f"{service} {major}.{'9' * 5000}"}),
    ]
    if service == "compute":
        probes += [("too old", {header: "compute 1.0"}),
                   ("legacy garbage", {"X-OpenStack-Nova-API-Version": "garbage"}),
                   ("legacy too new", {"X-OpenStack-Nova-API-Version": "99.0"})]
    return probes


@pytest.mark.parametrize("service", sorted(VERSIONED))
async def test_bad_microversion_headers(sweep: Sweep, service: str) -> None:
    """Negotiation runs before every handler: a malformed version is a 400 and an
    unsupported one a 406, on every route, whatever the method."""
    for route in _routes(service):
        path = route.path(sweep.world.params(route))
        for label, headers in _version_headers(service):
            probe = Probe(label)
            before = len(sweep.failures)
            r = await sweep.world.client(service).request(
                route.method, path, headers={"X-Auth-Token": sweep.token, **headers})
            expected = 406 if label.startswith(("too new", "too old", "legacy too new")) \
                else 400
            if r.status_code != expected:
                sweep.failures.append(f"{route} [{probe.label}]: {r.status_code}, not "
                                      f"{expected}: {r.text[:200]}")
            elif route.method != "HEAD":
                problem = error_body_problem(service, r)
                if problem and len(sweep.failures) == before:
                    sweep.failures.append(f"{route} [{probe.label}]: {problem}")
    sweep.check()


# --- bad values inside valid bodies (last: what succeeds may change the shared resources) --

MUTANTS: list[tuple[str, Any]] = [
    ("null", None), ("object", {}), ("list", [1]), ("empty string", ""), ("-1", -1),
    ("2**63", 2**63), ("10**30", 10**30), ("1.5", 1.5), ("true", True),
    ("long text", "\u00fc\u4e2d" * 200),
]


def _mutations(document: Any) -> Iterator[tuple[str, Any]]:
    """``document`` with one change each: every leaf replaced by every mutant, and an
    unknown key added to every object."""
    def paths(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], bool]]:
        if isinstance(node, dict):
            yield path, True
            for key, value in node.items():
                yield from paths(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from paths(value, (*path, index))
        else:
            yield path, False

    for path, is_object in paths(document, ()):
        where = "/".join(map(str, path)) or "body"
        if is_object:
            yield f"{where}: unknown key", _replaced(document, (*path, "ownstack_unknown"), 1)
            continue
        for label, mutant in MUTANTS:
            yield f"{where}: {label}", _replaced(document, path, mutant)


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = deepcopy(document)
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize("service", SERVICES)
async def test_bad_values_in_valid_bodies(sweep: Sweep, service: str) -> None:
    """A valid body with one field of the wrong type, out of range, or unknown: some are
    still valid (a long name), but none may be a 5xx."""
    for route in _routes(service):
        if route.method not in WRITES:
            continue
        cell = Cell(sweep.world, route, "own", "admin", sweep.world.params(route))
        cell.params.update(await prepare(cell))     # a password to change, not the caller's
        document = await valid_body(cell)
        if document is None or not document.media_type.endswith("json"):
            continue
        headers = {**await sweep.world.headers(route), "Content-Type": document.media_type}
        for label, mutated in _mutations(json.loads(document.content)):
            await sweep.send(route, Probe(label, must_reject=False), route.path(cell.params),
                             content=json.dumps(mutated).encode(), headers=headers)
    sweep.check()


# --- tokens --------------------------------------------------------------------------------

TOKENS: list[tuple[str, str | bytes]] = [
    ("garbage", "garbage"), ("empty", ""), ("Fernet-like", "gAAAAAB" + "A" * 300),
    ("Latin-1 bytes", b"tok\xe9n\xff"), ("huge", "x" * 20000),
]


@pytest.mark.parametrize("service", SERVICES)
async def test_bad_tokens(sweep: Sweep, service: str) -> None:
    """A token that is not one is a 401 in the service's error body on every route that
    needs one; the public routes (version documents, token issue) may ignore it."""
    for route in _routes(service):
        public = is_public(route_table(service)[route.template][route.method])
        path = route.path(sweep.world.params(route))
        for label, token in TOKENS:
            r = await sweep.world.client(service).request(
                route.method, path, headers={"X-Auth-Token": token})
            status = r.status_code
            if status >= 500 or (not public and status != 401):
                sweep.failures.append(f"{route} [{label}]: {status}, not 401: {r.text[:200]}")
            elif status >= 400 and (problem := error_body_problem(service, r)):
                sweep.failures.append(f"{route} [{label}]: {problem}")
    sweep.check()
