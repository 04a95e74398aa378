"""Cinder's deprecated ``/os-hosts`` (list, show) and ``/capabilities/{host}``, admin only,
from the volume services' rows."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from helpers.volume import VolumeCloud, fault, volume_cloud
from ownstack.common.db.base import utcnow
from ownstack.volume.objects.models import VolumeService

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOST = "test-node@fake"         # the cloud's own volume service, as Cinder names it


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("hosts")):
        yield cloud


async def _service(vc: VolumeCloud, host: str, *, zone: str = "nova", disabled: bool = False,
                   seen_ago: float = 0.0) -> None:
    """A service row of another host, as its last heartbeat left it."""
    seen = utcnow() - timedelta(seconds=seen_ago)
    async with vc.svc.write() as db:
        db.add(VolumeService(uuid=str(uuid.uuid4()), host=host, binary="cinder-volume",
                             backend="file", availability_zone=zone, disabled=disabled,
                             capabilities={}, created_at=seen, updated_at=seen,
                             last_seen=seen))


async def _hosts(vc: VolumeCloud, query: str = "") -> list[dict[str, Any]]:
    r = await vc.call("GET", f"/v3/os-hosts{query}", expect=200)
    assert list(r.json()) == ["hosts"]
    return list(r.json()["hosts"])


async def test_list_every_enabled_service(vc: VolumeCloud) -> None:
    await _service(vc, "far-host", zone="az2", seen_ago=3600)
    await _service(vc, "off-host", disabled=True)
    hosts = await _hosts(vc)
    by_name = {h["host_name"]: h for h in hosts}
    # A disabled service is not listed, as in Cinder; the API's scheduler is (decision 75).
    assert set(by_name) == {HOST, "test-node", "far-host@file"}
    assert (by_name["test-node"]["service"], by_name["test-node"]["service-status"]) == \
        ("cinder-scheduler", "available")
    mine = by_name[HOST]
    assert set(mine) == {"host_name", "service", "zone", "service-status", "service-state",
                         "last-update"}
    assert (mine["service"], mine["zone"], mine["service-status"], mine["service-state"]) \
        == ("cinder-volume", "nova", "available", "enabled")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", mine["last-update"])
    assert by_name["far-host@file"]["service-status"] == "unavailable"
    # ``zone`` filters (empty: none); other query parameters are ignored.
    assert [h["host_name"] for h in await _hosts(vc, "?zone=az2")] == ["far-host@file"]
    assert {h["host_name"] for h in await _hosts(vc, "?zone=")} == set(by_name)
    assert await _hosts(vc, "?zone=nowhere") == []
    assert {h["host_name"] for h in await _hosts(vc, "?service=x")} == set(by_name)
    # The project form of the URL answers the same.
    r = await vc.call("GET", f"/v3/{await _admin_project(vc)}/os-hosts", expect=200)
    assert {h["host_name"] for h in r.json()["hosts"]} == set(by_name)


async def _admin_project(vc: VolumeCloud) -> str:
    r = await vc.cloud.identity.call("GET", "/v3/auth/projects", expect=200)
    return str(next(p["id"] for p in r.json()["projects"] if p["name"] == "admin"))


def _resource(host: str, project: str, volumes: int, volume_gb: int, snapshots: int,
              snapshot_gb: int) -> dict[str, Any]:
    return {"resource": {"host": host, "project": project, "volume_count": str(volumes),
                         "total_volume_gb": str(volume_gb),
                         "snapshot_count": str(snapshots),
                         "total_snapshot_gb": str(snapshot_gb)}}


async def test_show_a_hosts_volumes_and_snapshots(vc: VolumeCloud) -> None:
    await _service(vc, "empty-host")
    r = await vc.call("GET", "/v3/os-hosts/empty-host@file", expect=200)
    assert r.json() == {"host": [_resource("empty-host@file", "(total)", 0, 0, 0, 0)]}
    alice, bob = await vc.caller(), await vc.caller()
    first = await vc.volume(alice.token, size=2)
    await vc.volume(alice.token, size=1)
    await vc.snapshot(first["id"], alice.token)
    await vc.volume(bob.token, size=3)
    before = (await vc.call("GET", f"/v3/os-hosts/{HOST}", expect=200)).json()["host"]
    rows = {row["resource"]["project"]: row for row in before}
    assert rows[alice.project_id] == _resource(HOST, alice.project_id, 2, 3, 1, 2)
    assert rows[bob.project_id] == _resource(HOST, bob.project_id, 1, 3, 0, 0)
    total = before[0]["resource"]
    assert total["project"] == "(total)"
    for key in ("volume_count", "total_volume_gb", "snapshot_count", "total_snapshot_gb"):
        assert int(total[key]) == sum(int(row["resource"][key]) for row in before[1:])
    projects = [row["resource"]["project"] for row in before[1:]]
    assert projects == sorted(projects)
    # The host alone names its backends too (Cinder's host match level); the rows name
    # the host as asked.
    r = await vc.call("GET", "/v3/os-hosts/test-node", expect=200)
    assert [row["resource"]["volume_count"] for row in r.json()["host"]] == \
        [row["resource"]["volume_count"] for row in before]
    assert {row["resource"]["host"] for row in r.json()["host"]} == {"test-node"}


async def test_show_an_unknown_host_is_a_404(vc: VolumeCloud) -> None:
    for name in ("nope", "test-node@other", "test", "far@file"):
        r = await vc.call("GET", f"/v3/os-hosts/{name}", expect=404)
        assert fault(r) == ("itemNotFound",
                            f"Service cinder-volume could not be found on host {name}.")
        r = await vc.call("GET", f"/v3/capabilities/{name}", expect=404)
        assert fault(r) == ("itemNotFound", f"Can't find service: {name}")
    # A pool in the name (sent encoded: a client drops a bare "#" as the URL's fragment)
    # must equal a service's host exactly, as in Cinder, and none has a pool.
    for path in ("os-hosts", "capabilities"):
        r = await vc.call("GET", f"/v3/{path}/test-node@fake%23fake", expect=404)
        assert fault(r)[0] == "itemNotFound"


async def test_a_disabled_host_is_shown_but_not_listed(vc: VolumeCloud) -> None:
    await _service(vc, "resting-host", disabled=True)
    assert "resting-host@file" not in {h["host_name"] for h in await _hosts(vc)}
    r = await vc.call("GET", "/v3/os-hosts/resting-host@file", expect=200)
    assert r.json()["host"][0]["resource"]["project"] == "(total)"


async def test_capabilities_agree_with_the_pools(vc: VolumeCloud) -> None:
    # As Tempest's test_compare_volume_stats_values: each pool's vendor, backend name and
    # protocol, through the pool's backend (a client drops the "#pool" as a fragment).
    r = await vc.call("GET", "/v3/scheduler-stats/get_pools?detail=true", expect=200)
    pools = {pool["name"]: pool["capabilities"] for pool in r.json()["pools"]}
    for name, pool in pools.items():
        r = await vc.call("GET", f"/v3/capabilities/{name.partition('#')[0]}", expect=200)
        shown = r.json()
        assert set(shown) == {"namespace", "vendor_name", "volume_backend_name",
                              "pool_name", "driver_version", "storage_protocol",
                              "display_name", "description", "visibility",
                              "replication_targets", "properties"}
        assert (shown["vendor_name"], shown["volume_backend_name"],
                shown["storage_protocol"]) == (pool["vendor_name"],
                                               pool["volume_backend_name"],
                                               pool["storage_protocol"])
    r = await vc.call("GET", f"/v3/capabilities/{HOST}", expect=200)
    assert r.json() == {
        "namespace": f"OS::Storage::Capabilities::cinder-volume.{HOST}",
        "vendor_name": "ownstack", "volume_backend_name": "fake", "pool_name": "fake",
        "driver_version": "1.0", "storage_protocol": "fake", "display_name": None,
        "description": None, "visibility": None, "replication_targets": [],
        "properties": {}}
    r = await vc.call("GET", "/v3/capabilities/test-node", expect=200)
    assert r.json()["volume_backend_name"] == "fake"


async def test_admin_only_and_read_only(vc: VolumeCloud) -> None:
    for role in ("member", "reader"):
        caller = await vc.caller(role)
        for path in ("/v3/os-hosts", f"/v3/os-hosts/{HOST}", f"/v3/capabilities/{HOST}",
                     "/v3/os-hosts/nope", "/v3/capabilities/nope"):
            r = await vc.call("GET", path, token=caller.token, expect=403)
            assert fault(r)[0] == "forbidden"
    for method, path in (("PUT", f"/v3/os-hosts/{HOST}"), ("POST", "/v3/os-hosts"),
                         ("DELETE", f"/v3/capabilities/{HOST}")):
        r = await vc.call(method, path, expect=405, json={"status": "enable"})
        assert r.headers["allow"] == "GET, HEAD"
