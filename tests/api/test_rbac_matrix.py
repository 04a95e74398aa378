"""Every route of the route tables, as admin, member and reader, on the caller's own
project's resources and on another project's.

What each of the six callers must get is declared in :mod:`helpers.sweeps.rbac`; a route
of a table that it does not declare (or one it declares that no table has) fails
:func:`test_every_route_has_expectations`. An allowed call must succeed: it is made with a
valid body, on a resource made for it where the call consumes one (see
``helpers.sweeps.requests.prepare``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.inprocess import cloud_config, make_cloud
from helpers.sweeps.rbac import EXPECTATIONS, NOVA_NETWORK_ONLY, Expected, outcome_of
from helpers.sweeps.requests import Cell, prepare, restore, valid_body
from helpers.sweeps.routes import Route, every_route
from helpers.sweeps.world import ROLES, SIDES, World, build_world

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async for cloud in make_cloud(cloud_config(tmp_path_factory.mktemp("rbac"))):
        yield await build_world(cloud)


async def test_every_route_has_expectations() -> None:
    routes = set(every_route())
    missing = sorted(str(route) for route in routes - set(EXPECTATIONS))
    stale = sorted(str(route) for route in set(EXPECTATIONS) - routes)
    assert not missing, "routes without RBAC expectations:\n" + "\n".join(missing)
    assert not stale, "RBAC expectations for routes that no longer exist:\n" + \
        "\n".join(stale)


# The writes a project's reader may make, each for a reason of OpenStack's: what the user
# owns rather than the project (its tokens, password, application credentials,
# credentials and keypairs), and the network agents, which are hidden (404) from all but the admin.
READER_WRITES = {
    Route("identity", "/v3/auth/tokens", "POST"): "a user authenticates",
    Route("identity", "/v3/auth/tokens", "DELETE"): "a user revokes its own token",
    Route("identity", "/v3/users/{user_id}/password", "POST"): "its own password",
    Route("identity", "/v3/users/{user_id}/application_credentials", "POST"):
        "its own application credentials",
    Route("identity", "/v3/users/{user_id}/application_credentials/{app_cred_id}",
          "DELETE"): "its own application credentials",
    Route("identity", "/v3/users/{user_id}/access_rules/{access_rule_id}", "DELETE"):
        "its own access rules",
    Route("identity", "/v3/OS-OAUTH1/request_token", "POST"):
        "a consumer's signed request: the signature is the credential",
    Route("identity", "/v3/OS-OAUTH1/access_token", "POST"):
        "a consumer's signed request: the signature is the credential",
    Route("identity", "/v3/credentials", "POST"): "its own credentials",
    Route("identity", "/v3/credentials/{credential_id}", "PATCH"): "its own credentials",
    Route("identity", "/v3/credentials/{credential_id}", "DELETE"): "its own credentials",
    Route("compute", "/v2.1/os-keypairs", "POST"): "its own keypairs (Nova: user_id rule)",
    Route("compute", "/v2.1/os-keypairs/{name}", "DELETE"): "its own keypairs",
    Route("network", "/v2.0/agents/{agent_id}", "PUT"): "hidden: 404",
    Route("network", "/v2.0/agents/{agent_id}", "DELETE"): "hidden: 404",
    **{Route("compute", template, method): "gone: Nova's 410 for everyone"
       for method, template in NOVA_NETWORK_ONLY},
}


async def test_a_reader_never_writes_the_projects_resources() -> None:
    """Every write route of every service refuses a reader of the owning project (403),
    but the few that are the user's own (READER_WRITES); test_rbac_matrix proves the
    declared outcomes against the running services."""
    writes = [route for route in EXPECTATIONS
              if route.method in ("POST", "PUT", "PATCH", "DELETE")]
    assert len(writes) > 150
    wrong = sorted(f"{route}: {EXPECTATIONS[route]}" for route in writes
                   if route not in READER_WRITES
                   and EXPECTATIONS[route].outcome("own", "reader") != "d")
    assert not wrong, "a reader may write:\n" + "\n".join(wrong)
    exceptions = {route for route in writes
                  if EXPECTATIONS[route].outcome("own", "reader") != "d"}
    assert exceptions == set(READER_WRITES)


async def observe(world: World, route: Route, side: str, role: str, expected: str
                  ) -> tuple[str, str]:
    """What ``role`` of the own project gets from ``route`` on ``side``'s resources: the
    outcome's letter and, where it is an error, the start of the error body."""
    cell = Cell(world, route, side, role, world.params(route, side, role))
    made = await prepare(cell) if expected == "o" else {}
    cell.params.update(made)
    document = await valid_body(cell)
    headers = await world.headers(route, side, role, fresh=expected == "o")
    if document is not None:
        headers["Content-Type"] = document.media_type
    r = await world.request(route, route.path(cell.params), token=cell.caller_token,
                            headers=headers, params=world.query(route, side),
                            content=document.content if document else None)
    observed = outcome_of(r.status_code)
    if observed == "o" and not made:
        await restore(cell)
    return observed, r.text[:160] if r.status_code >= 400 else ""


@pytest.mark.parametrize("service", ["identity", "image", "placement", "compute", "network",
                                     "volume"])
async def test_rbac_matrix(world: World, service: str) -> None:
    failures = []
    for route in every_route():
        if route.service != service or route not in EXPECTATIONS:
            continue
        expected: Expected = EXPECTATIONS[route]
        observed = {(side, role): await observe(world, route, side, role,
                                                expected.outcome(side, role))
                    for side in SIDES for role in ROLES}
        wrong = [f"{side} {role}: {got} {detail}".rstrip()
                 for (side, role), (got, detail) in observed.items()
                 if got != expected.outcome(side, role)]
        if wrong:
            failures.append(f"{route}: expected {expected}, got " + ", ".join(wrong))
    assert not failures, f"{len(failures)} routes answer the wrong callers:\n" + \
        "\n".join(failures)
