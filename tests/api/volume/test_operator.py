"""The operator's view: quota sets (and the race-free check), limits, volume services,
availability zones, extensions and resource filters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("operator")):
        yield cloud


async def test_quota_sets(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    path = f"/v3/os-quota-sets/{caller.project_id}"
    r = await vc.call("GET", path, token=caller.token, expect=200)
    assert r.json()["quota_set"] == {"id": caller.project_id, "volumes": 1000,
                                     "snapshots": 1000, "gigabytes": 100000,
                                     "per_volume_gigabytes": -1, "backups": 10,
                                     "backup_gigabytes": 1000, "groups": 10}
    await vc.call("PUT", path, token=caller.token, expect=403,
                  json={"quota_set": {"volumes": 5}})
    r = await vc.call("PUT", path, expect=200, json={"quota_set": {
        "volumes": "2", "gigabytes": 3, "per_volume_gigabytes": 2}})
    assert r.json()["quota_set"]["volumes"] == 2
    await vc.volume(caller.token, size=2)
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=413,
                      json={"volume": {"size": 2}})
    assert fault(r) == ("overLimit", "VolumeSizeExceedsAvailableQuota: Requested volume or "
                        "snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 3G "
                        "and 2G has been consumed.")
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=413,
                      json={"volume": {"size": 3}})
    assert "VolumeSizeExceedsLimit" in fault(r)[1]
    volume = await vc.volume(caller.token, size=1)
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=413,
                      json={"volume": {"size": 1}})
    assert "Maximum number of volumes allowed (2)" in fault(r)[1]
    r = await vc.call("POST", "/v3/snapshots", token=caller.token, expect=413, json={
        "snapshot": {"volume_id": volume["id"]}})
    assert "gigabytes" in fault(r)[1]
    r = await vc.action(volume["id"], {"os-extend": {"new_size": 2}}, token=caller.token,
                        expect=413)
    r = await vc.call("GET", f"{path}?usage=True", token=caller.token, expect=200)
    assert r.json()["quota_set"]["volumes"] == {"limit": 2, "in_use": 2, "reserved": 0,
                                                "allocated": 0}
    r = await vc.call("PUT", path, expect=400, json={"quota_set": {"volumes": 1}})
    assert "already used" in fault(r)[1]
    for body in ({"quota_set": {"volumes": -2}}, {"quota_set": {"backups": -3}},
                 {"quota_set": {"replicas": 1}},
                 {"quota_set": {}}, {"quota_set": {"volumes": "many"}}):
        await vc.call("PUT", path, expect=400, json=body)
    # Cinder's backup and group quotas are kept and shown (Tempest's quota tests set
    # them); ownstack has neither yet, so nothing is ever in use against them.
    r = await vc.call("PUT", path, expect=200, json={"quota_set": {
        "backups": 7, "backup_gigabytes": 70, "groups": 0}})
    assert (r.json()["quota_set"]["backups"], r.json()["quota_set"]["groups"]) == (7, 0)
    r = await vc.call("GET", f"{path}?usage=True", token=caller.token, expect=200)
    assert r.json()["quota_set"]["backups"] == {"limit": 7, "in_use": 0, "reserved": 0,
                                                "allocated": 0}
    r = await vc.call("GET", f"{path}/defaults", token=caller.token, expect=200)
    assert r.json()["quota_set"]["volumes"] == 1000
    await vc.call("DELETE", path, expect=200)
    assert (await vc.call("GET", path, expect=200)).json()["quota_set"]["volumes"] == 1000
    other = await vc.caller()
    await vc.call("GET", path, token=other.token, expect=403)


async def test_concurrent_creates_never_over_admit(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    await vc.call("PUT", f"/v3/os-quota-sets/{caller.project_id}", expect=200,
                  json={"quota_set": {"volumes": 3}})
    results = await asyncio.gather(*(vc.call("POST", "/v3/volumes", token=caller.token,
                                             json={"volume": {"size": 1}})
                                     for _ in range(10)))
    assert sorted(r.status_code for r in results) == [202] * 3 + [413] * 7


async def test_limits(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    await vc.volume(caller.token, size=2)
    r = await vc.call("GET", "/v3/limits", token=caller.token, expect=200)
    absolute = r.json()["limits"]["absolute"]
    assert (absolute["totalVolumesUsed"], absolute["totalGigabytesUsed"],
            absolute["maxTotalVolumes"]) == (1, 2, 1000)
    # Cinder's backup limits are there too (Tempest's limits schema needs them).
    assert (absolute["maxTotalBackups"], absolute["maxTotalBackupGigabytes"],
            absolute["totalBackupsUsed"], absolute["totalBackupGigabytesUsed"]) == \
        (10, 1000, 0, 0)
    r = await vc.call("GET", f"/v3/limits?project_id={caller.project_id}", expect=200)
    assert r.json()["limits"]["absolute"]["totalVolumesUsed"] == 1
    await vc.call("GET", "/v3/limits?project_id=x", token=caller.token, expect=400)


async def test_services_and_zones(vc: VolumeCloud) -> None:
    r = await vc.call("GET", "/v3/os-services", expect=200)
    # The API's own scheduler (decision 75), then the agent's backend.
    assert [(s["binary"], s["host"], s["state"], s["status"], s["zone"])
            for s in r.json()["services"]] == [
        ("cinder-scheduler", "test-node", "up", "enabled", "nova"),
        ("cinder-volume", "test-node@fake", "up", "enabled", "nova")]
    caller = await vc.caller()
    await vc.call("GET", "/v3/os-services", token=caller.token, expect=403)
    r = await vc.call("GET", "/v3/os-availability-zone", token=caller.token, expect=200)
    assert r.json() == {"availabilityZoneInfo": [{"zoneName": "nova",
                                                  "zoneState": {"available": True}}]}
    r = await vc.call("PUT", "/v3/os-services/disable-log-reason", expect=200, json={
        "host": "test-node@fake", "binary": "cinder-volume", "disabled_reason": "maint"})
    assert r.json()["disabled"] is True
    assert (r.json()["service"], r.json()["disabled_reason"]) == ("cinder-volume", "maint")
    # A reason is what disable-log-reason is for (Tempest's ..._with_no_reason).
    for reason in (None, "", "  "):
        await vc.call("PUT", "/v3/os-services/disable-log-reason", expect=400, json={
            "host": "test-node@fake", "binary": "cinder-volume", "disabled_reason": reason})
    r = await vc.call("POST", "/v3/volumes", expect=202, json={"volume": {"size": 1}})
    assert r.json()["volume"]["status"] == "error"         # no enabled service takes it
    r = await vc.call("GET", "/v3/os-services?binary=cinder-volume", expect=200)
    assert r.json()["services"][0]["disabled_reason"] == "maint"
    r = await vc.call("PUT", "/v3/os-services/enable", expect=200, json={"host": "test-node"})
    assert (r.json()["status"], r.json()["disabled_reason"]) == ("enabled", None)
    await vc.volume()
    r = await vc.call("PUT", "/v3/os-services/disable", expect=200, json={"host": "test-node"})
    assert set(r.json()) == {"host", "binary", "service", "status", "disabled"}
    await vc.call("PUT", "/v3/os-services/enable", expect=200, json={"host": "test-node"})
    await vc.call("PUT", "/v3/os-services/enable", expect=404, json={"host": "nowhere"})
    await vc.call("PUT", "/v3/os-services/freeze", expect=400, json={"host": "test-node"})
    await vc.call("PUT", "/v3/os-services/enable", expect=400, json={})


async def test_extensions_and_resource_filters(vc: VolumeCloud) -> None:
    r = await vc.call("GET", "/v3/extensions", expect=200)
    assert "os-volume-actions" in [e["alias"] for e in r.json()["extensions"]]
    r = await vc.call("GET", "/v3/resource_filters?resource=volume", expect=200)
    assert r.json()["resource_filters"][0]["resource"] == "volume"
    await vc.call("GET", "/v3/resource_filters", version="3.32", expect=400)


async def test_pools(vc: VolumeCloud) -> None:
    # Cinder's scheduler stats, as Tempest's VolumePoolsAdminTestsJSON reads them: one pool
    # per volume service, with detail what it reported.
    r = await vc.call("GET", "/v3/scheduler-stats/get_pools", expect=200)
    assert r.json() == {"pools": [{"name": "test-node@fake#fake"}]}
    r = await vc.call("GET", "/v3/scheduler-stats/get_pools?detail=true", expect=200)
    [pool] = r.json()["pools"]
    capabilities = pool["capabilities"]
    assert (capabilities["volume_backend_name"], capabilities["vendor_name"],
            capabilities["storage_protocol"]) == ("fake", "ownstack", "fake")
    assert capabilities["free_capacity_gb"] <= capabilities["total_capacity_gb"]
    caller = await vc.caller()
    await vc.call("GET", "/v3/scheduler-stats/get_pools", token=caller.token, expect=403)
    await vc.call("GET", "/v3/scheduler-stats/get_pools?detail=maybe", expect=400)
