"""The quota API: a project's limits, defaults and usage, who may read and change them,
Neutron's checks on new limits, and limits that creates then meet."""

from __future__ import annotations

from pathlib import Path

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make
from ownstack.common.context import RequestContext
from ownstack.network.objects import ports

QUOTAS = "/v2.0/quotas"
DEFAULTS = {"network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10,
            "floatingip": 50, "security_group": 10, "security_group_rule": 100,
            "rbac_policy": 10}
_ADMIN = RequestContext(request_id="req-test", roles=("admin",))


async def test_a_project_reads_its_own_quotas_defaults_and_usage(network: ServiceClient
                                                                 ) -> None:
    project, token = await network.project_user_token()
    user = await network.identity.make_user(project=project, role="reader", password="pw")
    reader = await network.identity.token(user["name"], "pw", project=project["name"])
    url = f"{QUOTAS}/{project['id']}"
    for caller in (token, reader):
        r = await network.call("GET", url, token=caller, expect=200)
        assert r.json() == {"quota": DEFAULTS}
        r = await network.call("GET", f"{url}/default", token=caller, expect=200)
        assert r.json() == {"quota": DEFAULTS}
    await make(network, "network", token)
    await make(network, "security_group", token, name="web")     # and the default group
    r = await network.call("GET", f"{url}/details", token=reader, expect=200)
    details = r.json()["quota"]
    assert set(details) == set(DEFAULTS)
    assert details["network"] == {"used": 1, "limit": 100, "reserved": 0}
    assert details["security_group"] == {"used": 2, "limit": 10, "reserved": 0}
    assert details["security_group_rule"] == {"used": 6, "limit": 100, "reserved": 0}
    assert details["port"]["used"] == 0
    r = await network.call("GET", f"{QUOTAS}/project", token=token, expect=200)
    assert r.json() == {"project": {"project_id": project["id"]}}
    r = await network.call("GET", f"{QUOTAS}/tenant", token=token, expect=200)
    assert r.json() == {"tenant": {"tenant_id": project["id"]}}


