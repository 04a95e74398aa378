"""``/os-aggregates``: host aggregates, the zones their metadata makes, and the Placement
aggregates they mirror; Nova's answers, error by error (``nova/compute/api.py``
AggregateAPI, ``api/openstack/compute/aggregates.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers.compute import boot_id, boot_setup, fault, version, wait_status
from helpers.compute_rows import add_host, add_instance, add_service
from helpers.inprocess import CloudClient, cloud_config, make_cloud, quiet_cloud

AGG = "/v2.1/os-aggregates"


@pytest.fixture
async def cloud(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path):
        yield client


@pytest.fixture
async def nodes2(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in make_cloud(cloud_config(tmp_path, "compute.fake_nodes=2")):
        yield client


async def create(cloud: CloudClient, name: str, zone: str | None = None, *,
                 v: str = "2.1", expect: int | None = 200) -> httpx.Response:
    body: dict[str, Any] = {"name": name}
    if zone is not None:
        body["availability_zone"] = zone
    return await cloud.call("POST", AGG, json={"aggregate": body}, headers=version(v),
                            expect=expect)


async def make(cloud: CloudClient, name: str, zone: str | None = None) -> int:
    return int((await create(cloud, name, zone)).json()["aggregate"]["id"])


async def action(cloud: CloudClient, aggregate_id: int | str, name: str, value: Any, *,
                 v: str = "2.1", expect: int | None = 200, token: str | None = None
                 ) -> httpx.Response:
    key = "metadata" if name == "set_metadata" else "host"
    return await cloud.call("POST", f"{AGG}/{aggregate_id}/action", token=token,
                            json={name: {key: value}}, headers=version(v), expect=expect)


async def zones(cloud: CloudClient) -> dict[str, bool]:
    r = await cloud.call("GET", "/v2.1/os-availability-zone", expect=200)
    return {z["zoneName"]: z["zoneState"]["available"]
            for z in r.json()["availabilityZoneInfo"]}


# --- create, show, list, update, delete -----------------------------------------------------

async def test_create_show_list_update_delete(cloud: CloudClient) -> None:
    r = await create(cloud, "agg1", "az1")
    created = r.json()["aggregate"]
    assert set(created) == {"id", "name", "availability_zone", "created_at", "updated_at",
                            "deleted_at", "deleted"}
    assert (created["name"], created["availability_zone"]) == ("agg1", "az1")
    assert created["deleted"] is False and created["updated_at"] is None
    aggregate_id = created["id"]
    shown = (await cloud.call("GET", f"{AGG}/{aggregate_id}", expect=200)).json()["aggregate"]
    assert shown["hosts"] == [] and shown["metadata"] == {"availability_zone": "az1"}
    assert "uuid" not in shown
    listed = (await cloud.call("GET", AGG, expect=200)).json()["aggregates"]
    assert [(a["id"], a["name"], a["availability_zone"]) for a in listed] == [
        (aggregate_id, "agg1", "az1")]
    r = await cloud.call("PUT", f"{AGG}/{aggregate_id}", expect=200, json={
        "aggregate": {"name": "  agg2 ", "availability_zone": "az2"}})
    updated = r.json()["aggregate"]
    assert (updated["name"], updated["availability_zone"]) == ("agg2", "az2")
    assert updated["metadata"] == {"availability_zone": "az2"}
    assert updated["updated_at"] is not None
    r = await cloud.call("DELETE", f"{AGG}/{aggregate_id}", expect=200)
    assert r.content == b""
    await cloud.call("GET", f"{AGG}/{aggregate_id}", expect=404)


async def test_a_zone_is_optional_and_null_means_none(cloud: CloudClient) -> None:
    assert (await create(cloud, "plain")).json()["aggregate"]["availability_zone"] is None
    r = await cloud.call("POST", AGG, expect=200, json={
        "aggregate": {"name": "nulled", "availability_zone": None}})
    assert r.json()["aggregate"]["availability_zone"] is None


async def test_uuid_shows_from_2_41(cloud: CloudClient) -> None:
    created = (await create(cloud, "agg", v="2.41")).json()["aggregate"]
    assert len(created["uuid"]) == 36 and "hosts" not in created
    for path in (f"{AGG}/{created['id']}", AGG):
        r = await cloud.call("GET", path, headers=version("2.41"), expect=200)
        body = r.json()
        shown = body["aggregate"] if "aggregate" in body else body["aggregates"][0]
        assert shown["uuid"] == created["uuid"]
    r = await action(cloud, created["id"], "set_metadata", {"k": "v"}, v="2.40")
    assert "uuid" not in r.json()["aggregate"]


async def test_a_duplicate_name_is_a_409(cloud: CloudClient) -> None:
    await make(cloud, "dup")
    r = await create(cloud, "dup", expect=409)
    assert fault(r, "conflictingRequest") == "Aggregate dup already exists."
    other = await make(cloud, "other")
    r = await cloud.call("PUT", f"{AGG}/{other}", expect=409,
                         json={"aggregate": {"name": "dup"}})
    assert fault(r, "conflictingRequest") == "Aggregate dup already exists."
    # Renaming to its own name is no conflict.
    await cloud.call("PUT", f"{AGG}/{other}", expect=200, json={"aggregate": {"name": "other"}})


@pytest.mark.parametrize("body", [
    {}, {"aggregate": {}}, {"aggregate": {"name": ""}}, {"aggregate": {"name": "x" * 256}},
    {"aggregate": {"name": " lead"}}, {"aggregate": {"name": "a", "availability_zone": ""}},
    {"aggregate": {"name": "a", "availability_zone": "a:b"}},
    {"aggregate": {"name": "a", "availability_zone": "z" * 256}},
    {"aggregate": {"name": "a", "extra": 1}}, {"aggregate": {"name": 5}}, {"name": "a"}])
async def test_create_rejects_bad_bodies(cloud: CloudClient, body: Any) -> None:
    r = await cloud.call("POST", AGG, json=body, expect=400)
    fault(r, "badRequest")
    assert (await cloud.call("GET", AGG, expect=200)).json() == {"aggregates": []}


@pytest.mark.parametrize("body", [
    {"aggregate": {}}, {"aggregate": {"name": ""}}, {"aggregate": {"uuid": "x"}},
    {"aggregate": {"availability_zone": "a:b"}}, {"other": {}}])
async def test_update_rejects_bad_bodies(cloud: CloudClient, body: Any) -> None:
    aggregate_id = await make(cloud, "agg")
    fault(await cloud.call("PUT", f"{AGG}/{aggregate_id}", json=body, expect=400),
          "badRequest")


async def test_an_empty_zone_is_refused_on_update_and_set_metadata(cloud: CloudClient) -> None:
    aggregate_id = await make(cloud, "agg", "az1")
    r = await cloud.call("PUT", f"{AGG}/{aggregate_id}", expect=400,
                         json={"aggregate": {"availability_zone": None}})
    assert fault(r, "badRequest") == (
        f"Cannot update aggregate {aggregate_id}. Reason: Aggregate agg does not support "
        "empty named availability zone.")
    r = await action(cloud, aggregate_id, "set_metadata", {"availability_zone": None},
                     expect=400)
    assert fault(r, "badRequest").startswith(
        f"Cannot update metadata of aggregate {aggregate_id}. Reason: Aggregate agg does "
        "not support empty named availability zone")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_unknown_and_malformed_ids(cloud: CloudClient, method: str) -> None:
    body = {"aggregate": {"name": "x"}} if method == "PUT" else None
    for ident in ("999", "99999999999999999999", "-1"):
        r = await cloud.call(method, f"{AGG}/{ident}", json=body, expect=404)
        assert fault(r, "itemNotFound") == f"Aggregate {int(ident)} could not be found."
    r = await cloud.call(method, f"{AGG}/abc", json=body, expect=400)
    assert "id must be an integer" in fault(r, "badRequest")


async def test_actions_on_unknown_and_malformed_ids(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    r = await action(cloud, 999, "add_host", "h1", expect=404)
    assert fault(r, "itemNotFound") == "Aggregate 999 could not be found."
    r = await action(cloud, 999, "set_metadata", {"k": "v"}, expect=404)
    assert fault(r, "itemNotFound") == "Aggregate 999 could not be found."
    r = await action(cloud, 999, "remove_host", "h1", expect=404)
    assert fault(r, "itemNotFound") == "Cannot remove host h1 in aggregate 999"
    r = await action(cloud, "abc", "add_host", "h1", expect=400)
    assert "id must be an integer" in fault(r, "badRequest")


async def test_a_non_empty_aggregate_is_not_deleted(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    aggregate_id = await make(cloud, "agg")
    await action(cloud, aggregate_id, "add_host", "h1")
    r = await cloud.call("DELETE", f"{AGG}/{aggregate_id}", expect=400)
    assert fault(r, "badRequest") == (f"Cannot remove host from aggregate {aggregate_id}. "
                                      "Reason: Host aggregate is not empty.")
    await action(cloud, aggregate_id, "remove_host", "h1")
    await cloud.call("DELETE", f"{AGG}/{aggregate_id}", expect=200)


# --- actions ---------------------------------------------------------------------------------

async def test_add_and_remove_host(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    await add_host(cloud, "h2")
    aggregate_id = await make(cloud, "agg")
    await action(cloud, aggregate_id, "add_host", "h1")
    r = await action(cloud, aggregate_id, "add_host", "h2")
    assert r.json()["aggregate"]["hosts"] == ["h1", "h2"]
    r = await action(cloud, aggregate_id, "remove_host", "h1")
    assert r.json()["aggregate"]["hosts"] == ["h2"]
    listed = (await cloud.call("GET", AGG, expect=200)).json()["aggregates"]
    assert listed[0]["hosts"] == ["h2"]


async def test_add_host_errors(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    await add_service(cloud, "ctl", binary="nova-conductor")
    aggregate_id = await make(cloud, "agg")
    for unknown in ("nowhere", "ctl"):
        r = await action(cloud, aggregate_id, "add_host", unknown, expect=404)
        assert fault(r, "itemNotFound") == f"Compute host {unknown} could not be found."
    await action(cloud, aggregate_id, "add_host", "h1")
    r = await action(cloud, aggregate_id, "add_host", "h1", expect=409)
    assert fault(r, "conflictingRequest") == f"Aggregate {aggregate_id} already has host h1."


async def test_remove_host_errors(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    aggregate_id = await make(cloud, "agg")
    for host in ("nowhere", "h1"):
        r = await action(cloud, aggregate_id, "remove_host", host, expect=404)
        assert fault(r, "itemNotFound") == f"Cannot remove host {host} in aggregate " \
                                           f"{aggregate_id}"


@pytest.mark.parametrize("body", [
    {}, {"add_host": {}}, {"add_host": {"host": ""}}, {"add_host": {"host": "a b"}},
    {"add_host": {"host": "h", "x": 1}}, {"remove_host": {"host": 5}},
    {"set_metadata": {}}, {"set_metadata": {"metadata": {"": "v"}}},
    {"set_metadata": {"metadata": {"k": "v" * 256}}},
    {"set_metadata": {"metadata": {"k!": "v"}}}, {"set_metadata": {"metadata": {"k": 1}}},
    {"add_host": {"host": "h"}, "remove_host": {"host": "h"}}, [], {"nosuch": {}}])
async def test_actions_reject_bad_bodies(cloud: CloudClient, body: Any) -> None:
    aggregate_id = await make(cloud, "agg")
    r = await cloud.call("POST", f"{AGG}/{aggregate_id}/action", json=body, expect=400)
    message = fault(r, "badRequest")
    if body == {"nosuch": {}}:
        assert message == "There is no such action: nosuch"


async def test_set_metadata_sets_replaces_and_deletes_keys(cloud: CloudClient) -> None:
    aggregate_id = await make(cloud, "agg", "az1")
    r = await action(cloud, aggregate_id, "set_metadata", {"a": "1", "b": "2"})
    assert r.json()["aggregate"]["metadata"] == {"a": "1", "b": "2", "availability_zone": "az1"}
    r = await action(cloud, aggregate_id, "set_metadata", {"a": "3", "b": None, "c": None})
    assert r.json()["aggregate"]["metadata"] == {"a": "3", "availability_zone": "az1"}
    r = await action(cloud, aggregate_id, "set_metadata", {"availability_zone": "az2"})
    assert r.json()["aggregate"]["availability_zone"] == "az2"
    shown = (await cloud.call("GET", f"{AGG}/{aggregate_id}", expect=200)).json()
    assert shown["aggregate"]["metadata"] == {"a": "3", "availability_zone": "az2"}


async def test_everything_is_admin_only(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    aggregate_id = await make(cloud, "agg")
    for role in ("member", "reader"):
        _, token = await cloud.project_user_token(role)
        for method, path, body in (
                ("GET", AGG, None), ("POST", AGG, {"aggregate": {"name": "x"}}),
                ("GET", f"{AGG}/{aggregate_id}", None),
                ("PUT", f"{AGG}/{aggregate_id}", {"aggregate": {"name": "x"}}),
                ("DELETE", f"{AGG}/{aggregate_id}", None)):
            r = await cloud.call(method, path, token=token, json=body, expect=403)
            assert "os-aggregates" in fault(r, "forbidden")
        for name, value in (("add_host", "h1"), ("remove_host", "h1"),
                            ("set_metadata", {"k": "v"})):
            r = await action(cloud, aggregate_id, name, value, token=token, expect=403)
            assert f"os-aggregates:{name}" in fault(r, "forbidden")


async def test_image_precaching_is_not_served(cloud: CloudClient) -> None:
    aggregate_id = await make(cloud, "agg")
    r = await cloud.call("POST", f"{AGG}/{aggregate_id}/images", headers=version("2.81"),
                         json={"cache": [{"id": "00000000-0000-4000-8000-000000000000"}]})
    assert r.status_code == 404


# --- the zone rules ----------------------------------------------------------------------------

async def test_a_host_takes_its_aggregates_zone(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    await add_host(cloud, "h2")
    assert await zones(cloud) == {"nova": True}
    aggregate_id = await make(cloud, "agg", "az1")
    assert await zones(cloud) == {"nova": True}         # a zone is made by its hosts
    await action(cloud, aggregate_id, "add_host", "h1")
    assert await zones(cloud) == {"az1": True, "nova": True}
    r = await cloud.call("GET", "/v2.1/os-availability-zone/detail", expect=200)
    detail = {z["zoneName"]: z["hosts"] for z in r.json()["availabilityZoneInfo"]}
    assert set(detail["az1"]) == {"h1"} and set(detail["nova"]) == {"h2"}
    r = await cloud.call("GET", "/v2.1/os-services?host=h1", expect=200)
    assert r.json()["services"][0]["zone"] == "az1"
    r = await cloud.call("GET", "/v2.1/os-hosts", expect=200)
    assert {h["host_name"]: h["zone"] for h in r.json()["hosts"]} == {"h1": "az1",
                                                                      "h2": "nova"}
    await action(cloud, aggregate_id, "set_metadata", {"availability_zone": "az9"})
    assert await zones(cloud) == {"az9": True, "nova": True}
    await action(cloud, aggregate_id, "remove_host", "h1")
    assert await zones(cloud) == {"nova": True}


async def test_a_host_cannot_be_in_two_zones(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    await add_host(cloud, "h2")
    first = await make(cloud, "first", "az1")
    second = await make(cloud, "second", "az2")
    same = await make(cloud, "same", "az1")
    plain = await make(cloud, "plain")
    await action(cloud, first, "add_host", "h1")
    r = await action(cloud, second, "add_host", "h1", expect=409)
    assert fault(r, "conflictingRequest") == (
        f"Cannot add host to aggregate {second}. Reason: One or more hosts already in "
        "availability zone(s) ['az1'].")
    await action(cloud, same, "add_host", "h1")          # the same zone is fine
    await action(cloud, plain, "add_host", "h1")         # and so is no zone
    # Giving the zoneless aggregate another zone would put h1 in two.
    r = await cloud.call("PUT", f"{AGG}/{plain}", expect=400,
                         json={"aggregate": {"availability_zone": "az2"}})
    assert fault(r, "badRequest") == (
        f"Cannot update aggregate {plain}. Reason: One or more hosts already in "
        "availability zone(s) ['az1', 'az1'].")
    r = await action(cloud, plain, "set_metadata", {"availability_zone": "az2"}, expect=400)
    assert "One or more hosts already in availability zone(s)" in fault(r, "badRequest")
    await cloud.call("PUT", f"{AGG}/{plain}", expect=200,
                     json={"aggregate": {"availability_zone": "az1"}})


async def test_the_zone_of_a_host_with_instances_does_not_change(cloud: CloudClient) -> None:
    await add_host(cloud, "busy")
    await add_instance(cloud, host="busy")
    zoned = await make(cloud, "zoned", "az1")
    plain = await make(cloud, "plain")
    r = await action(cloud, zoned, "add_host", "busy", expect=409)
    assert fault(r, "conflictingRequest").startswith(
        f"Cannot add host to aggregate {zoned}. Reason: The host cannot be added to the "
        "aggregate as the availability zone of the host would change from 'None' to 'az1' "
        "but the host already has 1 instance(s).")
    await action(cloud, plain, "add_host", "busy")        # no zone: nothing moves
    r = await cloud.call("PUT", f"{AGG}/{plain}", expect=400,
                         json={"aggregate": {"availability_zone": "az2"}})
    assert fault(r, "badRequest") == (f"Cannot update aggregate {plain}. Reason: One or more "
                                      "hosts contain instances in this zone.")
    await action(cloud, plain, "remove_host", "busy")


async def test_a_host_with_instances_stays_in_its_zone(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    zoned = await make(cloud, "zoned", "az1")
    await action(cloud, zoned, "add_host", "h1")
    await add_instance(cloud, host="h1")
    r = await action(cloud, zoned, "remove_host", "h1", expect=409)
    assert fault(r, "conflictingRequest").startswith(
        f"Cannot remove host from aggregate {zoned}. Reason: The host cannot be removed from "
        "the aggregate as the availability zone of the host would change from 'az1' to "
        "'None'")
    # A second aggregate of the same zone keeps the host there: it may leave the first.
    also = await make(cloud, "also", "az1")
    await action(cloud, also, "add_host", "h1")
    await action(cloud, zoned, "remove_host", "h1")
    # Renaming the zone would move the instance; the same name is no change.
    r = await action(cloud, also, "set_metadata", {"availability_zone": "az2"}, expect=400)
    assert "One or more hosts contain instances in this zone" in fault(r, "badRequest")
    await action(cloud, also, "set_metadata", {"availability_zone": "az1", "k": "v"})


async def test_server_create_refuses_a_zone_without_hosts(cloud: CloudClient) -> None:
    await add_host(cloud, "h1")
    await make(cloud, "empty", "az-empty")
    image_id, flavor_id = await boot_setup(cloud)
    r = await cloud.call("POST", "/v2.1/servers", expect=400, json={"server": {
        "name": "vm", "imageRef": image_id, "flavorRef": flavor_id,
        "availability_zone": "az-empty"}})
    assert fault(r, "badRequest") == "The requested availability zone is not available"


# --- scheduling and Placement, on two simulated nodes ------------------------------------------

async def _wait_hosts(cloud: CloudClient, count: int) -> list[str]:
    for _ in range(500):
        r = await cloud.call("GET", "/v2.1/os-services?binary=nova-compute", expect=200)
        hosts = sorted(s["host"] for s in r.json()["services"])
        if len(hosts) >= count:
            return hosts
        await asyncio.sleep(0.02)
    raise AssertionError("the simulated nodes never reported")


async def _provider_aggregates(cloud: CloudClient, host: str) -> list[str]:
    r = await cloud.call("GET", f"/v2.1/os-hypervisors?hypervisor_hostname_pattern={host}",
                         headers=version("2.53"), expect=200)
    node = r.json()["hypervisors"][0]["id"]
    r = await cloud.on("placement", "GET", f"/resource_providers/{node}/aggregates",
                       headers={"OpenStack-API-Version": "placement 1.19"}, expect=200)
    return list(r.json()["aggregates"])


async def test_servers_of_a_zone_land_on_its_hosts(nodes2: CloudClient) -> None:
    first, second = await _wait_hosts(nodes2, 2)
    created = (await create(nodes2, "agg1", "az1", v="2.41")).json()["aggregate"]
    await action(nodes2, created["id"], "add_host", second)
    assert await _provider_aggregates(nodes2, second) == [created["uuid"]]
    assert await _provider_aggregates(nodes2, first) == []
    image_id, flavor_id = await boot_setup(nodes2)
    for _ in range(3):
        server_id = await boot_id(nodes2, None, image_id, flavor_id, v="2.37",
                                  networks="none",
                                  availability_zone="az1")
        server = await wait_status(nodes2, None, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == second
        assert server["OS-EXT-AZ:availability_zone"] == "az1"
    # A server that asks for the default zone goes to the host left in it.
    server_id = await boot_id(nodes2, None, image_id, flavor_id, v="2.37",
                                  networks="none",
                              availability_zone="nova")
    server = await wait_status(nodes2, None, server_id, "ACTIVE")
    assert (server["OS-EXT-SRV-ATTR:host"], server["OS-EXT-AZ:availability_zone"]) == (
        first, "nova")
    # The zone's only host disabled: no valid host.
    r = await nodes2.call("GET", f"/v2.1/os-services?host={second}", expect=200,
                          headers=version("2.53"))
    service_id = r.json()["services"][0]["id"]
    await nodes2.call("PUT", f"/v2.1/os-services/{service_id}", headers=version("2.53"),
                      json={"status": "disabled"}, expect=200)
    server_id = await boot_id(nodes2, None, image_id, flavor_id, v="2.37",
                                  networks="none",
                              availability_zone="az1")
    server = await wait_status(nodes2, None, server_id, "ERROR")
    assert "No valid host" in server["fault"]["message"]


async def test_removing_a_host_takes_it_out_of_placements_aggregate(
        nodes2: CloudClient) -> None:
    first, _ = await _wait_hosts(nodes2, 2)
    created = (await create(nodes2, "agg1", v="2.41")).json()["aggregate"]
    await action(nodes2, created["id"], "add_host", first)
    assert await _provider_aggregates(nodes2, first) == [created["uuid"]]
    await action(nodes2, created["id"], "remove_host", first)
    assert await _provider_aggregates(nodes2, first) == []


async def test_an_admin_may_name_the_host_with_the_zone(nodes2: CloudClient) -> None:
    """Nova's legacy ``zone:host`` form: the admin's (``create:forced_host``); the zone
    part is not checked at the API, the scheduler keeps to both."""
    first, second = await _wait_hosts(nodes2, 2)
    created = (await create(nodes2, "agg1", "az1")).json()["aggregate"]
    await action(nodes2, created["id"], "add_host", second)
    image_id, flavor_id = await boot_setup(nodes2)
    for requested, host in ((f"az1:{second}", second), (f":{first}", first),
                            (f"nova:{first}", first)):
        server_id = await boot_id(nodes2, None, image_id, flavor_id, v="2.37",
                                  networks="none", availability_zone=requested)
        server = await wait_status(nodes2, None, server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == host
        # The server keeps the zone of its host, as a plain request's does.
        zone = "az1" if host == second else "nova"
        r = await nodes2.call("GET", "/v2.1/servers/detail", expect=200,
                              params={"availability_zone": f"^{zone}$"})
        assert server_id in [s["id"] for s in r.json()["servers"]]
    server_id = await boot_id(nodes2, None, image_id, flavor_id, v="2.37", networks="none",
                              availability_zone=f"az1:{first}")
    server = await wait_status(nodes2, None, server_id, "ERROR")
    assert "No valid host" in server["fault"]["message"]
    r = await nodes2.call("POST", "/v2.1/servers", expect=400, json={"server": {
        "name": "vm", "imageRef": image_id, "flavorRef": flavor_id,
        "availability_zone": "a:b:c:d"}})
    assert fault(r, "badRequest") == "Invalid input received: Unable to parse availability_zone"
    _, token = await nodes2.project_user_token("member")
    r = await nodes2.call("POST", "/v2.1/servers", token=token, expect=403, json={"server": {
        "name": "vm", "imageRef": image_id, "flavorRef": flavor_id,
        "availability_zone": f"az1:{second}"}})
    assert "create:forced_host" in fault(r, "forbidden")


async def test_a_lost_race_is_the_same_conflict(cloud: CloudClient,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Two requests that both passed the checks: the unique constraints decide, and the
    loser gets the conflict the checks would have given it, not a 500."""
    from ownstack.compute.objects import aggregates

    await add_host(cloud, "h1")
    aggregate_id = await make(cloud, "agg")
    await action(cloud, aggregate_id, "add_host", "h1")

    async def stale(db: Any, name: str, but: int | None = None) -> bool:
        return False

    real_get = aggregates.get_aggregate

    async def before_the_add(db: Any, ident: int) -> aggregates.AggregateRecord:
        record = await real_get(db, ident)
        record.hosts.clear()
        return record

    monkeypatch.setattr(aggregates, "_name_taken", stale)
    monkeypatch.setattr(aggregates, "get_aggregate", before_the_add)
    r = await create(cloud, "agg", expect=409)
    assert fault(r, "conflictingRequest") == "Aggregate agg already exists."
    r = await action(cloud, aggregate_id, "add_host", "h1", expect=409)
    assert fault(r, "conflictingRequest") == f"Aggregate {aggregate_id} already has host h1."
