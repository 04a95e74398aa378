"""GET /servers and /servers/detail: filters, paging, and the view per microversion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update

from helpers.compute import boot_id, boot_setup, fault, make_flavor, make_image, show, version
from helpers.compute_rows import add_host, add_service
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.compute.objects.models import Instance, InstanceTag

V = "2.96"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[CloudClient]:
    """The cloud with the compute API only: servers stay where the test puts them."""
    async for client in quiet_cloud(tmp_path):
        yield client


async def _list(cloud: CloudClient, token: str | None, v: str = "2.1", detail: bool = False,
                expect: int = 200, **params: Any) -> Any:
    path = "/v2.1/servers/detail" if detail else "/v2.1/servers"
    r = await cloud.call("GET", path, token=token, params=params, headers=version(v),
                         expect=expect)
    return r


async def _names(cloud: CloudClient, token: str | None, v: str = "2.1", **params: Any
                 ) -> list[str]:
    r = await _list(cloud, token, v, **params)
    return sorted(s["name"] for s in r.json()["servers"])


async def _set(cloud: CloudClient, server_id: str, **values: Any) -> None:
    async with cloud.svc.write() as db:
        await db.execute(update(Instance).where(Instance.uuid == server_id).values(**values))


async def test_index_and_detail_show_the_projects_servers(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    _, other = await api.project_user_token()
    mine = await boot_id(api, token, image_id, flavor_id, name="mine")
    await boot_id(api, other, image_id, flavor_id, name="theirs")
    r = await _list(api, token)
    [item] = r.json()["servers"]
    assert set(item) == {"id", "name", "links"} and item["id"] == mine
    assert "servers_links" not in r.json()
    r = await _list(api, token, detail=True)
    [server] = r.json()["servers"]
    assert server["id"] == mine and server["status"] == "BUILD"
    assert server == (await show(api, token, mine))["server"]
    # Admins see every project with all_tenants, and may pick one.
    assert await _names(api, None) == []
    assert await _names(api, None, all_tenants=1) == ["mine", "theirs"]
    project_of_mine = (await show(api, token, mine))["server"]["tenant_id"]
    assert await _names(api, None, all_tenants="True", tenant_id=project_of_mine) == ["mine"]
    r = await _list(api, token, expect=403, all_tenants=1)
    fault(r, "forbidden")
    r = await _list(api, None, expect=400, all_tenants="maybe")
    fault(r, "badRequest")


async def test_name_status_image_flavor_filters(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    other_image = await make_image(api)
    other_flavor = str((await make_flavor(api))["id"])
    _, token = await api.project_user_token()
    web = await boot_id(api, token, image_id, flavor_id, name="web-1")
    await boot_id(api, token, image_id, other_flavor, name="web-2")
    await boot_id(api, token, other_image, flavor_id, name="db-1")
    await _set(api, web, vm_state="active", task_state=None)
    assert await _names(api, token, name="^web") == ["web-1", "web-2"]
    assert await _names(api, token, name="1$") == ["db-1", "web-1"]
    assert await _names(api, token, status="ACTIVE") == ["web-1"]
    assert await _names(api, token, status="build") == ["db-1", "web-2"]
    assert await _names(api, token, image=other_image) == ["db-1"]
    assert await _names(api, token, image=f"http://x/images/{other_image}") == ["db-1"]
    assert await _names(api, token, flavor=other_flavor) == ["web-2"]
    assert await _names(api, token, ip="10.0.0.1") == []
    r = await _list(api, token, "2.38", expect=400, status="WEIRD")
    assert fault(r, "badRequest") == "Invalid status value: WEIRD"
    assert await _names(api, token, "2.37", status="WEIRD") == []
    r = await _list(api, token, expect=400, name="(")
    fault(r, "badRequest")
    # Admin-only filters are ignored for others, honoured for admins.
    await _set(api, web, host="node-1")
    assert await _names(api, token, host="node-1") == ["db-1", "web-1", "web-2"]
    assert await _names(api, None, all_tenants=1, host="node-1") == ["web-1"]


async def test_deleted_servers_and_changes_since(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    gone = await boot_id(api, token, image_id, flavor_id, name="gone")
    await boot_id(api, token, image_id, flavor_id, name="kept")
    before = datetime.now(UTC) - timedelta(seconds=1)
    await api.call("DELETE", f"/v2.1/servers/{gone}", token=token, expect=204)
    assert await _names(api, token) == ["kept"]
    # OSC sends deleted=False; non-admins' deleted filter is ignored.
    assert await _names(api, token, deleted="False") == ["kept"]
    assert await _names(api, token, deleted="True") == ["kept"]
    assert await _names(api, None, all_tenants=1, deleted="true") == ["gone"]
    r = await _list(api, token, expect=403, status="DELETED")
    fault(r, "forbidden")
    since = before.isoformat()
    r = await _list(api, token, detail=True, **{"changes-since": since})
    statuses = {s["name"]: s["status"] for s in r.json()["servers"]}
    assert statuses == {"gone": "DELETED", "kept": "BUILD"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await _names(api, token, **{"changes-since": future}) == []
    r = await _list(api, token, expect=400, **{"changes-since": "yesterday"})
    fault(r, "badRequest")
    assert await _names(api, token, "2.66", **{"changes-before": future}) == ["gone", "kept"]
    r = await _list(api, token, "2.66", expect=400,
                    **{"changes-since": future, "changes-before": since})
    fault(r, "badRequest")


async def test_tag_locked_zone_and_key_filters(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    a = await boot_id(api, token, image_id, flavor_id, name="a", v="2.52", networks="none",
                      tags=["red", "big"])
    b = await boot_id(api, token, image_id, flavor_id, name="b", v="2.52", networks="none",
                      tags=["red"])
    await boot_id(api, token, image_id, flavor_id, name="c")
    assert await _names(api, token, "2.26", tags="red,big") == ["a"]
    assert await _names(api, token, "2.26", **{"tags-any": "big,red"}) == ["a", "b"]
    assert await _names(api, token, "2.26", **{"not-tags": "red,big"}) == ["b", "c"]
    assert await _names(api, token, "2.26", **{"not-tags-any": "big,red"}) == ["c"]
    # Before 2.26 a tags filter is no filter (non-admin).
    assert await _names(api, token, "2.25", tags="big") == ["a", "b", "c"]
    await _set(api, b, locked=True, availability_zone="zone-x", key_name="k-1")
    assert await _names(api, token, "2.73", locked="true") == ["b"]
    assert await _names(api, token, "2.73", locked="false") == ["a", "c"]
    r = await _list(api, token, "2.73", expect=400, locked="perhaps")
    fault(r, "badRequest")
    assert await _names(api, token, "2.83", availability_zone="zone-x") == ["b"]
    assert await _names(api, token, "2.83", key_name="^k-") == ["b"]
    assert await _names(api, token, "2.82", key_name="^k-") == ["a", "b", "c"]
    del a


async def test_paging_sorting_and_markers(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    for name in ("s1", "s2", "s3", "s4", "s5"):
        await boot_id(api, token, image_id, flavor_id, name=name)
    r = await _list(api, token, limit=2, sort_key="display_name", sort_dir="asc")
    page = r.json()
    assert [s["name"] for s in page["servers"]] == ["s1", "s2"]
    next_href = page["servers_links"][0]["href"]
    assert "marker=" in next_href and "limit=2" in next_href
    marker = page["servers"][-1]["id"]
    r = await _list(api, token, limit=2, marker=marker, sort_key="display_name",
                    sort_dir="asc")
    assert [s["name"] for s in r.json()["servers"]] == ["s3", "s4"]
    r = await _list(api, token, limit=10, sort_key="display_name", sort_dir="desc")
    assert [s["name"] for s in r.json()["servers"]] == ["s5", "s4", "s3", "s2", "s1"]
    assert "servers_links" not in r.json()
    # Nova's default order: newest first.
    r = await _list(api, token)
    assert r.json()["servers"][0]["name"] == "s5"
    r = await _list(api, token, expect=400, marker="5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f00")
    assert fault(r, "badRequest") == "marker [5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f00] not found"
    r = await _list(api, token, expect=400, sort_key="nonsense")
    fault(r, "badRequest")
    # A Nova sort key ownstack has no column for is ignored before 2.75, refused after.
    assert len((await _list(api, token, sort_key="vcpus")).json()["servers"]) == 5
    await _list(api, token, "2.75", expect=400, sort_key="vcpus")
    r = await _list(api, token, "2.75", expect=400, bogus="1")
    assert "bogus" in fault(r, "badRequest")
    assert len((await _list(api, token, "2.74", bogus="1")).json()["servers"]) == 5


# --- the view per microversion ----------------------------------------------------------------

_BASE = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
         "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
         "OS-DCF:diskConfig", "progress", "OS-EXT-AZ:availability_zone", "config_drive",
         "key_name", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
         "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
         "os-extended-volumes:volumes_attached"}
_ADMIN_21 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name",
             "OS-EXT-SRV-ATTR:hypervisor_hostname"}
_ADMIN_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index",
             "OS-EXT-SRV-ATTR:hostname", "OS-EXT-SRV-ATTR:kernel_id",
             "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
             "OS-EXT-SRV-ATTR:user_data"}


@pytest.mark.parametrize(("v", "added"), [
    ("2.1", set()),
    ("2.8", set()),
    ("2.9", {"locked"}),
    ("2.19", {"locked", "description"}),
    ("2.26", {"locked", "description", "tags"}),
    ("2.63", {"locked", "description", "tags", "trusted_image_certificates"}),
    ("2.71", {"locked", "description", "tags", "trusted_image_certificates",
              "server_groups"}),
    ("2.73", {"locked", "description", "tags", "trusted_image_certificates",
              "server_groups", "locked_reason"}),
    ("2.90", {"locked", "description", "tags", "trusted_image_certificates",
              "server_groups", "locked_reason", "OS-EXT-SRV-ATTR:hostname"}),
    ("2.96", {"locked", "description", "tags", "trusted_image_certificates",
              "server_groups", "locked_reason", "OS-EXT-SRV-ATTR:hostname",
              "pinned_availability_zone"}),
])
async def test_show_fields_appear_at_their_microversion(api: CloudClient, v: str,
                                                        added: set[str]) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    server = (await show(api, token, server_id, v=v))["server"]
    assert set(server) == _BASE | added
    # Lists never carry server_groups (as in Nova).
    [listed] = (await _list(api, token, v, detail=True)).json()["servers"]
    assert set(listed) == _BASE | (added - {"server_groups"})


async def test_flavor_is_embedded_from_2_47(api: CloudClient) -> None:
    image_id, _ = await boot_setup(api)
    flavor = await make_flavor(api, ram=512, vcpus=2, disk=1, swap=128)
    await api.call("POST", f"/v2.1/flavors/{flavor['id']}/os-extra_specs", expect=200,
                   json={"extra_specs": {"hw:cpu_policy": "shared"}})
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor["id"])
    old = (await show(api, token, server_id, v="2.46"))["server"]["flavor"]
    assert old["id"] == flavor["id"] and old["links"][0]["rel"] == "bookmark"
    new = (await show(api, token, server_id, v="2.47"))["server"]["flavor"]
    assert new == {"vcpus": 2, "ram": 512, "disk": 1, "ephemeral": 0, "swap": 128,
                   "original_name": flavor["name"],
                   "extra_specs": {"hw:cpu_policy": "shared"}}


async def test_admin_sees_extended_attributes_and_host_status(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id, name="Big Box")
    server = (await show(api, None, server_id))["server"]
    assert set(server) == _BASE | _ADMIN_21
    assert server["OS-EXT-SRV-ATTR:host"] is None
    server = (await show(api, None, server_id, v="2.16"))["server"]
    assert set(server) == _BASE | _ADMIN_21 | _ADMIN_23 | {"locked", "host_status"}
    assert server["host_status"] == ""
    assert server["OS-EXT-SRV-ATTR:hostname"] == "big-box"
    assert server["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert server["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    await add_service(api, "node-1", zone="zone-1")
    await _set(api, server_id, host="node-1", node="node-1", vm_state="active",
               task_state=None)
    server = (await show(api, None, server_id, v="2.16"))["server"]
    assert server["host_status"] == "UP"
    assert server["OS-EXT-AZ:availability_zone"] == "zone-1"
    assert len(server["hostId"]) == 56
    mine = (await show(api, token, server_id, v="2.16"))["server"]
    assert "host_status" not in mine and mine["hostId"] == server["hostId"]
    await add_service(api, "node-2", up=False)
    await _set(api, server_id, host="node-2")
    server = (await show(api, None, server_id, v="2.16"))["server"]
    assert server["host_status"] == "UNKNOWN"


async def test_fault_is_shown_for_errored_servers(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await _set(api, server_id, vm_state="error", task_state=None, fault={
        "code": 500, "message": "No valid host was found.", "details": "trace",
        "created": "2024-01-01T00:00:00Z"})
    server = (await show(api, token, server_id))["server"]
    assert server["status"] == "ERROR" and "progress" not in server
    assert server["fault"] == {"code": 500, "message": "No valid host was found.",
                               "created": "2024-01-01T00:00:00Z"}
    admin_view = (await show(api, None, server_id))["server"]
    assert admin_view["fault"]["details"] == "trace"


async def test_detail_of_many_servers_costs_a_fixed_number_of_queries(
        api: CloudClient) -> None:
    """A page of 300 servers costs the same statements as a page of one: no query per
    server. (How fast it is, is bench/bench_compute.py's: /servers/detail at 1000.)"""
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    first = await boot_id(api, token, image_id, flavor_id, name="many", min_count=1,
                          max_count=1)
    one = await _statements_of(api, lambda: _list(api, token, V, detail=True))
    async with api.svc.write() as db:
        template = (await db.execute(
            Instance.__table__.select().where(Instance.uuid == first))).mappings().one()
        rows = [{**template, "uuid": f"00000000-0000-4000-8000-{i:012d}",
                 "display_name": f"many-{i}"} for i in range(299)]
        await db.execute(Instance.__table__.insert(), rows)
        await db.execute(InstanceTag.__table__.insert(),
                         [{"instance_uuid": row["uuid"], "tag": "t"} for row in rows])
    listed: list[Any] = []

    async def list_many() -> None:
        listed.append(await _list(api, token, V, detail=True))
    many = await _statements_of(api, list_many)
    assert len(listed[0].json()["servers"]) == 300
    # servers; metadata, volume mappings (volumes_attached) and tags in one UNION ALL
    assert many == one and len(one) == 2, (one, many)


async def test_show_reads_the_server_and_its_hosts_service_in_one_statement(
        api: CloudClient) -> None:
    """A status poll's two statements: the server with its host's compute service (the
    zone an aggregate gives the host, its status), then the UNION ALL of its details."""
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id, name="polled")
    await add_host(api, "node-az", zone="own-zone")
    r = await api.call("POST", "/v2.1/os-aggregates", headers=version("2.1"),
                       json={"aggregate": {"name": "agg", "availability_zone": "agg-zone"}})
    await api.call("POST", f"/v2.1/os-aggregates/{r.json()['aggregate']['id']}/action",
                   headers=version("2.1"), json={"add_host": {"host": "node-az"}})
    await _set(api, server_id, host="node-az", node="node-az", vm_state="active",
               task_state=None)
    shown: list[Any] = []

    async def poll() -> None:
        shown.append((await show(api, None, server_id, v="2.16"))["server"])
    assert await _statements_of(api, poll) == ["SELECT compute_instances.uuid,",
                                               "SELECT 'm'"]
    server = shown[0]
    assert server["OS-EXT-AZ:availability_zone"] == "agg-zone"
    assert server["host_status"] == "UP" and server["OS-EXT-SRV-ATTR:host"] == "node-az"
    [listed] = [s for s in (await _list(api, None, "2.16", detail=True,
                                        all_tenants="1")).json()["servers"]
                if s["id"] == server_id]
    assert listed == server
    # A host without a compute service: the server's own zone, an unknown host status.
    await _set(api, server_id, host="gone", node="gone", availability_zone="asked")
    server = (await show(api, None, server_id, v="2.16"))["server"]
    assert server["OS-EXT-AZ:availability_zone"] == "asked" and server["host_status"] == ""


