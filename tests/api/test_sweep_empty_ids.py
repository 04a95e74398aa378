"""Every route of every service with one of its path parameters left empty.

``GET /v2/images/`` is the image whose id is empty, not the image list; Glance (and every
other service, whose router takes no trailing slash where an id goes) answers 404. Here
each parameter of each route, in turn, is the empty string, and every method of the route
(and GET and DELETE) must get a 404 in the service's own error body, never another
route's answer or a 405. Version discovery with the slash real clients send still works.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.inprocess import CloudClient, quiet_cloud
from helpers.sweeps.routes import Route, error_body_problem, route_table, service_types

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cloud(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CloudClient]:
    async for cloud in quiet_cloud(tmp_path_factory.mktemp("empty-ids")):
        yield cloud


def _client(cloud: CloudClient, service: str) -> object:
    return cloud.identity.http if service == "identity" else cloud.clients[service]


@pytest.mark.parametrize("service", service_types())
async def test_an_empty_parameter_is_a_404(cloud: CloudClient, service: str) -> None:
    http = _client(cloud, service)
    token = cloud.identity.admin_token
    wrong = []
    swept = 0
    for template, methods in route_table(service).items():
        route = Route(service, template, "GET")
        for empty in route.params:
            path = route.path({name: "" if name == empty else "x" for name in route.params})
            for method in sorted({*methods, "GET", "DELETE"}):
                r = await http.request(method, path, headers={  # type: ignore[attr-defined]
                    "X-Auth-Token": token, "Content-Type": "application/json"},
                    content=b"{}" if method in ("POST", "PUT", "PATCH") else None)
                swept += 1
                problem = error_body_problem(service, r) if r.status_code == 404 else \
                    f"{r.status_code} {r.text[:120]}"
                if problem:
                    wrong.append(f"{method} {path}: {problem}")
    assert swept > 10
    assert not wrong, f"{len(wrong)} requests with an empty id were not a 404:\n" + \
        "\n".join(wrong)


@pytest.mark.parametrize(("service", "root", "key"), [
    ("identity", "/v3/", "version"), ("image", "/v2/", "versions"),
    ("compute", "/v2.1/", "version"), ("network", "/v2.0/", "resources"),
    ("placement", "/", "versions")])
async def test_version_discovery_at_the_root_with_its_slash(
        cloud: CloudClient, service: str, root: str, key: str) -> None:
    # Neutron's /v2.0/ needs a token; the others answer anyone.
    r = await _client(cloud, service).get(  # type: ignore[attr-defined]
        root, headers={"X-Auth-Token": cloud.identity.admin_token})
    assert r.status_code in (200, 300), r.text
    assert key in r.json()