async def test_another_projects_quotas_are_for_an_admin(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    other = await network.identity.make_project()
    url = f"{QUOTAS}/{other['id']}"
    for path in (url, f"{url}/default", QUOTAS):
        r = await network.call("GET", path, token=token, expect=403)
        assert error_type(r) == "PolicyNotAuthorized", path
    r = await network.call("GET", f"{url}/details", token=token, expect=403)
    assert error_type(r) == "AdminRequired"
    assert r.json()["NeutronError"]["message"] == ("User does not have admin privileges: Only "
                                                   "admin is authorized to access quotas for "
                                                   "another project.")
    await network.call("GET", url, expect=200)
    await network.call("GET", f"{url}/details", expect=200)


async def test_only_an_admin_changes_and_resets_limits(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    url = f"{QUOTAS}/{project['id']}"
    r = await network.call("PUT", url, token=token, json={"quota": {"network": 5}},
                           expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    r = await network.call("PUT", url, json={"quota": {"network": "5", "port": -1}},
                           expect=200)
    assert r.json() == {"quota": {**DEFAULTS, "network": 5, "port": -1}}
    r = await network.call("GET", url, token=token, expect=200)
    assert r.json()["quota"]["network"] == 5
    r = await network.call("GET", f"{url}/default", token=token, expect=200)
    assert r.json()["quota"]["network"] == 100
    r = await network.call("GET", QUOTAS, expect=200)
    listed = [q for q in r.json()["quotas"] if q["project_id"] == project["id"]]
    assert listed == [{**DEFAULTS, "network": 5, "port": -1, "project_id": project["id"],
                       "tenant_id": project["id"]}]
    r = await network.call("DELETE", url, token=token, expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    await network.call("DELETE", url, expect=204)
    r = await network.call("GET", url, token=token, expect=200)
    assert r.json() == {"quota": DEFAULTS}
    r = await network.call("DELETE", url, expect=404)
    assert error_type(r) == "TenantQuotaNotFound"
    r = await network.call("GET", QUOTAS, expect=200)
    assert project["id"] not in {q["project_id"] for q in r.json()["quotas"]}


async def test_bad_limits_are_400(network: ServiceClient) -> None:
    project, _ = await network.project_user_token()
    url = f"{QUOTAS}/{project['id']}"
    for body, kind in (({"quota": {"networks": 5}}, "HTTPBadRequest"),
                       ({"quota": {"network": -2}}, "HTTPBadRequest"),
                       ({"quota": {"network": 2**31}}, "HTTPBadRequest"),
                       ({"quota": {"network": "many"}}, "InvalidInput"),
                       ({"quota": {"network": True}}, "InvalidInput"),
                       ({"quota": {"network": None}}, "InvalidInput"),
                       ({"quotas": {"network": 1}}, "HTTPBadRequest"),
                       ({"quota": []}, "HTTPBadRequest")):
        r = await network.call("PUT", url, json=body, expect=400)
        assert error_type(r) == kind, body
    r = await network.call("GET", url, expect=200)
    assert r.json() == {"quota": DEFAULTS}
    await network.call("POST", QUOTAS, json={"quota": {}}, expect=405)


async def test_a_limit_below_usage_needs_force_and_then_binds(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    url = f"{QUOTAS}/{project['id']}"
    await make(network, "network", token)
    await make(network, "network", token)
    r = await network.call("PUT", url, json={"quota": {"network": 1}}, expect=400)
    assert error_type(r) == "HTTPBadRequest"
    assert r.json()["NeutronError"]["message"] == \
        "Quota limit 1 for network must be greater than or equal to already used 2"
    await network.call("PUT", url, json={"quota": {"network": 1, "force": True}}, expect=200)
    r = await network.call("POST", "/v2.0/networks", token=token, json={"network": {}},
                           expect=409)
    assert error_type(r) == "OverQuota"
    await network.call("PUT", url, json={"quota": {"network": 3, "check_limit": True}},
                       expect=200)
    await make(network, "network", token)
    # As in Neutron, the quota is checked before the first create makes the default group:
    # with a limit of 1 the project's first group is made, and the default one beside it.
    await network.call("PUT", url, json={"quota": {"security_group": 1}}, expect=200)
    await make(network, "security_group", token, name="web")
    r = await network.call("POST", "/v2.0/security-groups", token=token,
                           json={"security_group": {"name": "db"}}, expect=409)
    assert error_type(r) == "OverQuota"
    r = await network.call("GET", f"{url}/details", token=token, expect=200)
    assert r.json()["quota"]["security_group"] == {"used": 2, "limit": 1, "reserved": 0}


async def test_an_unlimited_default_counts_nothing_and_a_projects_own_limit_binds(
        tmp_path: Path) -> None:
    """With the defaults unlimited (as Neutron's ``quota_* = -1``), no create counts the
    project's rows (decision 98: the usage reads NULL), and a project's own limit still
    binds exactly, each resource's create at its limit refused; with a default limit, a
    project's own -1 lifts it."""
    config = make_config(tmp_path, *(f"network.quota.{name}=-1" for name in (
        "network", "subnet", "port", "router", "security_group", "security_group_rule")))
    async for network in make_service_client(config, "network"):
        project, token = await network.project_user_token()
        net = await make(network, "network", token)
        async with network.app.svc.db.read() as db:
            found = await ports.network_for_port(db, network.app.svc.settings, _ADMIN,
                                                 net["id"], project["id"])
        assert found.quota == (None, None)
        await network.call("PUT", f"{QUOTAS}/{project['id']}", expect=200, json={"quota": {
            "network": 2, "subnet": 1, "port": 2, "router": 1, "security_group": 2,
            "security_group_rule": 6}})
        await make(network, "network", token)
        await make(network, "subnet", token, network_id=net["id"], cidr="10.9.0.0/24",
                   ip_version=4)
        await make(network, "port", token, network_id=net["id"])
        await make(network, "port", token, network_id=net["id"])
        await make(network, "router", token)
        await make(network, "security_group", token, name="web")    # and the default group
        for collection, body in (
                ("networks", {"network": {}}),
                ("subnets", {"subnet": {"network_id": net["id"], "cidr": "10.8.0.0/24",
                                        "ip_version": 4}}),
                ("ports", {"port": {"network_id": net["id"]}}),
                ("routers", {"router": {}}),
                ("security-groups", {"security_group": {"name": "db"}})):
            r = await network.call("POST", f"/v2.0/{collection}", token=token, json=body,
                                   expect=409)
            assert error_type(r) == "OverQuota", collection
        async with network.app.svc.db.read() as db:
            found = await ports.network_for_port(db, network.app.svc.settings, _ADMIN,
                                                 net["id"], project["id"])
        assert found.quota == (2, 2)
    config = make_config(tmp_path / "limited", "network.quota.port=1")
    async for network in make_service_client(config, "network"):
        project, token = await network.project_user_token()
        net = await make(network, "network", token)
        await make(network, "port", token, network_id=net["id"])
        r = await network.call("POST", "/v2.0/ports", token=token, expect=409,
                               json={"port": {"network_id": net["id"]}})
        assert error_type(r) == "OverQuota"
        async with network.app.svc.db.read() as db:
            found = await ports.network_for_port(db, network.app.svc.settings, _ADMIN,
                                                 net["id"], project["id"])
        assert found.quota == (None, 1)
        await network.call("PUT", f"{QUOTAS}/{project['id']}", expect=200,
                           json={"quota": {"port": -1}})
        await make(network, "port", token, network_id=net["id"])
        await make(network, "port", token, network_id=net["id"])