async def test_a_shows_details_compare_its_uuid_with_no_list_to_expand(
        api: CloudClient) -> None:
    """The details of one server (a show, each status poll) are read with ``= :uuid``
    rather than an IN list of one (decision 86): the same metadata, tags and server
    group as the listing shows."""
    image_id, flavor_id = await boot_setup(api)
    r = await api.call("POST", "/v2.1/os-server-groups", headers=version("2.64"),
                       json={"server_group": {"name": "g", "policy": "anti-affinity"}})
    group = r.json()["server_group"]["id"]
    server_id = (await api.call("POST", "/v2.1/servers", headers=version("2.71"), json={
        "server": {"name": "detailed", "imageRef": image_id, "flavorRef": flavor_id,
                   "networks": "none", "metadata": {"k": "v", "a": "b"},
                   "tags": ["t2", "t1"]},
        "os:scheduler_hints": {"group": group}}, expect=202)).json()["server"]["id"]
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)
    engine = api.svc.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        server = (await show(api, None, server_id, v="2.71"))["server"]
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [union] = [s for s in statements if s.startswith("SELECT 'm'")]
    assert " IN (" not in union, union
    assert server["metadata"] == {"k": "v", "a": "b"} and server["tags"] == ["t1", "t2"]
    assert server["server_groups"] == [group]
    [listed] = [s for s in (await _list(api, None, "2.71", detail=True)).json()["servers"]
                if s["id"] == server_id]
    assert listed == {k: v for k, v in server.items() if k != "server_groups"}


async def _statements_of(api: CloudClient, call: Callable[[], Awaitable[object]]
                         ) -> list[str]:
    """The kinds of SQL statement (their first words) the compute database ran for
    ``call``."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()[:2]))
    engine = api.svc.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen
