"""Quotas at server create (race-free), os-quota-sets and GET /limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import boot, boot_id, boot_setup, fault, version, wait_status
from helpers.inprocess import CloudClient, cloud_config, make_cloud, quiet_cloud


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.quota.instances=5",
                                    "compute.quota.cores=8", "compute.quota.ram=4096"):
        yield client


async def _quota(cloud: CloudClient, project_id: str, token: str | None = None,
                 v: str = "2.1", path: str = "", expect: int = 200, **params: Any) -> Any:
    r = await cloud.call("GET", f"/v2.1/os-quota-sets/{project_id}{path}", token=token,
                         headers=version(v), params=params, expect=expect)
    return r.json()


# --- the check at create ------------------------------------------------------------------

async def test_instances_cores_and_ram_quotas_refuse_with_nova_messages(api: CloudClient
                                                                        ) -> None:
    image_id, small = await boot_setup(api, vcpus=1, ram=512)
    _, big = await boot_setup(api, vcpus=4, ram=1024)
    _, huge = await boot_setup(api, vcpus=1, ram=4096)
    _, token = await api.project_user_token()
    await boot_id(api, token, image_id, big)
    await boot_id(api, token, image_id, big)
    r = await boot(api, token, image_id, big, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for cores: Requested 4, but already "
                                     "used 8 of 8 cores")
    r = await boot(api, token, image_id, huge, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for cores: Requested 1, but already "
                                     "used 8 of 8 cores")
    _, token = await api.project_user_token()
    r = await boot(api, token, image_id, huge, expect=202)
    r = await boot(api, token, image_id, small, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for ram: Requested 512, but already "
                                     "used 4096 of 4096 ram")
    _, token = await api.project_user_token()
    for _ in range(5):
        await boot_id(api, token, image_id, small, name="s")
    r = await boot(api, token, image_id, small, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for instances: Requested 1, but "
                                     "already used 5 of 5 instances")


async def test_multiple_create_takes_what_quota_allows(api: CloudClient) -> None:
    image_id, small = await boot_setup(api, vcpus=1, ram=256)
    _, token = await api.project_user_token()
    await boot(api, token, image_id, small, min_count=1, max_count=10)
    r = await api.call("GET", "/v2.1/servers", token=token, expect=200)
    assert len(r.json()["servers"]) == 5
    _, token = await api.project_user_token()
    await boot_id(api, token, image_id, small)
    r = await boot(api, token, image_id, small, min_count=5, max_count=6, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for instances: Requested 5, but "
                                     "already used 1 of 5 instances")


async def test_concurrent_creates_admit_exactly_the_quota(api: CloudClient) -> None:
    image_id, small = await boot_setup(api, vcpus=1, ram=128)
    _, token = await api.project_user_token()
    results = await asyncio.gather(*(boot(api, token, image_id, small, expect=None)
                                     for _ in range(20)))
    codes = sorted(r.status_code for r in results)
    assert codes == [202] * 5 + [403] * 15
    r = await api.call("GET", "/v2.1/servers", token=token, expect=200)
    assert len(r.json()["servers"]) == 5


async def test_deleted_servers_free_their_quota(api: CloudClient) -> None:
    image_id, small = await boot_setup(api, vcpus=1, ram=128)
    _, token = await api.project_user_token()
    ids = [await boot_id(api, token, image_id, small) for _ in range(5)]
    await boot(api, token, image_id, small, expect=403)
    await api.call("DELETE", f"/v2.1/servers/{ids[0]}", token=token, expect=204)
    await boot(api, token, image_id, small)


async def test_quota_usage_matches_placement_after_scheduling(tmp_path: Path) -> None:
    async for cloud in make_cloud(cloud_config(tmp_path)):
        image_id, flavor_id = await boot_setup(cloud, vcpus=2, ram=256, disk=1)
        project, token = await cloud.project_user_token()
        ids = [await boot_id(cloud, token, image_id, flavor_id) for _ in range(2)]
        for server_id in ids:
            await wait_status(cloud, token, server_id, "ACTIVE")
        detail = (await _quota(cloud, project["id"], token, path="/detail"))["quota_set"]
        r = await cloud.on("placement", "GET", "/usages", params={"project_id": project["id"]},
                           headers={"OpenStack-API-Version": "placement 1.9"}, expect=200)
        usages = r.json()["usages"]
        assert detail["instances"]["in_use"] == 2
        assert detail["cores"]["in_use"] == usages["VCPU"] == 4
        assert detail["ram"]["in_use"] == usages["MEMORY_MB"] == 512


# --- os-quota-sets ------------------------------------------------------------------------

_CURRENT = {"id", "instances", "cores", "ram", "key_pairs", "metadata_items",
            "server_groups", "server_group_members"}
_INJECTED = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
_NETWORK = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}


@pytest.mark.parametrize(("v", "keys"), [("2.1", _CURRENT | _INJECTED | _NETWORK),
                                         ("2.35", _CURRENT | _INJECTED | _NETWORK),
                                         ("2.36", _CURRENT | _INJECTED),
                                         ("2.56", _CURRENT | _INJECTED),
                                         ("2.57", _CURRENT)])
async def test_quota_set_fields_per_microversion(api: CloudClient, v: str, keys: set[str]
                                                 ) -> None:
    project, token = await api.project_user_token()
    quota = (await _quota(api, project["id"], token, v))["quota_set"]
    assert set(quota) == keys
    assert quota["id"] == project["id"]
    assert (quota["instances"], quota["cores"], quota["ram"]) == (5, 8, 4096)
    defaults = (await _quota(api, project["id"], token, v, "/defaults"))["quota_set"]
    assert defaults == quota
    if "floating_ips" in quota:
        assert (quota["floating_ips"], quota["fixed_ips"]) == (10, -1)


async def test_detail_counts_usage(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api, vcpus=2, ram=256)
    project, token = await api.project_user_token()
    await boot_id(api, token, image_id, flavor_id)
    detail = (await _quota(api, project["id"], token, "2.57", "/detail"))["quota_set"]
    assert detail["id"] == project["id"]
    assert detail["instances"] == {"in_use": 1, "limit": 5, "reserved": 0}
    assert detail["cores"] == {"in_use": 2, "limit": 8, "reserved": 0}
    assert detail["ram"] == {"in_use": 256, "limit": 4096, "reserved": 0}
    assert detail["key_pairs"]["in_use"] == 0


async def test_admin_updates_and_reverts_quotas(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    project, token = await api.project_user_token()
    pid = project["id"]
    r = await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=200,
                       headers=version("2.57"),
                       json={"quota_set": {"instances": 1, "cores": "-1"}})
    assert "id" not in r.json()["quota_set"]
    assert (r.json()["quota_set"]["instances"], r.json()["quota_set"]["cores"]) == (1, -1)
    await boot_id(api, token, image_id, flavor_id)
    await boot(api, token, image_id, flavor_id, expect=403)
    r = await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=400,
                       json={"quota_set": {"instances": 0}})
    assert fault(r, "badRequest") == ("Quota limit 0 for instances must be greater than "
                                      "or equal to already used and reserved 1.")
    await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=200,
                   json={"quota_set": {"instances": 0, "force": True}})
    assert (await _quota(api, pid, token))["quota_set"]["instances"] == 0
    for body in ({"quota_set": {"bogus": 1}}, {"quota_set": {"instances": -2}},
                 {"quota_set": {"instances": "lots"}}):
        r = await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=400, json=body)
        fault(r, "badRequest")
    # Network quotas: accepted (and without effect) only below 2.36.
    await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=200, headers=version("2.35"),
                   json={"quota_set": {"floating_ips": 3}})
    await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=400, headers=version("2.36"),
                   json={"quota_set": {"floating_ips": 3}})
    await api.call("DELETE", f"/v2.1/os-quota-sets/{pid}", expect=202)
    assert (await _quota(api, pid, token))["quota_set"]["instances"] == 5
    # Members may not change quotas.
    r = await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", token=token, expect=403,
                       json={"quota_set": {"instances": 50}})
    fault(r, "forbidden")
    await api.call("DELETE", f"/v2.1/os-quota-sets/{pid}", token=token, expect=403)


async def test_user_quotas_apply_within_the_project(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    project, token = await api.project_user_token()
    user_id = (await api.identity.call("GET", "/v3/auth/tokens", expect=200, headers={
        "X-Subject-Token": token})).json()["token"]["user"]["id"]
    pid = project["id"]
    await api.call("PUT", f"/v2.1/os-quota-sets/{pid}", expect=200,
                   params={"user_id": user_id}, json={"quota_set": {"instances": 1}})
    quota = (await _quota(api, pid, None, user_id=user_id))["quota_set"]
    assert quota["instances"] == 1
    assert (await _quota(api, pid, None))["quota_set"]["instances"] == 5
    await boot_id(api, token, image_id, flavor_id)
    r = await boot(api, token, image_id, flavor_id, expect=403)
    assert "instances" in fault(r, "forbidden")
    await api.call("DELETE", f"/v2.1/os-quota-sets/{pid}", params={"user_id": user_id},
                   expect=202)
    await boot_id(api, token, image_id, flavor_id)


async def test_a_project_reads_only_its_own_quotas(api: CloudClient) -> None:
    project, token = await api.project_user_token()
    other, _ = await api.project_user_token()
    await _quota(api, project["id"], token)
    body = await _quota(api, other["id"], token, expect=403)
    assert list(body) == ["forbidden"]
    await _quota(api, other["id"], token, path="/detail", expect=403)
    # Defaults are anyone's to read; ids are not checked against identity (as Nova).
    await _quota(api, other["id"], token, path="/defaults")
    assert (await _quota(api, "any-string", None))["quota_set"]["id"] == "any-string"


# --- limits -----------------------------------------------------------------------------------

_LIMITS_257 = {"maxTotalInstances", "maxTotalCores", "maxTotalRAMSize", "maxServerMeta",
               "maxTotalKeypairs", "maxServerGroups", "maxServerGroupMembers",
               "totalInstancesUsed", "totalCoresUsed", "totalRAMUsed",
               "totalServerGroupsUsed"}
_LIMITS_PERSONALITY = {"maxPersonality", "maxPersonalitySize"}
_LIMITS_IMAGE = {"maxImageMeta"}
_LIMITS_NETWORK = {"maxSecurityGroups", "maxSecurityGroupRules", "maxTotalFloatingIps",
                   "totalFloatingIpsUsed", "totalSecurityGroupsUsed"}


@pytest.mark.parametrize(("v", "keys"), [
    ("2.1", _LIMITS_257 | _LIMITS_PERSONALITY | _LIMITS_IMAGE | _LIMITS_NETWORK),
    ("2.36", _LIMITS_257 | _LIMITS_PERSONALITY | _LIMITS_IMAGE),
    ("2.39", _LIMITS_257 | _LIMITS_PERSONALITY),
    ("2.57", _LIMITS_257)])
async def test_limits_fields_per_microversion(api: CloudClient, v: str, keys: set[str]
                                              ) -> None:
    image_id, flavor_id = await boot_setup(api, vcpus=2, ram=256)
    _, token = await api.project_user_token()
    await boot_id(api, token, image_id, flavor_id)
    r = await api.call("GET", "/v2.1/limits", token=token, headers=version(v), expect=200)
    limits = r.json()["limits"]
    assert limits["rate"] == []
    assert set(limits["absolute"]) == keys
    absolute = limits["absolute"]
    assert (absolute["maxTotalInstances"], absolute["totalInstancesUsed"]) == (5, 1)
    assert (absolute["totalCoresUsed"], absolute["totalRAMUsed"]) == (2, 256)


async def test_limits_of_another_project_are_for_admins(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    project, token = await api.project_user_token()
    await boot_id(api, token, image_id, flavor_id)
    r = await api.call("GET", "/v2.1/limits", params={"tenant_id": project["id"]},
                       expect=200)
    assert r.json()["limits"]["absolute"]["totalInstancesUsed"] == 1
    r = await api.call("GET", "/v2.1/limits", token=token, expect=403,
                       params={"tenant_id": "someone-else"})
    fault(r, "forbidden")
