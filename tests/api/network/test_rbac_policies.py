"""RBAC policies: a network's owner shares it with one project or all, or makes it
external for them; what each project then sees, and what the policies refuse."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make

RBAC = "/v2.0/rbac-policies"
NET = "/v2.0/networks"


def _policy(network_id: str, target: str, action: str = "access_as_shared") -> dict[str, Any]:
    return {"rbac_policy": {"object_type": "network", "object_id": network_id,
                            "action": action, "target_tenant": target}}


async def _visible(network: ServiceClient, token: str, network_id: str) -> bool:
    r = await network.call("GET", NET, token=token, params={"id": network_id}, expect=200)
    return bool(r.json()["networks"])


async def test_sharing_with_one_project(network: ServiceClient) -> None:
    _, owner = await network.project_user_token()
    guest_project, guest = await network.project_user_token()
    _, stranger = await network.project_user_token()
    net = await make(network, "network", owner)
    assert not await _visible(network, guest, net["id"])
    r = await network.call("POST", RBAC, token=owner, expect=201,
                           json=_policy(net["id"], guest_project["id"]))
    policy = r.json()["rbac_policy"]
    assert policy["target_tenant"] == guest_project["id"] and policy["object_id"] == net["id"]
    assert policy["project_id"] == net["project_id"]
    assert await _visible(network, guest, net["id"])
    assert not await _visible(network, stranger, net["id"])
    # Shared as the guest sees it; not shared with everyone as the owner sees it.
    r = await network.call("GET", f"{NET}/{net['id']}", token=guest, expect=200)
    assert r.json()["network"]["shared"] is True
    r = await network.call("GET", f"{NET}/{net['id']}", token=owner, expect=200)
    assert r.json()["network"]["shared"] is False
    # The policy is the owner's to see, not the guest's.
    r = await network.call("GET", RBAC, token=owner, expect=200)
    assert [p["id"] for p in r.json()["rbac_policies"]] == [policy["id"]]
    r = await network.call("GET", f"{RBAC}/{policy['id']}", token=guest, expect=404)
    assert error_type(r) == "RbacPolicyNotFound"
    r = await network.call("POST", RBAC, token=owner, expect=409,
                           json=_policy(net["id"], guest_project["id"]))
    assert error_type(r) == "DuplicateRbacPolicy"
    # The guest may not pass the network on, and the stranger does not see it at all.
    r = await network.call("POST", RBAC, token=guest, expect=400,
                           json=_policy(net["id"], str(uuid.uuid4())))
    assert error_type(r) == "InvalidInput"
    r = await network.call("POST", RBAC, token=stranger, expect=404,
                           json=_policy(net["id"], str(uuid.uuid4())))
    assert error_type(r) == "NetworkNotFound"
    # Retargeted, then deleted: the guest loses sight of it.
    other_project = str(uuid.uuid4())
    r = await network.call("PUT", f"{RBAC}/{policy['id']}", token=owner, expect=200,
                           json={"rbac_policy": {"target_tenant": other_project}})
    assert r.json()["rbac_policy"]["target_tenant"] == other_project
    assert not await _visible(network, guest, net["id"])
    await network.call("DELETE", f"{RBAC}/{policy['id']}", token=owner, expect=204)
    await network.call("GET", f"{RBAC}/{policy['id']}", token=owner, expect=404)


async def test_everyone_is_the_admins_to_say(network: ServiceClient) -> None:
    _, owner = await network.project_user_token()
    _, other = await network.project_user_token()
    net = await make(network, "network", owner)
    r = await network.call("POST", RBAC, token=owner, json=_policy(net["id"], "*"),
                           expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    r = await network.call("POST", RBAC, json=_policy(net["id"], "*"), expect=201)
    wildcard = r.json()["rbac_policy"]
    assert await _visible(network, other, net["id"])
    r = await network.call("GET", f"{NET}/{net['id']}", token=owner, expect=200)
    assert r.json()["network"]["shared"] is True
    await network.call("DELETE", f"{RBAC}/{wildcard['id']}", expect=204)
    assert not await _visible(network, other, net["id"])
    r = await network.call("GET", f"{NET}/{net['id']}", token=owner, expect=200)
    assert r.json()["network"]["shared"] is False


async def test_shared_and_external_networks_have_their_wildcard_policies(
        network: ServiceClient) -> None:
    public = await make(network, "network", None, shared=True, **{"router:external": True})
    r = await network.call("GET", RBAC, params={"object_id": public["id"]}, expect=200)
    assert sorted((p["action"], p["target_tenant"]) for p in r.json()["rbac_policies"]) == \
        [("access_as_external", "*"), ("access_as_shared", "*")]
    r = await network.call("PUT", f"{NET}/{public['id']}", expect=200, json={"network": {
        "shared": False, "router:external": False}})
    assert (r.json()["network"]["shared"], r.json()["network"]["router:external"]) == \
        (False, False)
    r = await network.call("GET", RBAC, params={"object_id": public["id"]}, expect=200)
    assert r.json()["rbac_policies"] == []


async def test_external_for_one_project(network: ServiceClient) -> None:
    _, owner = await network.project_user_token()
    guest_project, guest = await network.project_user_token()
    _, stranger = await network.project_user_token()
    net = await make(network, "network", owner)
    await network.call("POST", RBAC, token=owner, expect=201,
                       json=_policy(net["id"], guest_project["id"], "access_as_external"))
    r = await network.call("GET", NET, token=guest,
                           params={"router:external": "true", "id": net["id"]}, expect=200)
    assert [n["router:external"] for n in r.json()["networks"]] == [True]
    assert not await _visible(network, stranger, net["id"])


async def test_a_policy_others_ports_rely_on_stays(network: ServiceClient) -> None:
    from ownstack.network.objects.models import Port

    _, owner = await network.project_user_token()
    guest_project, _ = await network.project_user_token()
    net = await make(network, "network", owner)
    r = await network.call("POST", RBAC, token=owner, expect=201,
                           json=_policy(net["id"], guest_project["id"]))
    policy = r.json()["rbac_policy"]
    async with network.app.svc.write() as db:
        db.add(Port(id=str(uuid.uuid4()), project_id=guest_project["id"],
                    network_id=net["id"], mac_address="fa:16:3e:00:00:01"))
    r = await network.call("DELETE", f"{RBAC}/{policy['id']}", token=owner, expect=409)
    assert error_type(r) == "RbacPolicyInUse"
    await network.call("PUT", f"{RBAC}/{policy['id']}", token=owner, expect=409,
                       json={"rbac_policy": {"target_tenant": str(uuid.uuid4())}})
    # With everyone let in by the admin, the named policy is no longer needed.
    await network.call("POST", RBAC, json=_policy(net["id"], "*"), expect=201)
    await network.call("DELETE", f"{RBAC}/{policy['id']}", token=owner, expect=204)


async def test_an_external_policy_another_projects_router_gateway_relies_on_stays(
        network: ServiceClient) -> None:
    """Neutron's ``_validate_ext_not_in_use_by_tenant``: revoking (or retargeting) the
    ``access_as_external`` policy that lets a project's router have its gateway on the
    network is a 409 ``RbacPolicyInUse``; another policy letting it in, or the router
    gone, lets it go."""
    _, owner = await network.project_user_token()
    guest_project, guest = await network.project_user_token()
    net = await make(network, "network", owner)
    await make(network, "subnet", owner, network_id=net["id"], cidr="172.30.4.0/24",
               ip_version=4)
    r = await network.call("POST", RBAC, token=owner, expect=201,
                           json=_policy(net["id"], guest_project["id"], "access_as_external"))
    policy = r.json()["rbac_policy"]
    router = await make(network, "router", guest, name="r1",
                        external_gateway_info={"network_id": net["id"]})
    assert router["external_gateway_info"]["network_id"] == net["id"]

    r = await network.call("DELETE", f"{RBAC}/{policy['id']}", token=owner, expect=409)
    assert error_type(r) == "RbacPolicyInUse"
    message = r.json()["NeutronError"]["message"]
    assert net["id"] in message and "routers attached to this network" in message
    await network.call("PUT", f"{RBAC}/{policy['id']}", token=owner, expect=409,
                       json={"rbac_policy": {"target_tenant": str(uuid.uuid4())}})
    # The wildcard policy for everyone: its removal is refused too while only it is left.
    r = await network.call("POST", RBAC, expect=201,
                           json=_policy(net["id"], "*", "access_as_external"))
    everyone = r.json()["rbac_policy"]
    await network.call("DELETE", f"{RBAC}/{policy['id']}", token=owner, expect=204)
    r = await network.call("DELETE", f"{RBAC}/{everyone['id']}", expect=409)
    assert error_type(r) == "RbacPolicyInUse"
    # The router's gateway cleared: nothing depends on the policy any more.
    await network.call("PUT", f"/v2.0/routers/{router['id']}", token=guest, expect=200,
                       json={"router": {"external_gateway_info": {}}})
    await network.call("DELETE", f"{RBAC}/{everyone['id']}", expect=204)


async def test_bad_policies(network: ServiceClient) -> None:
    net = await make(network, "network", None)
    for body in ({"rbac_policy": {"object_type": "qos_policy", "object_id": net["id"],
                                  "action": "access_as_shared", "target_tenant": "x"}},
                 {"rbac_policy": {"object_type": "network", "object_id": net["id"],
                                  "action": "access_as_owner", "target_tenant": "x"}},
                 {"rbac_policy": {"object_type": "network", "object_id": net["id"],
                                  "action": "access_as_shared"}},
                 {"rbac_policy": {"object_type": "network", "object_id": net["id"],
                                  "action": "access_as_shared", "target_tenant": "x",
                                  "color": "red"}}):
        await network.call("POST", RBAC, json=body, expect=400)
    r = await network.call("POST", RBAC, json=_policy(str(uuid.uuid4()), "x"), expect=404)
    assert error_type(r) == "NetworkNotFound"


async def test_rbac_policy_quota(tmp_path: Path) -> None:
    async for network in make_service_client(make_config(tmp_path,
                                                         "network.quota.rbac_policy=1"),
                                             "network"):
        _, owner = await network.project_user_token()
        net = await make(network, "network", owner)
        await network.call("POST", RBAC, token=owner, json=_policy(net["id"], "a"),
                           expect=201)
        r = await network.call("POST", RBAC, token=owner, json=_policy(net["id"], "b"),
                               expect=409)
        assert error_type(r) == "OverQuota"
