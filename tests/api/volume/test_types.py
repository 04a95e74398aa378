"""Volume types with extra specs and project access, the default type, per-project
default types (3.62) and QoS specs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from helpers.names import unique
from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("types")):
        yield cloud


async def make_type(vc: VolumeCloud, **fields: object) -> dict[str, object]:
    r = await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("type"), **fields}})
    return dict(r.json()["volume_type"])


async def test_the_default_type(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    r = await vc.call("GET", "/v3/types/default", token=caller.token, expect=200)
    assert r.json()["volume_type"]["name"] == "__DEFAULT__"
    r = await vc.call("GET", "/v3/types", token=caller.token, expect=200)
    assert "__DEFAULT__" in [t["name"] for t in r.json()["volume_types"]]
    default_id = r.json()["volume_types"][0]["id"]
    r = await vc.call("DELETE", f"/v3/types/{default_id}", expect=400)
    assert "default volume type" in fault(r)[1]


async def test_type_crud_and_extra_specs(vc: VolumeCloud) -> None:
    made = await make_type(vc, description="fast disks", extra_specs={"speed": "fast"})
    type_id = made["id"]
    assert made["extra_specs"] == {"speed": "fast"} and made["is_public"] is True
    # The fields of Cinder's answers, as Tempest's schemas check them: create has the
    # access extension's flag but no qos_specs_id, update neither, show both.
    assert set(made) == {"id", "name", "description", "is_public", "extra_specs",
                         "os-volume-type-access:is_public"}
    shown = (await vc.call("GET", f"/v3/types/{made['id']}", expect=200)).json()
    assert {"qos_specs_id", "os-volume-type-access:is_public"} <= set(shown["volume_type"])
    r = await vc.call("POST", "/v3/types", expect=409, json={"volume_type": {
        "name": made["name"]}})
    assert fault(r)[0] == "conflictingRequest"
    r = await vc.call("PUT", f"/v3/types/{type_id}", expect=200, json={"volume_type": {
        "description": "faster"}})
    assert r.json()["volume_type"]["description"] == "faster"
    assert set(r.json()["volume_type"]) == {"id", "name", "description", "is_public",
                                            "extra_specs"}
    base = f"/v3/types/{type_id}/extra_specs"
    r = await vc.call("POST", base, expect=200, json={"extra_specs": {"multiattach":
                                                                     "<is> True"}})
    assert (await vc.call("GET", base, expect=200)).json()["extra_specs"] == {
        "speed": "fast", "multiattach": "<is> True"}
    await vc.call("PUT", f"{base}/speed", expect=200, json={"speed": "faster"})
    await vc.call("PUT", f"{base}/speed", expect=400, json={"other": "x"})
    assert (await vc.call("GET", f"{base}/speed", expect=200)).json() == {"speed": "faster"}
    await vc.call("DELETE", f"{base}/speed", expect=202)
    r = await vc.call("DELETE", f"{base}/speed", expect=404)
    assert "no extra specs with key speed" in fault(r)[1]
    caller = await vc.caller()
    r = await vc.call("GET", base, token=caller.token, expect=200)
    assert r.json()["extra_specs"] == {"multiattach": "<is> True"}   # user-visible only
    await vc.call("POST", base, token=caller.token, expect=403,
                  json={"extra_specs": {"x": "y"}})
    volume = await vc.volume(caller.token, volume_type=made["name"])
    assert volume["volume_type"] == made["name"] and volume["multiattach"] is True
    r = await vc.call("DELETE", f"/v3/types/{type_id}", expect=400)
    assert "volumes present" in fault(r)[1]
    await vc.call("DELETE", f"/v3/volumes/{volume['id']}", token=caller.token, expect=202)
    await vc.wait(f"/v3/volumes/{volume['id']}", "volume", "gone", token=caller.token)
    await vc.call("DELETE", f"/v3/types/{type_id}", expect=202)
    await vc.call("GET", f"/v3/types/{type_id}", expect=404)


async def test_type_refusals(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    await vc.call("POST", "/v3/types", token=caller.token, expect=403,
                  json={"volume_type": {"name": "mine"}})
    for body in ({"volume_type": {}}, {"volume_type": {"name": ""}},
                 {"volume_type": {"name": "   "}},
                 {"volume_type": {"name": "x", "extra_specs": {"k": 1}}}):
        await vc.call("POST", "/v3/types", expect=400, json=body)
    made = await make_type(vc)
    await vc.call("PUT", f"/v3/types/{made['id']}", expect=400, json={"volume_type": {}})
    await vc.call("GET", "/v3/types?colour=red", expect=400)
    await vc.call("GET", f"/v3/types/{random_id()}", expect=404)


async def test_private_types_and_access(vc: VolumeCloud) -> None:
    insider, outsider = await vc.caller(), await vc.caller()
    private = await make_type(vc, **{"os-volume-type-access:is_public": False})
    type_id = private["id"]
    await vc.call("GET", f"/v3/types/{type_id}", token=insider.token, expect=404)
    path = f"/v3/types/{type_id}/action"
    await vc.call("POST", path, expect=202, json={"addProjectAccess": {
        "project": insider.project_id}})
    r = await vc.call("POST", path, expect=409, json={"addProjectAccess": {
        "project": insider.project_id}})
    r = await vc.call("GET", f"/v3/types/{type_id}/os-volume-type-access", expect=200)
    assert r.json()["volume_type_access"] == [{"volume_type_id": type_id,
                                               "project_id": insider.project_id}]
    await vc.call("GET", f"/v3/types/{type_id}", token=insider.token, expect=200)
    names = [t["name"] for t in (await vc.call("GET", "/v3/types", token=insider.token,
                                               expect=200)).json()["volume_types"]]
    assert private["name"] in names
    await vc.volume(insider.token, volume_type=type_id)
    r = await vc.call("POST", "/v3/volumes", token=outsider.token, expect=404,
                      json={"volume": {"size": 1, "volume_type": type_id}})
    admin_names = [t["name"] for t in (await vc.call("GET", "/v3/types?is_public=false",
                                                     expect=200)).json()["volume_types"]]
    assert private["name"] in admin_names and "__DEFAULT__" not in admin_names
    await vc.call("POST", path, expect=202, json={"removeProjectAccess": {
        "project": insider.project_id}})
    await vc.call("POST", path, expect=404, json={"removeProjectAccess": {
        "project": insider.project_id}})
    await vc.call("POST", path, expect=400, json={"nope": {}})
    public = await make_type(vc)
    r = await vc.call("POST", f"/v3/types/{public['id']}/action", expect=400, json={
        "addProjectAccess": {"project": insider.project_id}})
    assert "public volume type" in fault(r)[1]


async def test_extra_spec_filter_from_352(vc: VolumeCloud) -> None:
    made = await make_type(vc, extra_specs={"tier": unique("tier")})
    tier = made["extra_specs"]["tier"]  # type: ignore[index]
    r = await vc.call("GET", f"/v3/types?extra_specs=%7B%22tier%22%3A%22{tier}%22%7D",
                      expect=200)
    assert [t["id"] for t in r.json()["volume_types"]] == [made["id"]]
    await vc.call("GET", "/v3/types?extra_specs={}", version="3.51", expect=400)


async def test_project_default_types(vc: VolumeCloud) -> None:
    caller = await vc.caller()
    made = await make_type(vc)
    path = f"/v3/default-types/{caller.project_id}"
    await vc.call("PUT", path, version="3.61", expect=404,
                  json={"default_type": {"volume_type": made["name"]}})
    r = await vc.call("PUT", path, expect=200, json={"default_type": {
        "volume_type": made["name"]}})
    assert r.json()["default_type"] == {"project_id": caller.project_id,
                                        "volume_type_id": made["id"]}
    await vc.call("PUT", path, token=caller.token, expect=403,
                  json={"default_type": {"volume_type": made["name"]}})
    volume = await vc.volume(caller.token)
    assert volume["volume_type"] == made["name"]
    r = await vc.call("GET", "/v3/types/default", token=caller.token, expect=200)
    assert r.json()["volume_type"]["id"] == made["id"]
    r = await vc.call("GET", "/v3/default-types", expect=200)
    assert caller.project_id in [d["project_id"] for d in r.json()["default_types"]]
    await vc.call("DELETE", f"/v3/types/{made['id']}", expect=400)
    await vc.call("DELETE", path, expect=204)
    await vc.call("DELETE", path, expect=404)
    await vc.call("GET", path, expect=404)


async def test_qos_specs(vc: VolumeCloud) -> None:
    r = await vc.call("POST", "/v3/qos-specs", expect=200, json={"qos_specs": {
        "name": unique("qos"), "consumer": "front-end", "total_iops_sec": "500"}})
    qos = r.json()["qos_specs"]
    assert qos["specs"] == {"total_iops_sec": "500"} and qos["consumer"] == "front-end"
    # Cinder's summary view: the entity, and its links beside it.
    assert set(qos) == {"id", "name", "consumer", "specs"}
    assert [link["rel"] for link in r.json()["links"]] == ["self", "bookmark"]
    await vc.call("POST", "/v3/qos-specs", expect=409, json={"qos_specs": {
        "name": qos["name"]}})
    await vc.call("POST", "/v3/qos-specs", expect=400, json={"qos_specs": {
        "name": "x", "consumer": "nobody"}})
    base = f"/v3/qos-specs/{qos['id']}"
    await vc.call("PUT", base, expect=200, json={"qos_specs": {"read_iops_sec": "100"}})
    r = await vc.call("GET", base, expect=200)
    assert set(r.json()) == {"qos_specs", "links"}
    shown = r.json()["qos_specs"]
    assert shown["specs"] == {"total_iops_sec": "500", "read_iops_sec": "100"}
    listed = (await vc.call("GET", "/v3/qos-specs", expect=200)).json()["qos_specs"]
    assert all(set(item) == {"id", "name", "consumer", "specs"} for item in listed)
    await vc.call("PUT", f"{base}/delete_keys", expect=202, json={"keys": ["read_iops_sec"]})
    await vc.call("PUT", f"{base}/delete_keys", expect=404, json={"keys": ["nope"]})
    made = await make_type(vc)
    await vc.call("GET", f"{base}/associate?vol_type_id={made['id']}", expect=202)
    r = await vc.call("GET", f"{base}/associations", expect=200)
    assert r.json()["qos_associations"] == [{"association_type": "volume_type",
                                             "name": made["name"], "id": made["id"]}]
    volume = await vc.volume(volume_type=made["id"])
    r = await vc.action(volume["id"], {"os-initialize_connection": {"connector": {
        "host": "test-node"}}}, expect=200)
    assert r.json()["connection_info"]["data"]["qos_specs"] == {"total_iops_sec": "500"}
    r = await vc.call("DELETE", base, expect=400)
    assert "still associated" in fault(r)[1]
    await vc.call("GET", f"{base}/disassociate?vol_type_id={made['id']}", expect=202)
    await vc.call("GET", f"{base}/associate", expect=400)
    await vc.call("GET", f"{base}/associate?vol_type_id={made['id']}", expect=202)
    await vc.call("GET", f"{base}/disassociate_all", expect=202)
    await vc.call("DELETE", f"{base}?force=true", expect=202)
    await vc.call("GET", base, expect=404)
    caller = await vc.caller()
    await vc.call("GET", "/v3/qos-specs", token=caller.token, expect=403)
