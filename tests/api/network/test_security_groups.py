"""Security groups: the default group made once on first use with Neutron's rules, the two
egress rules of every other group, who sees and changes what, the "default" name, groups in
use, revisions, tags, list queries and the security-group quota."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from helpers.inprocess import ServiceClient, make_config, make_service_client
from helpers.network import error_type, make
from ownstack.network.objects import security_groups
from ownstack.network.objects.models import Network, Port, PortSecurityGroup

SG = "/v2.0/security-groups"
RULES = "/v2.0/security-group-rules"


def _shape(rule: dict[str, Any]) -> tuple[Any, ...]:
    return (rule["direction"], rule["ethertype"], rule["protocol"], rule["port_range_min"],
            rule["port_range_max"], rule["remote_ip_prefix"], rule["remote_group_id"])


async def _groups(client: ServiceClient, token: str | None, **params: str
                  ) -> list[dict[str, Any]]:
    r = await client.call("GET", SG, token=token, params=params, expect=200)
    groups: list[dict[str, Any]] = r.json()["security_groups"]
    return groups


async def _reader(client: ServiceClient, project: dict[str, Any]) -> str:
    user = await client.identity.make_user(project=project, role="reader", password="pw")
    return await client.identity.token(user["name"], "pw", project=project["name"])


async def test_first_list_makes_the_default_group_with_neutrons_rules(network: ServiceClient
                                                                      ) -> None:
    project, token = await network.project_user_token()
    (default,) = await _groups(network, token)
    assert default["name"] == "default" and default["description"] == "Default security group"
    assert default["project_id"] == default["tenant_id"] == project["id"]
    assert default["stateful"] is True and default["shared"] is False
    assert default["tags"] == [] and default["revision_number"] == 1
    assert default["created_at"].endswith("Z")
    assert sorted(_shape(rule) for rule in default["security_group_rules"]) == sorted([
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None),
        ("ingress", "IPv4", None, None, None, None, default["id"]),
        ("ingress", "IPv6", None, None, None, None, default["id"]),
    ])
    assert all(rule["belongs_to_default_sg"] is True and rule["project_id"] == project["id"]
               for rule in default["security_group_rules"])
    # The next list shows the same group, not a second one.
    assert [g["id"] for g in await _groups(network, token)] == [default["id"]]
    r = await network.call("GET", RULES, token=token, expect=200)
    assert {rule["id"] for rule in r.json()["security_group_rules"]} == \
        {rule["id"] for rule in default["security_group_rules"]}


async def test_concurrent_first_uses_make_one_default_group(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    results = await asyncio.gather(
        *(network.call("GET", SG, token=token) for _ in range(8)),
        *(network.call("GET", RULES, token=token) for _ in range(4)),
        *(network.call("POST", SG, token=token, json={"security_group": {"name": f"g{i}"}})
          for i in range(3)))
    assert all(r.status_code in (200, 201) for r in results), [r.text for r in results]
    groups = await _groups(network, token)
    defaults = [g for g in groups if g["name"] == "default"]
    assert len(defaults) == 1 and len(groups) == 4
    for r in results[:8]:
        seen = [g["id"] for g in r.json()["security_groups"] if g["name"] == "default"]
        assert seen == [defaults[0]["id"]]
    r = await network.call("GET", RULES, token=token, expect=200)
    assert len(r.json()["security_group_rules"]) == 4 + 3 * 2


async def test_a_new_group_gets_the_two_egress_rules(network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    web = await make(network, "security_group", token, name="web", description="for www")
    assert (web["name"], web["description"], web["project_id"]) == \
        ("web", "for www", project["id"])
    assert web["stateful"] is True and web["shared"] is False and web["revision_number"] == 1
    assert sorted(_shape(rule) for rule in web["security_group_rules"]) == [
        ("egress", "IPv4", None, None, None, None, None),
        ("egress", "IPv6", None, None, None, None, None)]
    assert all(rule["belongs_to_default_sg"] is False and rule["security_group_id"] == web["id"]
               for rule in web["security_group_rules"])
    # Creating the first group made the project's default group too.
    assert sorted(g["name"] for g in await _groups(network, token)) == ["default", "web"]
    stateless = await make(network, "security_group", token, name="fast", stateful="false")
    assert stateless["stateful"] is False
    # The create's answer (built from what it wrote) is what a read of the group shows.
    for made in (web, stateless):
        r = await network.call("GET", f"{SG}/{made['id']}", token=token, expect=200)
        assert r.json()["security_group"] == made


async def test_another_projects_groups_are_404_and_an_admin_sees_all(network: ServiceClient
                                                                     ) -> None:
    _, alice = await network.project_user_token()
    bob_project, bob = await network.project_user_token()
    mine = await make(network, "security_group", alice, name="same")
    theirs = await make(network, "security_group", bob, name="same")
    assert theirs["id"] not in {g["id"] for g in await _groups(network, alice)}
    url = f"{SG}/{theirs['id']}"
    r = await network.call("GET", url, token=alice, expect=404)
    assert error_type(r) == "SecurityGroupNotFound"
    assert r.json()["NeutronError"]["message"] == \
        f"Security group {theirs['id']} does not exist"
    await network.call("PUT", url, token=alice, json={"security_group": {"name": "x"}},
                       expect=404)
    await network.call("DELETE", url, token=alice, expect=404)
    await network.call("GET", f"{url}/tags", token=alice, expect=404)
    # Listing another project's groups by filter shows nothing and makes nothing for it.
    assert await _groups(network, alice, project_id=bob_project["id"]) == []
    # The admin sees both projects' groups, and may filter by project.
    admin_view = {g["id"] for g in await _groups(network, None)}
    assert {mine["id"], theirs["id"]} <= admin_view
    assert {g["name"] for g in await _groups(network, None, project_id=bob_project["id"])} \
        == {"default", "same"}
    await network.call("GET", url, expect=200)


async def test_an_admin_listing_for_a_new_project_makes_its_default_group(
        network: ServiceClient) -> None:
    project = await network.identity.make_project()
    (default,) = await _groups(network, None, project_id=project["id"])
    assert default["name"] == "default" and default["project_id"] == project["id"]


async def test_a_reader_reads_and_never_writes(network: ServiceClient) -> None:
    project, member = await network.project_user_token()
    reader = await _reader(network, project)
    web = await make(network, "security_group", member, name="web")
    url = f"{SG}/{web['id']}"
    await network.call("GET", url, token=reader, expect=200)
    assert len(await _groups(network, reader)) == 2
    r = await network.call("POST", SG, token=reader, json={"security_group": {}}, expect=403)
    assert error_type(r) == "PolicyNotAuthorized"
    await network.call("PUT", url, token=reader, json={"security_group": {"name": "x"}},
                       expect=403)
    await network.call("DELETE", url, token=reader, expect=403)
    await network.call("PUT", f"{url}/tags/x", token=reader, expect=403)
    r = await network.call("POST", RULES, token=reader, expect=403, json={
        "security_group_rule": {"security_group_id": web["id"], "direction": "ingress"}})
    assert error_type(r) == "PolicyNotAuthorized"
    rule_id = web["security_group_rules"][0]["id"]
    await network.call("GET", f"{RULES}/{rule_id}", token=reader, expect=200)
    await network.call("DELETE", f"{RULES}/{rule_id}", token=reader, expect=403)


async def test_only_the_default_group_is_called_default(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    for name in ("default", "Default", "DEFAULT"):
        r = await network.call("POST", SG, token=token, json={"security_group": {"name": name}},
                               expect=409)
        assert error_type(r) == "SecurityGroupDefaultAlreadyExists"
        assert r.json()["NeutronError"]["message"] == "Default security group already exists."
    web = await make(network, "security_group", token, name="web")
    r = await network.call("PUT", f"{SG}/{web['id']}", token=token,
                           json={"security_group": {"name": "default"}}, expect=409)
    assert error_type(r) == "SecurityGroupDefaultAlreadyExists"
    default = next(g for g in await _groups(network, token) if g["name"] == "default")
    r = await network.call("PUT", f"{SG}/{default['id']}", token=token,
                           json={"security_group": {"name": "mine"}}, expect=409)
    assert error_type(r) == "SecurityGroupCannotUpdateDefault"
    assert r.json()["NeutronError"]["message"] == "Updating default security group not allowed."
    r = await network.call("PUT", f"{SG}/{default['id']}", token=token,
                           json={"security_group": {"description": "ours"}}, expect=200)
    assert r.json()["security_group"]["description"] == "ours"
    assert r.json()["security_group"]["name"] == "default"


async def test_update_bumps_the_revision_and_if_match_guards_it(network: ServiceClient
                                                                ) -> None:
    _, token = await network.project_user_token()
    web = await make(network, "security_group", token, name="web")
    url = f"{SG}/{web['id']}"
    r = await network.call("PUT", url, token=token, json={"security_group": {
        "name": "www", "description": "d", "stateful": False}}, expect=200)
    updated = r.json()["security_group"]
    assert (updated["name"], updated["description"], updated["stateful"]) == \
        ("www", "d", False)
    assert updated["revision_number"] == 2
    assert len(updated["security_group_rules"]) == 2
    r = await network.call("PUT", url, token=token, headers={"If-Match": "revision_number=1"},
                           json={"security_group": {"name": "x"}}, expect=412)
    assert error_type(r) == "RevisionNumberConstraintFailed"
    await network.call("DELETE", url, token=token, headers={"If-Match": "revision_number=1"},
                       expect=412)
    await network.call("DELETE", url, token=token, headers={"If-Match": "revision_number=2"},
                       expect=204)
    await network.call("GET", url, token=token, expect=404)


async def test_bad_bodies_are_400(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    web = await make(network, "security_group", token)
    for body in ({"security_group": {"color": "red"}}, {"security_group": {"name": 7}},
                 {"security_group": {"stateful": "maybe"}}, {"security_groups": {}},
                 {"security_group": {"name": "x" * 256}}, {"security_group": []}):
        r = await network.call("POST", SG, token=token, json=body, expect=400)
        assert error_type(r) == "HTTPBadRequest", body
    r = await network.call("PUT", f"{SG}/{web['id']}", token=token,
                           json={"security_group": {"project_id": "other"}}, expect=400)
    assert error_type(r) == "HTTPBadRequest"
    # A member cannot make a group for another project.
    other = await network.identity.make_project()
    r = await network.call("POST", SG, token=token,
                           json={"security_group": {"project_id": other["id"]}}, expect=400)
    assert error_type(r) == "HTTPBadRequest"


async def test_the_default_group_is_deleted_only_by_an_admin(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    (default,) = await _groups(network, token)
    url = f"{SG}/{default['id']}"
    r = await network.call("DELETE", url, token=token, expect=409)
    assert error_type(r) == "SecurityGroupCannotRemoveDefault"
    assert r.json()["NeutronError"]["message"] == \
        "Insufficient rights for removing default security group."
    await network.call("DELETE", url, expect=204)          # the admin, as Tempest cleans up
    r = await network.call("GET", RULES, expect=200,
                           params={"security_group_id": default["id"]})
    assert r.json()["security_group_rules"] == []
    # The project's next use makes a new one.
    (again,) = await _groups(network, token)
    assert again["name"] == "default" and again["id"] != default["id"]


async def test_deleting_a_group_drops_the_rules_that_name_it_as_remote(network: ServiceClient
                                                                       ) -> None:
    _, token = await network.project_user_token()
    web = await make(network, "security_group", token, name="web")
    db = await make(network, "security_group", token, name="db")
    rule = await make(network, "security_group_rule", token, security_group_id=db["id"],
                      direction="ingress", remote_group_id=web["id"])
    await network.call("DELETE", f"{SG}/{web['id']}", token=token, expect=204)
    await network.call("GET", f"{RULES}/{rule['id']}", token=token, expect=404)
    r = await network.call("GET", f"{SG}/{db['id']}", token=token, expect=200)
    assert len(r.json()["security_group"]["security_group_rules"]) == 2


async def _bind(network: ServiceClient, project_id: str, group_id: str) -> None:
    """A port in ``group_id``, written straight into the tables until ports have an API."""
    net_id, port_id = str(uuid.uuid4()), str(uuid.uuid4())
    async with network.app.svc.write() as db:
        db.add(Network(id=net_id, project_id=project_id, mtu=1450, network_type="vxlan",
                       segmentation_id=4000))
        await db.flush()
        db.add(Port(id=port_id, project_id=project_id, network_id=net_id,
                    mac_address="fa:16:3e:00:00:01"))
        await db.flush()
        db.add(PortSecurityGroup(port_id=port_id, security_group_id=group_id))


async def test_a_group_in_use_by_a_port_is_not_deleted_nor_made_stateless(
        network: ServiceClient) -> None:
    project, token = await network.project_user_token()
    web = await make(network, "security_group", token, name="web")
    await _bind(network, project["id"], web["id"])
    url = f"{SG}/{web['id']}"
    r = await network.call("DELETE", url, token=token, expect=409)
    assert error_type(r) == "SecurityGroupInUse"
    assert r.json()["NeutronError"]["message"] == f"Security Group {web['id']} in use."
    r = await network.call("PUT", url, token=token,
                           json={"security_group": {"stateful": False}}, expect=409)
    assert error_type(r) == "SecurityGroupInUse"
    # What does not touch the ports' filtering may still change.
    await network.call("PUT", url, token=token, expect=200,
                       json={"security_group": {"name": "www", "stateful": True}})
    await network.call("DELETE", url, expect=409)           # not even the admin


async def test_tags_on_groups(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    red = await make(network, "security_group", token, name="red")
    await make(network, "security_group", token, name="blue")
    tags = f"{SG}/{red['id']}/tags"
    r = await network.call("PUT", tags, token=token, json={"tags": ["b", "a"]}, expect=200)
    assert r.json() == {"tags": ["a", "b"]}
    await network.call("PUT", f"{tags}/c", token=token, expect=201)
    await network.call("GET", f"{tags}/c", token=token, expect=204)
    await network.call("DELETE", f"{tags}/a", token=token, expect=204)
    r = await network.call("GET", f"{SG}/{red['id']}", token=token, expect=200)
    assert r.json()["security_group"]["tags"] == ["b", "c"]
    assert r.json()["security_group"]["revision_number"] > 1
    assert [g["name"] for g in await _groups(network, token, tags="c")] == ["red"]
    assert sorted(g["name"] for g in await _groups(network, token, **{"not-tags": "c"})) == \
        ["blue", "default"]


async def test_list_filters_fields_sorting_and_pages(network: ServiceClient) -> None:
    _, token = await network.project_user_token()
    for name in ("b", "a", "c"):
        await make(network, "security_group", token, name=name, stateful=name != "c")
    r = await network.call("GET", SG, token=token, params=[
        ("sort_key", "name"), ("sort_dir", "desc"), ("fields", "name"), ("fields", "id")],
        expect=200)
    items = r.json()["security_groups"]
    assert [g["name"] for g in items] == ["default", "c", "b", "a"]
    assert all(set(g) == {"name", "id"} for g in items)
    assert [g["name"] for g in await _groups(network, token, stateful="false")] == ["c"]
    r = await network.call("GET", SG, token=token, expect=200,
                           params={"sort_key": "name", "sort_dir": "asc", "limit": "2"})
    assert [g["name"] for g in r.json()["security_groups"]] == ["a", "b"]
    assert [link["rel"] for link in r.json()["security_groups_links"]] == ["next"]
    for params in ({"color": "red"}, {"stateful": "perhaps"}, {"sort_key": "color",
                                                                "sort_dir": "asc"}):
        r = await network.call("GET", SG, token=token, params=params, expect=400)
        assert error_type(r) in ("BadRequest", "InvalidInput"), params


async def test_extensions_list_security_groups_and_quotas(network: ServiceClient) -> None:
    r = await network.call("GET", "/v2.0/extensions", expect=200)
    aliases = {e["alias"] for e in r.json()["extensions"]}
    assert {"security-group", "stateful-security-group", "security-groups-normalized-cidr",
            "security-groups-rules-belongs-to-default-sg", "quotas", "quota_details"} <= aliases
    assert "security-groups-remote-address-group" not in aliases
    assert "rbac-security-groups" not in aliases


async def test_security_group_quota(tmp_path: Path) -> None:
    config = make_config(tmp_path, "network.quota.security_group=2")
    async for network in make_service_client(config, "network"):
        _, token = await network.project_user_token()
        # The default group counts: it and one more make two.
        await make(network, "security_group", token, name="one")
        r = await network.call("POST", SG, token=token, json={"security_group": {}},
                               expect=409)
        assert error_type(r) == "OverQuota"
        assert r.json()["NeutronError"]["message"] == \
            "Quota exceeded for resources: ['security_group']."
        assert len(await _groups(network, token)) == 2


async def test_a_lost_race_for_the_default_group_returns_the_winners(
        network: ServiceClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a second first use sees on PostgreSQL or MariaDB, where both may find no
    default group before either inserts: its insert collides, rolls back alone under its
    savepoint, and the winner's group is used in the same transaction."""
    project, token = await network.project_user_token()
    (winner,) = await _groups(network, token)
    looked = 0
    real = security_groups.default_group_id

    async def blind_once(db: Any, project_id: str, *, latest: bool = False) -> str | None:
        nonlocal looked
        looked += 1
        return None if looked == 1 else await real(db, project_id, latest=latest)

    monkeypatch.setattr(security_groups, "default_group_id", blind_once)
    async with network.app.svc.write() as db:
        assert await security_groups.ensure_default(db, network.app.svc.settings,
                                                    project["id"]) == winner["id"]
        web, _ = await security_groups.create_group(db, network.app.svc.settings,
                                                    project["id"], {"name": "after"})
    # The blind look and the locking one; create_group then finds the winner's group in
    # its own first statement, within the same transaction.
    assert looked == 2
    groups = await _groups(network, token)
    assert sorted(g["name"] for g in groups) == ["after", "default"]
    assert web.id in {g["id"] for g in groups}
    r = await network.call("GET", RULES, token=token, expect=200)
    assert len(r.json()["security_group_rules"]) == 4 + 2
