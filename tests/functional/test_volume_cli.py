"""Block storage through the real clients, on every database: the `openstack` CLI (which
drives the volume API through openstacksdk, negotiating 3.71) and openstacksdk itself,
against ``ownstack up`` with the ``file`` driver (real qcow2 files, qemu-img).

The user story of the issue, but its compute half (attach to a guest, boot from a volume),
which comes with compute's side: create blank and from an image, snapshot, a volume from
the snapshot, extend, an image from a volume, types and QoS, quotas, services; and
concurrent creates against a quota, which must never over-admit on PostgreSQL and MariaDB
either.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.names import unique
from helpers.process import Cloud, member_cloud, wait_for_image_service, wait_for_volume, wait_until

pytestmark = pytest.mark.functional


def wait_available(cloud: Cloud, name: str, cloud_name: str = "ownstack-admin",
                   **wanted: object) -> Any:
    """The volume once available (and with ``wanted`` attributes), polled through
    openstacksdk: an `openstack` process per poll would cost a second each."""
    conn = cloud.sdk(cloud_name)

    def settled() -> Any:
        volume = conn.block_storage.find_volume(name, ignore_missing=False)
        assert volume.status not in ("error", "error_extending"), volume
        if volume.status == "available" and all(getattr(volume, key) == value
                                                for key, value in wanted.items()):
            return volume
        return None
    return wait_until(f"volume {name} available", settled, timeout=60)


def test_the_volume_user_story(cloud: Cloud, tmp_path: Path) -> None:
    wait_for_volume(cloud)
    wait_for_image_service(cloud)
    _, member = member_cloud(cloud, "vol")
    tiny = unique("tiny")
    disk = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
              "--file", str(disk), tiny, cloud=member)

    data1 = cloud.osc_json("volume", "create", "--size", "1", "data1", cloud=member)
    assert data1["size"] == 1
    shown = wait_available(cloud, "data1", member)
    assert shown.volume_type == "__DEFAULT__" and shown.is_bootable is False
    path = cloud.state_dir / "volumes"
    files = list(path.rglob(f"volume-{data1['id']}.qcow2"))
    assert len(files) == 1, list(path.rglob("*"))

    cloud.osc("volume", "create", "--image", tiny, "--size", "1", "--bootable", "root1",
              cloud=member)
    root1 = wait_available(cloud, "root1", member)
    assert root1.is_bootable is True
    assert root1.volume_image_metadata["image_name"] == tiny

    cloud.osc("volume", "snapshot", "create", "--volume", "data1", "snap1", cloud=member)
    conn = cloud.sdk(member)
    wait_until("snap1 available", lambda: conn.block_storage.find_snapshot(
        "snap1", ignore_missing=False).status == "available")
    cloud.osc("volume", "create", "--snapshot", "snap1", "data2", cloud=member)
    data2 = wait_available(cloud, "data2", member)
    assert data2.size == 1 and data2.snapshot_id

    cloud.osc("volume", "set", "--size", "2", "data1", cloud=member)
    wait_available(cloud, "data1", member, size=2)
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", "-f",
                                      "qcow2", str(files[0])], check=True,
                                     capture_output=True, text=True).stdout)
    assert info["virtual-size"] == 2 * 1024 ** 3

    cloud.osc("volume", "set", "--property", "tier=gold", "--name", "data1b", "data1",
              cloud=member)
    listed = cloud.osc_json("volume", "list", "--long", cloud=member)
    assert {row["Name"] for row in listed} >= {"data1b", "data2", "root1"}
    assert cloud.osc_json("volume", "list", "--property", "tier=gold",
                          cloud=member)[0]["Name"] == "data1b"

    image = cloud.osc_json("image", "create", "--volume", "data1b", "--disk-format", "qcow2",
                           unique("from-volume"), cloud=member)
    wait_available(cloud, "data1b", member)
    wait_until("the uploaded image", lambda: conn.image.get_image(
        image["image_id"]).status == "active")

    cloud.osc("volume", "snapshot", "delete", "snap1", cloud=member)
    wait_until("snap1 gone", lambda: conn.block_storage.find_snapshot("snap1") is None)
    cloud.osc("volume", "delete", "data1b", "data2", "root1", cloud=member)
    wait_until("volumes gone", lambda: list(conn.block_storage.volumes()) == [])
    assert list(path.rglob(f"volume-{data1['id']}.*")) == []


def test_bad_input_through_the_cli(cloud: Cloud) -> None:
    wait_for_volume(cloud)
    for args, text in ((("--size", "0"), "less than the minimum of 1"),
                       (("--size", "1", "--type", "nope"), "nope"),
                       (("--snapshot", "nope"), "nope")):
        result = cloud.osc("volume", "create", *args, unique("bad"), expect_ok=False)
        assert result.returncode != 0 and text in result.stderr, result.stderr


def test_types_qos_quotas_and_services_through_the_cli(cloud: Cloud) -> None:
    wait_for_volume(cloud)
    fast = unique("fast")
    cloud.osc("volume", "type", "create", "--property", "volume_backend_name=file", fast)
    shown = cloud.osc_json("volume", "type", "show", fast)
    assert shown["properties"] == {"volume_backend_name": "file"}
    qos = unique("qos")
    cloud.osc("volume", "qos", "create", "--consumer", "front-end", "--property",
              "total_iops_sec=500", qos)
    cloud.osc("volume", "qos", "associate", qos, fast)
    assert cloud.osc_json("volume", "qos", "show", qos)["associations"] in ([fast], fast)
    project, member = member_cloud(cloud, "volq")
    cloud.osc("volume", "create", "--size", "1", "--type", fast, "typed", cloud=member)
    assert wait_available(cloud, "typed", member).volume_type == fast
    # Retype (decision 70): to a type the backend meets, in place.
    other = unique("other")
    cloud.osc("volume", "type", "create", "--property", "storage_protocol=file", other)
    cloud.osc("volume", "set", "--type", other, "--migration-policy", "never", "typed",
              cloud=member)
    assert wait_available(cloud, "typed", member).volume_type == other
    # A type no backend meets: the volume ends in error, and the project reads why.
    nowhere = unique("nowhere")
    cloud.osc("volume", "type", "create", "--property", "speed=fast", nowhere)
    made = cloud.osc_json("volume", "create", "--size", "1", "--type", nowhere, "stray",
                          cloud=member)
    conn = cloud.sdk(member)
    wait_until("stray in error",
               lambda: conn.block_storage.get_volume(made["id"]).status == "error")
    messages = json.loads(cloud.osc("--os-volume-api-version", "3.3", "volume", "message",
                                    "list", "-f", "json", cloud=member).stdout)
    assert [(m["Resource UUID"], m["Event ID"], m["User Message"]) for m in messages
            if m["Resource UUID"] == made["id"]] == [
        (made["id"], "VOLUME_VOLUME_001_003",
         "schedule allocate volume:Could not find any available weighted backend.")]
    # An encrypted type (decision 73): kept and shown; with no key manager, a volume of
    # it is refused, never made unencrypted.
    enc = unique("enc")
    cloud.osc("volume", "type", "create", "--encryption-provider", "luks",
              "--encryption-key-size", "256", "--encryption-control-location", "front-end",
              enc)
    encryption = cloud.osc_json("volume", "type", "show", "--encryption-type", enc)[
        "encryption"]
    assert (encryption["provider"], encryption["key_size"]) == ("luks", 256)
    refused = cloud.osc("volume", "create", "--size", "1", "--type", enc, "secret",
                        cloud=member, expect_ok=False)
    assert refused.returncode != 0 and "no key manager" in refused.stderr
    cloud.osc("quota", "set", "--volumes", "7", "--gigabytes", "30", project)
    quota = cloud.osc_json("quota", "show", "--volume", project)
    limits = {row["Resource"]: row["Limit"] for row in quota} \
        if isinstance(quota, list) else quota
    assert (limits["volumes"], limits["gigabytes"]) == (7, 30)
    # The API's own scheduler (decision 75) beside the agent's backend, on one host.
    services = cloud.osc_json("volume", "service", "list")
    assert [(s["Binary"], s["Status"], s["State"]) for s in services] == [
        ("cinder-scheduler", "enabled", "up"), ("cinder-volume", "enabled", "up")]
    assert services[1]["Host"] == f"{services[0]['Host']}@file"
    zones = cloud.osc_json("availability", "zone", "list", "--volume")
    assert any(z["Zone Name"] == "nova" for z in zones)


def test_default_quotas_through_the_cli(cloud: Cloud) -> None:
    """`openstack quota set --class ... default` sets the default quota class of compute
    and volume (decision 62): every project without overrides gets it, as `openstack quota
    show --default` and the project's own quotas show. The defaults are restored after."""
    wait_for_volume(cloud)
    project, _ = member_cloud(cloud, "qclass")

    def defaults() -> dict[str, int]:
        rows = cloud.osc_json("quota", "show", "--default", project)
        return {row["Resource"]: row["Limit"] for row in rows} \
            if isinstance(rows, list) else dict(rows)

    before = defaults()
    try:
        result = cloud.osc("quota", "set", "--class", "--volumes", "5", "--instances", "7",
                           "default")
        assert "deprecated" in result.stderr
        after = defaults()
        assert (after["volumes"], after["instances"]) == (5, 7)
        quota = cloud.osc_json("quota", "show", project)
        limits = {row["Resource"]: row["Limit"] for row in quota} \
            if isinstance(quota, list) else quota
        assert (limits["volumes"], limits["instances"]) == (5, 7)
    finally:
        cloud.osc("quota", "set", "--class", "--volumes", str(before["volumes"]),
                  "--instances", str(before["instances"]), "default")
    restored = defaults()
    assert (restored["volumes"], restored["instances"]) == (before["volumes"],
                                                            before["instances"])


def test_openstacksdk(cloud: Cloud) -> None:
    wait_for_volume(cloud)
    conn = cloud.sdk()
    volume = conn.block_storage.create_volume(size=1, name=unique("sdk"),
                                              metadata={"k": "v"})
    volume = conn.block_storage.wait_for_status(volume, "available", wait=60, interval=0.2)
    assert volume.metadata == {"k": "v"} and volume.volume_type == "__DEFAULT__"
    snapshot = conn.block_storage.create_snapshot(volume_id=volume.id, name=unique("s"))
    conn.block_storage.wait_for_status(snapshot, "available", wait=60, interval=0.2)
    conn.block_storage.extend_volume(volume, 2)
    grown = wait_until("the extend", lambda: (lambda v: v if v.status == "available" and
                                              v.size == 2 else None)(
        conn.block_storage.get_volume(volume.id)))
    assert grown.size == 2
    assert conn.block_storage.get_limits().absolute.total_volumes_used >= 1
    conn.block_storage.delete_snapshot(snapshot)
    conn.block_storage.wait_for_delete(snapshot, wait=60, interval=0.2)
    conn.block_storage.delete_volume(volume)
    conn.block_storage.wait_for_delete(volume, wait=60, interval=0.2)


def test_concurrent_creates_never_over_admit(cloud: Cloud) -> None:
    """On PostgreSQL and MariaDB the creates really overlap; the project's lock row makes
    them take turns, so exactly the quota's worth are admitted."""
    wait_for_volume(cloud)
    project, _ = member_cloud(cloud, "volrace")
    token = cloud.admin_token()

    async def race() -> list[int]:
        async with httpx.AsyncClient(base_url=cloud.volume_url, timeout=60, headers={
                "X-Auth-Token": token,
                "OpenStack-API-Version": "volume 3.71"}) as http:
            r = await http.put(f"/v3/os-quota-sets/{project}",
                               json={"quota_set": {"volumes": 5}})
            assert r.status_code == 200, r.text
            user_token = await _member_token(http, cloud, project)
            results = await asyncio.gather(*(
                http.post("/v3/volumes", headers={"X-Auth-Token": user_token},
                          json={"volume": {"size": 1}}) for _ in range(30)))
            return [r.status_code for r in results]

    statuses = asyncio.run(race())
    assert sorted(statuses) == [202] * 5 + [413] * 25


