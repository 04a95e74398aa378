"""POST /servers and the life of one server through the API: create, show, update, delete.

Most tests run the compute API without conductor or agents (``api``), so a created server
stays in BUILD/scheduling and every assertion is deterministic; the full cloud is used
where the rest of the control loop matters.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from helpers.compute import (
    boot,
    boot_id,
    boot_setup,
    fault,
    make_flavor,
    make_image,
    show,
    ssh_public_key,
    version,
    wait_status,
)
from helpers.compute import (
    instance as stored_instance,
)
from helpers.compute_rows import add_service
from helpers.inprocess import CloudClient, quiet_cloud
from ownstack.common.bus import BusError
from ownstack.compute.api.handlers import servers as handlers
from ownstack.compute.objects.models import Instance, InstanceAction, ServerGroup

V237 = "2.37"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[CloudClient]:
    """The cloud with the compute API only: servers stay unscheduled."""
    async for client in quiet_cloud(tmp_path):
        yield client


async def _set(cloud: CloudClient, server_id: str, **values: object) -> None:
    async with cloud.svc.write() as db:
        await db.execute(update(Instance).where(Instance.uuid == server_id).values(**values))


# --- create ----------------------------------------------------------------------------------

async def test_create_answers_202_with_nova_body_and_stores_the_request(api: CloudClient
                                                                        ) -> None:
    image_id, flavor_id = await boot_setup(api, ram=512, vcpus=2, disk=1)
    project, token = await api.project_user_token()
    r = await boot(api, token, image_id, flavor_id, name="web 1",
                   metadata={"role": "web"}, accessIPv4="192.0.2.1", config_drive=True,
                   user_data=base64.b64encode(b"#!/bin/sh\n").decode())
    created = r.json()["server"]
    assert set(created) == {"id", "links", "OS-DCF:diskConfig", "security_groups",
                            "adminPass"}
    assert created["security_groups"] == [{"name": "default"}]
    assert len(created["adminPass"]) == 12
    assert created["links"][0]["href"].endswith(f"/v2.1/servers/{created['id']}")
    request_id = r.headers["x-compute-request-id"]
    instance = await stored_instance(api, created["id"])
    assert (instance.vm_state, instance.task_state) == ("building", "scheduling")
    assert instance.project_id == project["id"]
    assert instance.hostname == "web-1"
    assert instance.admin_pass == created["adminPass"]
    assert instance.reservation_id.startswith("r-") and len(instance.reservation_id) == 10
    assert instance.flavor["vcpus"] == 2 and instance.flavor["ram"] == 512
    assert instance.flavor["id"] == flavor_id
    assert instance.image_meta["size"] == 1024
    assert instance.image_meta["disk_format"] == "raw"
    assert instance.requested_networks == "auto"
    async with api.svc.read() as db:
        action = (await db.execute(select(InstanceAction).where(
            InstanceAction.instance_uuid == created["id"]))).scalar_one()
    assert (action.action, action.request_id) == ("create", request_id)

    server = (await show(api, token, created["id"]))["server"]
    assert server["name"] == "web 1"
    assert server["status"] == "BUILD"
    assert server["metadata"] == {"role": "web"}
    assert server["accessIPv4"] == "192.0.2.1"
    assert server["config_drive"] == "True"
    assert server["image"]["id"] == image_id
    assert server["flavor"]["id"] == flavor_id
    assert server["addresses"] == {}
    assert server["hostId"] == ""
    assert server["progress"] == 0
    assert server["OS-EXT-STS:task_state"] == "scheduling"


async def test_admin_pass_given_is_kept(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    r = await boot(api, None, image_id, flavor_id, adminPass="s3cret-pass")
    assert r.json()["server"]["adminPass"] == "s3cret-pass"


@pytest.mark.parametrize(("server", "v", "message"), [
    ({"name": "x" * 256}, "2.1", "name"),
    ({"name": " padded"}, "2.1", "name"),
    ({"bogus": 1}, "2.1", "Additional properties"),
    ({"personality": [{"path": "/etc/motd", "contents": "aGk="}]}, "2.1", "file injection"),
    ({"personality": []}, "2.57", "Additional properties"),
    ({"description": "d"}, "2.18", "Additional properties"),
    ({"user_data": "not base64!"}, "2.1", "base64"),
    ({"user_data": base64.b64encode(b"x" * 65536).decode()}, "2.1", "65535"),
    ({"min_count": 3, "max_count": 2}, "2.1", "min_count"),
    ({"min_count": 0}, "2.1", "min_count"),
    ({"networks": [{"uuid": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f01"}]}, "2.1",
     "Network 5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f01 could not be found."),
    ({"networks": [{"port": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f02"}]}, "2.1",
     "Port 5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f02 could not be found."),
    ({"networks": "public"}, V237, "networks"),
    ({"security_groups": [{"name": "web"}]}, "2.1", "Security group web not found."),
    ({"key_name": "nope"}, "2.1", "Invalid key_name provided."),
    ({"availability_zone": "mars"}, "2.1",
     "The requested availability zone is not available"),
    ({"tags": ["a/b"]}, "2.52", "tags"),
    ({"tags": [f"t{i}" for i in range(51)]}, "2.52", "tags"),
    ({"tags": ["a"]}, "2.51", "Additional properties"),
    ({"hostname": "h1"}, "2.89", "Additional properties"),
    ({"hostname": "bad host"}, "2.90", "hostname"),
    ({"hostname": "h1", "max_count": 2}, "2.90", "hostname"),
    ({"imageRef": "not-a-uuid"}, "2.1", "Invalid imageRef provided."),
    ({"imageRef": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f03"}, "2.1",
     "Can not find requested image"),
    ({"flavorRef": "no-such-flavor"}, "2.1", "Flavor no-such-flavor could not be found."),
    ({"block_device_mapping_v2": [{"source_type": "volume", "uuid": "v1",
                                   "destination_type": "volume", "boot_index": 0}]}, "2.1",
     "Block Device Mapping is Invalid: failed to get volume v1."),
    ({"block_device_mapping": [{"volume_id": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f04"}]},
     "2.1", "Additional properties"),
])
async def test_create_rejects_bad_requests_with_400(api: CloudClient, server: dict[str, object],
                                                    v: str, message: str) -> None:
    image_id, flavor_id = await boot_setup(api)
    if v >= V237 and "networks" not in server:
        server = {**server, "networks": "none"}
    r = await boot(api, None, image_id, flavor_id, v=v, expect=400, **server)
    assert message in fault(r, "badRequest")


async def test_networks_are_required_from_2_37_and_none_auto_are_stored(api: CloudClient
                                                                        ) -> None:
    image_id, flavor_id = await boot_setup(api)
    r = await boot(api, None, image_id, flavor_id, v="2.37", expect=400)
    assert "networks" in fault(r, "badRequest")
    for networks in ("none", "auto"):
        server_id = await boot_id(api, None, image_id, flavor_id, v="2.37",
                                  networks=networks)
        assert (await stored_instance(api, server_id)).requested_networks == networks


async def test_image_problems_are_400s(api: CloudClient) -> None:
    flavor = await make_flavor(api, disk=1, ram=256)
    queued = await make_image(api, upload=False)
    r = await boot(api, None, queued, flavor["id"], expect=400)
    assert fault(r, "badRequest") == f"Image {queued} is not active."
    big_min_disk = await make_image(api, min_disk=5)
    r = await boot(api, None, big_min_disk, flavor["id"], expect=400)
    assert fault(r, "badRequest").startswith(
        "Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes")
    big_ram = await make_image(api, min_ram=1024)
    r = await boot(api, None, big_ram, flavor["id"], expect=400)
    assert fault(r, "badRequest") == "Flavor's memory is too small for requested image."
    # A flavor with no root disk takes any image (Nova's volume-boot flavors).
    zero_disk = await make_flavor(api, disk=0, ram=256)
    await boot(api, None, big_min_disk, zero_disk["id"])


async def test_private_image_of_another_project_is_not_found(api: CloudClient) -> None:
    _, owner = await api.project_user_token()
    _, other = await api.project_user_token()
    image_id = await make_image(api, token=owner)
    flavor = await make_flavor(api)
    await boot(api, owner, image_id, flavor["id"])
    r = await boot(api, other, image_id, flavor["id"], expect=400)
    assert fault(r, "badRequest") == "Can not find requested image"


async def test_flavor_disabled_or_private_is_400(api: CloudClient) -> None:
    image_id = await make_image(api)
    private = await make_flavor(api, **{"os-flavor-access:is_public": False})
    _, token = await api.project_user_token()
    r = await boot(api, token, image_id, private["id"], expect=400)
    assert fault(r, "badRequest") == f"Flavor {private['id']} could not be found."
    disabled = await make_flavor(api)
    async with api.svc.write() as db:
        from ownstack.compute.objects.models import Flavor
        await db.execute(update(Flavor).where(Flavor.flavorid == disabled["id"])
                         .values(disabled=True))
    r = await boot(api, token, image_id, disabled["id"], expect=400)
    assert fault(r, "badRequest") == "Flavor is disabled."
    # A flavor href works as well as its id.
    public = await make_flavor(api)
    await boot(api, token, image_id, f"http://compute.test/flavors/{public['id']}")


async def test_block_device_mapping_of_one_image_boots_that_image(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    server_id = await boot_id(api, None, "", flavor_id, block_device_mapping_v2=[{
        "uuid": image_id, "source_type": "image", "destination_type": "local",
        "boot_index": 0, "delete_on_termination": True}])
    assert (await stored_instance(api, server_id)).image_ref == image_id


async def test_key_name_copies_the_callers_public_key(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    key = ssh_public_key()
    await api.call("POST", "/v2.1/os-keypairs", token=token, expect=201,
                   headers=version("2.2"), json={"keypair": {"name": "k1",
                                                             "public_key": key}})
    server_id = await boot_id(api, token, image_id, flavor_id, key_name="k1")
    instance = await stored_instance(api, server_id)
    assert (instance.key_name, instance.key_data) == ("k1", key)
    assert (await show(api, token, server_id))["server"]["key_name"] == "k1"
    # Another user's key of the same name is not the caller's.
    r = await boot(api, None, image_id, flavor_id, key_name="k1", expect=400)
    assert fault(r, "badRequest") == "Invalid key_name provided."


async def test_availability_zone_must_be_a_compute_zone(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    await add_service(api, "node-a", zone="zone-a")
    server_id = await boot_id(api, None, image_id, flavor_id, availability_zone="zone-a")
    server = (await show(api, None, server_id, v="2.96"))["server"]
    assert server["OS-EXT-AZ:availability_zone"] == "zone-a"
    assert server["pinned_availability_zone"] == "zone-a"
    other = await boot_id(api, None, image_id, flavor_id)
    server = (await show(api, None, other, v="2.96"))["server"]
    assert server["OS-EXT-AZ:availability_zone"] == ""
    assert server["pinned_availability_zone"] is None


async def test_metadata_over_quota_is_403(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    project, token = await api.project_user_token()
    await api.call("PUT", f"/v2.1/os-quota-sets/{project['id']}", expect=200,
                   json={"quota_set": {"metadata_items": 2}})
    r = await boot(api, token, image_id, flavor_id, expect=403,
                   metadata={"a": "1", "b": "2", "c": "3"})
    assert fault(r, "forbidden") == ("Quota exceeded for metadata_items: Requested 3, but "
                                     "already used 0 of 2 metadata_items")
    r = await boot(api, token, image_id, flavor_id, expect=400, metadata={"k": "v" * 256})
    assert "metadata" in fault(r, "badRequest")


async def test_multiple_create_names_servers_and_shares_a_reservation(api: CloudClient
                                                                      ) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    r = await boot(api, token, image_id, flavor_id, name="node", min_count=2, max_count=3,
                   return_reservation_id=True)
    reservation = r.json()["reservation_id"]
    assert set(r.json()) == {"reservation_id"}
    r = await api.call("GET", "/v2.1/servers/detail", token=token, expect=200,
                       params={"reservation_id": reservation}, headers=version("2.3"))
    servers = sorted(r.json()["servers"], key=lambda s: s["name"])
    assert [s["name"] for s in servers] == ["node-1", "node-2", "node-3"]
    hostnames = sorted([(await stored_instance(api, s["id"])).hostname for s in servers])
    assert hostnames == ["node-1", "node-2", "node-3"]
    launch = sorted([(await stored_instance(api, s["id"])).launch_index for s in servers])
    assert launch == [0, 1, 2]


async def test_server_group_hint_adds_membership(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    project, token = await api.project_user_token()
    async with api.svc.write() as db:
        db.add(ServerGroup(uuid="5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f10", name="g",
                           policy="anti-affinity", project_id=project["id"], user_id="u"))
    server_id = await boot_id(api, token, image_id, flavor_id,
                              hints={"group": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f10",
                                     "different_host": "ignored"})
    server = (await show(api, token, server_id, v="2.71"))["server"]
    assert server["server_groups"] == ["5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f10"]
    # Another project's group is not found.
    _, other = await api.project_user_token()
    r = await boot(api, other, image_id, flavor_id, expect=400,
                   hints={"group": "5f2d6e8a-8e4c-4c33-9f49-7f0c5a8e1f10"})
    assert "could not be found" in fault(r, "badRequest")


async def test_reader_may_not_create(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, reader = await api.project_user_token("reader")
    r = await boot(api, reader, image_id, flavor_id, expect=403)
    fault(r, "forbidden")


# --- show, update, ips -----------------------------------------------------------------------

async def test_other_projects_servers_and_bad_ids_are_404(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, owner = await api.project_user_token()
    _, other = await api.project_user_token()
    server_id = await boot_id(api, owner, image_id, flavor_id)
    for method, json in (("GET", None), ("PUT", {"server": {"name": "x"}}),
                         ("DELETE", None)):
        r = await api.call(method, f"/v2.1/servers/{server_id}", token=other, json=json,
                           expect=404)
        assert fault(r, "itemNotFound") == f"Instance {server_id} could not be found."
    await api.call("GET", f"/v2.1/servers/{server_id}/ips", token=other, expect=404)
    r = await api.call("GET", "/v2.1/servers", token=other, expect=200)
    assert r.json()["servers"] == []
    r = await api.call("GET", "/v2.1/servers/not-a-uuid", token=owner, expect=404)
    fault(r, "itemNotFound")
    r = await api.call("GET", f"/v2.1/servers/{server_id}/ips", token=owner, expect=200)
    assert r.json() == {"addresses": {}}


async def test_update_name_description_hostname(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id, name="old")
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=200,
                       headers=version("2.90"),
                       json={"server": {"name": "new", "description": "about",
                                        "hostname": "new-host", "accessIPv6": "2001:db8::1"}})
    server = r.json()["server"]
    assert (server["name"], server["description"]) == ("new", "about")
    assert server["OS-EXT-SRV-ATTR:hostname"] == "new-host"
    assert server["accessIPv6"] == "2001:db8::1"
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=400,
                       json={"server": {"description": "before 2.19"}})
    fault(r, "badRequest")
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=400,
                       json={"server": {"name": "x" * 256}})
    fault(r, "badRequest")


# Spellings of one address, and the form Nova stores and shows (netaddr's, inet_ntop's).
LONGEST_IPV6 = "0000:0000:0000:0000:0000:FFFF:255.255.255.255"     # 45 characters


async def test_access_addresses_are_stored_and_shown_canonical(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id, accessIPv4="192.0.2.1",
                              accessIPv6="0:0:0:0:0:BABE:DC0C:1602")
    server = (await show(api, token, server_id))["server"]
    assert (server["accessIPv4"], server["accessIPv6"]) == ("192.0.2.1", "::babe:dc0c:1602")
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=200,
                       json={"server": {"accessIPv6": LONGEST_IPV6}})
    assert r.json()["server"]["accessIPv6"] == "::ffff:255.255.255.255"
    stored = await stored_instance(api, server_id)
    assert stored.access_ip_v6 == "::ffff:255.255.255.255"
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=200,
                       json={"server": {"accessIPv6": "2001:0DB8:0000:0000:0001:0000:0000:0001"}})
    assert r.json()["server"]["accessIPv6"] == "2001:db8::1:0:0:1"
    listed = await api.call("GET", "/v2.1/servers/detail", token=token, expect=200,
                            params={"access_ip_v6": "2001:db8::1:0:0:1"})
    assert [s["id"] for s in listed.json()["servers"]] == [server_id]
    # A scoped address or another spelling that is no address is refused, as by Nova.
    for bad in ("fe80::1%eth0", "1::2::3", "192.0.2.256"):
        r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=400,
                           json={"server": {"accessIPv6" if ":" in bad else "accessIPv4": bad}})
        fault(r, "badRequest")


# The fields of Nova's update and rebuild answers below 2.75 (a server in a progress
# status): show's, less what show_all_attributes adds.
CHANGED_FIELDS_21 = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId",
                     "image", "flavor", "created", "updated", "addresses", "accessIPv4",
                     "accessIPv6", "links", "OS-DCF:diskConfig", "progress"}
A_PORT = [{"id": "p1", "address": "fa:16:3e:00:00:01", "network": {"id": "n1", "label": "net"},
           "fixed_ips": [{"address": "10.0.0.5", "version": 4, "floating_ips": []}]}]


@pytest.mark.parametrize(("v", "added"), [
    ("2.1", set()),
    ("2.9", {"locked"}),
    ("2.19", {"locked", "description"}),
    ("2.26", {"locked", "description", "tags"}),
    ("2.63", {"locked", "description", "tags", "trusted_image_certificates"}),
    ("2.74", {"locked", "description", "tags", "trusted_image_certificates", "server_groups",
              "locked_reason"}),
])
async def test_update_answers_the_fields_of_its_microversion(
        api: CloudClient, v: str, added: set[str]) -> None:
    """Below 2.75 Nova's PUT answer is not the show view: no zone, states, key, times,
    volumes, groups or extended attributes (not even for an admin), and addresses without
    their type and MAC. Tempest checks it against a schema that allows nothing else."""
    image_id, flavor_id = await boot_setup(api)
    server_id = await boot_id(api, None, image_id, flavor_id)
    await _set(api, server_id, network_info=A_PORT)
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", expect=200, headers=version(v),
                       json={"server": {"name": "renamed"}})
    server = r.json()["server"]
    assert set(server) == CHANGED_FIELDS_21 | added
    assert server["name"] == "renamed"
    assert server["addresses"] == {"net": [{"version": 4, "addr": "10.0.0.5"}]}


@pytest.mark.parametrize("v", ["2.75", "2.96"])
async def test_update_answers_the_show_view_from_275(api: CloudClient, v: str) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await _set(api, server_id, network_info=A_PORT)
    for who in (token, None):           # a member, and the admin (extended attributes)
        r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=who, expect=200,
                           headers=version(v), json={"server": {"name": "renamed"}})
        shown = (await show(api, who, server_id, v=v))["server"]
        assert r.json()["server"].keys() == shown.keys()
        assert r.json()["server"]["addresses"] == shown["addresses"]
        assert "OS-EXT-IPS-MAC:mac_addr" in shown["addresses"]["net"][0]


async def test_locked_server_refuses_owner_update_and_delete(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await _set(api, server_id, locked=True, locked_by="owner")
    r = await api.call("PUT", f"/v2.1/servers/{server_id}", token=token, expect=409,
                       json={"server": {"name": "x"}})
    assert fault(r, "conflictingRequest") == f"Instance {server_id} is locked"
    r = await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=409)
    fault(r, "conflictingRequest")
    # Admins act on locked servers.
    await api.call("PUT", f"/v2.1/servers/{server_id}", expect=200,
                   json={"server": {"name": "by-admin"}})
    await api.call("DELETE", f"/v2.1/servers/{server_id}", expect=204)


# --- delete ----------------------------------------------------------------------------------

async def test_delete_of_an_unscheduled_server_is_local(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=204)
    await show(api, token, server_id, expect=404)
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=404)
    instance = await stored_instance(api, server_id)
    assert instance.deleted and instance.vm_state == "deleted"
    assert instance.task_state is None and instance.terminated_at is not None
    r = await api.call("GET", "/v2.1/servers", token=token, expect=200)
    assert r.json()["servers"] == []
    async with api.svc.read() as db:
        names = (await db.execute(select(InstanceAction.action).where(
            InstanceAction.instance_uuid == server_id))).scalars().all()
    assert sorted(names) == ["create", "delete"]


async def test_delete_on_a_live_host_hands_over_to_the_agent(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await add_service(api, "node-live")
    await _set(api, server_id, host="node-live", node="node-live", vm_state="active",
               task_state=None)
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=204)
    instance = await stored_instance(api, server_id)
    assert (instance.deleted, instance.task_state) == (False, "deleting")
    # Again while deleting: nothing more to do.
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=204)
    server = (await show(api, token, server_id))["server"]
    assert server["OS-EXT-STS:task_state"] == "deleting"


async def test_a_delete_that_loses_a_race_to_the_cloud_decides_again(
        api: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conductor moves the server on between the delete's read and its compare-and-
    swap: the delete reads it again and goes through, as Nova's does; only a server that
    keeps changing under it (five times) gets 409."""
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await add_service(api, "node-race")
    await _set(api, server_id, host="node-race", node="node-race", vm_state="building",
               task_state="scheduling")
    real_update = handlers.update_instance
    lost: list[str] = []

    async def conductor_first(db: Any, uuid: str, **values: Any) -> bool:
        if len(lost) < 1:
            lost.append(str(values.get("expected_task_state")))
            return False
        return bool(await real_update(db, uuid, **values))
    monkeypatch.setattr(handlers, "update_instance", conductor_first)
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=204)
    assert lost == ["scheduling"]
    assert (await stored_instance(api, server_id)).task_state == "deleting"

    other_id = await boot_id(api, token, image_id, flavor_id)
    await _set(api, other_id, host="node-race", node="node-race", vm_state="active",
               task_state=None)

    async def always_lost(db: Any, uuid: str, **values: Any) -> bool:
        lost.append("again")
        return False
    monkeypatch.setattr(handlers, "update_instance", always_lost)
    r = await api.call("DELETE", f"/v2.1/servers/{other_id}", token=token, expect=409)
    assert r.json()["conflictingRequest"]["message"].startswith("Another request changed")
    assert lost.count("again") == 5


async def test_delete_on_a_down_host_is_local(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api)
    _, token = await api.project_user_token()
    server_id = await boot_id(api, token, image_id, flavor_id)
    await add_service(api, "node-down", up=False)
    await _set(api, server_id, host="node-down", node="node-down", vm_state="active",
               task_state=None)
    await api.call("DELETE", f"/v2.1/servers/{server_id}", token=token, expect=204)
    assert (await stored_instance(api, server_id)).deleted


async def test_a_bus_outage_after_the_commit_delays_a_boot_and_loses_nothing(
        compute: CloudClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server is written before the conductor is told: a cast that fails then is
    logged, the API still answers 202, and the conductor's sweep places the server."""
    image_id, flavor_id = await boot_setup(compute)
    bus = compute.svc.bus
    real_cast = bus.cast
    refused: list[str] = []

    async def broken_cast(topic: str, method: str, payload: dict[str, object]) -> None:
        if method == "schedule_instances":
            refused.append(topic)
            raise BusError("the broker is down")
        await real_cast(topic, method, payload)
    monkeypatch.setattr(bus, "cast", broken_cast)
    compute.conductor.sweeper.stale_after = 0.2
    server_id = await boot_id(compute, None, image_id, flavor_id)
    assert refused == ["conductor"]
    server = await wait_status(compute, None, server_id, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == "test-node"