async def _member_token(http: httpx.AsyncClient, cloud: Cloud, project: str) -> str:
    """A token of a new member of ``project`` (the race is the project's, not the
    admin's)."""
    async with httpx.AsyncClient(base_url=cloud.auth_url.removesuffix("/v3"),
                                 timeout=30) as identity:
        admin = {"X-Auth-Token": cloud.admin_token()}
        name = unique("racer")
        r = await identity.post("/v3/users", headers=admin, json={"user": {
            "name": name, "password": "pw", "domain_id": "default"}})
        user_id = r.json()["user"]["id"]
        roles = (await identity.get("/v3/roles?name=member", headers=admin)).json()["roles"]
        await identity.put(f"/v3/projects/{project}/users/{user_id}/roles/{roles[0]['id']}",
                           headers=admin)
        r = await identity.post("/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": name, "domain": {"id": "default"}, "password": "pw"}}},
            "scope": {"project": {"id": project}}}})
        return r.headers["X-Subject-Token"]


def test_volume_transfer_through_the_cli(cloud: Cloud) -> None:
    """`openstack volume transfer request create/list/show/accept/delete` (openstacksdk's
    /volume-transfers at 3.55): a volume given from one project to another (decision 64),
    and a withdrawn offer."""
    wait_for_volume(cloud)
    _, giver = member_cloud(cloud, "give")
    taker_project, taker = member_cloud(cloud, "take")
    name = unique("gift")
    cloud.osc("volume", "create", "--size", "1", name, cloud=giver)
    volume = wait_available(cloud, name, giver)
    offer = cloud.osc_json("volume", "transfer", "request", "create", "--name", "offer",
                           name, cloud=giver)
    assert offer["volume_id"] == volume.id and len(offer["auth_key"]) == 16
    listed = cloud.osc_json("volume", "transfer", "request", "list", cloud=giver)
    assert [(row["ID"], row["Volume"]) for row in listed] == [(offer["id"], volume.id)]
    shown = cloud.osc_json("volume", "transfer", "request", "show", offer["id"],
                           cloud=giver)
    assert shown["name"] == "offer" and "auth_key" not in shown
    assert cloud.osc_json("volume", "show", name, cloud=giver)["status"] == \
        "awaiting-transfer"
    wrong = cloud.osc("volume", "transfer", "request", "accept", "--auth-key", "0" * 16,
                      offer["id"], cloud=taker, expect_ok=False)
    assert wrong.returncode != 0 and "invalid auth key" in wrong.stderr, wrong.stderr
    cloud.osc("volume", "transfer", "request", "accept", "--auth-key", offer["auth_key"],
              offer["id"], cloud=taker)
    moved = wait_available(cloud, volume.id, taker)
    assert moved.project_id == taker_project
    assert cloud.osc_json("volume", "transfer", "request", "list", cloud=giver) == []
    # An offer withdrawn: the volume is available again, to its new owner.
    again = cloud.osc_json("volume", "transfer", "request", "create", volume.id,
                           cloud=taker)
    cloud.osc("volume", "transfer", "request", "delete", again["id"], cloud=taker)
    assert cloud.osc_json("volume", "show", volume.id, cloud=taker)["status"] == "available"
    cloud.osc("volume", "delete", volume.id, cloud=taker)
