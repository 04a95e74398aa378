"""``/os-quota-class-sets``: Cinder's quota classes, the default class as every project's
defaults, enforced at create, with per-volume-type limits (decision 62)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.names import unique
from helpers.volume import VolumeCloud, fault, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")

_BASE = {"volumes": 1000, "snapshots": 1000, "gigabytes": 100000,
         "per_volume_gigabytes": -1, "backups": 10, "backup_gigabytes": 1000, "groups": 10}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("quota_classes")):
        yield cloud


@pytest_asyncio.fixture(loop_scope="module", autouse=True)
async def restore_defaults(vc: VolumeCloud) -> AsyncIterator[None]:
    """Each test starts from the configured defaults (the module shares one cloud)."""
    yield
    shown = (await _class(vc, expect=200))["quota_class_set"]
    await vc.call("PUT", "/v3/os-quota-class-sets/default", expect=200, json={
        "quota_class_set": {**{name: -1 for name in shown if name != "id"}, **_BASE}})


async def _class(vc: VolumeCloud, name: str = "default", **kwargs: Any) -> Any:
    r = await vc.call("GET", f"/v3/os-quota-class-sets/{name}", **kwargs)
    return r.json()


async def _set_class(vc: VolumeCloud, values: dict[str, Any], name: str = "default",
                     **kwargs: Any) -> Any:
    r = await vc.call("PUT", f"/v3/os-quota-class-sets/{name}",
                      json={"quota_class_set": values}, **kwargs)
    return r.json()


async def _type(vc: VolumeCloud) -> str:
    name = unique("qtype")
    await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {"name": name}})
    return name


async def test_show_and_update_the_default_class(vc: VolumeCloud) -> None:
    """Tempest's ``test_update_default_quota``: the base limits and a type's come back
    from the update and are every project's defaults, the admin's and a new one's."""
    shown = (await _class(vc, expect=200))["quota_class_set"]
    assert shown.pop("id") == "default"
    assert {name: shown[name] for name in _BASE} == _BASE
    assert all(value == -1 for name, value in shown.items() if name not in _BASE)
    type_name = await _type(vc)
    wanted = {**{name: value + 1 for name, value in _BASE.items() if value >= 0},
              f"volumes_{type_name}": 3, f"snapshots_{type_name}": 4,
              f"gigabytes_{type_name}": 5}
    updated = (await _set_class(vc, wanted, expect=200))["quota_class_set"]
    assert "id" not in updated
    assert updated.items() >= wanted.items()
    assert updated["per_volume_gigabytes"] == -1
    assert (await _class(vc, expect=200))["quota_class_set"] == {"id": "default", **updated}
    caller = await vc.caller()
    r = await vc.call("GET", f"/v3/os-quota-sets/{caller.project_id}/defaults",
                      token=caller.token, expect=200)
    assert r.json()["quota_set"] == {"id": caller.project_id, **updated}
    r = await vc.call("GET", f"/v3/os-quota-sets/{caller.project_id}", token=caller.token,
                      expect=200)
    assert r.json()["quota_set"]["volumes"] == 1001
    r = await vc.call("GET", "/v3/limits", token=caller.token, expect=200)
    assert r.json()["limits"]["absolute"]["maxTotalVolumes"] == 1001


async def test_default_class_is_enforced_at_create(vc: VolumeCloud) -> None:
    await _set_class(vc, {"volumes": 1, "snapshots": 0}, expect=200)
    caller = await vc.caller()
    volume = await vc.volume(caller.token)
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=413,
                      json={"volume": {"size": 1}})
    assert fault(r) == ("overLimit", "Maximum number of volumes allowed (1) exceeded for "
                        "quota 'volumes'.")
    r = await vc.call("POST", "/v3/snapshots", token=caller.token, expect=413,
                      json={"snapshot": {"volume_id": volume["id"]}})
    assert fault(r)[0] == "overLimit"
    # A project's own override wins over the class.
    other = await vc.caller()
    await vc.call("PUT", f"/v3/os-quota-sets/{other.project_id}", expect=200,
                  json={"quota_set": {"volumes": 2}})
    await vc.volume(other.token)
    await vc.volume(other.token)
    await vc.call("POST", "/v3/volumes", token=other.token, expect=413,
                  json={"volume": {"size": 1}})


async def test_volume_type_limits_are_enforced(vc: VolumeCloud) -> None:
    type_name = await _type(vc)
    await _set_class(vc, {f"volumes_{type_name}": 1, f"gigabytes_{type_name}": 3,
                          f"snapshots_{type_name}": 1}, expect=200)
    caller = await vc.caller()
    volume = await vc.volume(caller.token, size=2, volume_type=type_name)
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=413,
                      json={"volume": {"size": 1, "volume_type": type_name}})
    assert fault(r)[1] == (f"Maximum number of volumes allowed (1) exceeded for quota "
                           f"'volumes_{type_name}'.")
    # Other types are not held to it.
    await vc.volume(caller.token)
    r = await vc.call("POST", "/v3/snapshots", token=caller.token, expect=413,
                      json={"snapshot": {"volume_id": volume["id"]}})
    assert fault(r)[1] == (f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot "
                           f"exceeds allowed gigabytes_{type_name} quota. Requested 2G, "
                           f"quota is 3G and 2G has been consumed.")
    await vc.action(volume["id"], {"os-extend": {"new_size": 4}}, token=caller.token,
                    expect=413)
    await vc.action(volume["id"], {"os-extend": {"new_size": 3}}, token=caller.token)


async def test_other_classes_are_kept_and_have_no_effect(vc: VolumeCloud) -> None:
    updated = (await _set_class(vc, {"volumes": "0"}, name="gold", expect=200)
               )["quota_class_set"]
    assert updated["volumes"] == 0
    assert (await _class(vc, "gold", expect=200))["quota_class_set"] == {"id": "gold",
                                                                         **updated}
    assert (await _class(vc, expect=200))["quota_class_set"]["volumes"] == 1000
    caller = await vc.caller()
    await vc.volume(caller.token)
    assert (await _class(vc, "never-set", expect=200))["quota_class_set"]["volumes"] == 1000


@pytest.mark.parametrize("document", [
    {"quota_class_set": {"volumes": -2}},
    {"quota_class_set": {"volumes": "many"}},
    {"quota_class_set": {"volumes": 2147483648}},
    {"quota_class_set": {"bananas": 1}},
    {"quota_class_set": {"volumes_no-such-type": 1}},
    {"quota_class_set": {"volumes": None}},
    {"quota_class_set": 5},
    {"quota_set": {"volumes": 1}},
    {},
])
async def test_bad_bodies_are_400(vc: VolumeCloud, document: dict[str, Any]) -> None:
    r = await vc.call("PUT", "/v3/os-quota-class-sets/default", json=document, expect=400)
    assert fault(r)[0] == "badRequest"
    assert (await _class(vc, expect=200))["quota_class_set"]["volumes"] == 1000


async def test_bad_type_limit_values_are_400(vc: VolumeCloud) -> None:
    type_name = await _type(vc)
    for value in (-2, "--5", "x", True, 2147483648, [1]):
        r = await vc.call("PUT", "/v3/os-quota-class-sets/default", expect=400,
                          json={"quota_class_set": {f"gigabytes_{type_name}": value}})
        assert fault(r)[0] == "badRequest"
    r = await vc.call("PUT", "/v3/os-quota-class-sets/default", expect=400,
                      json={"quota_class_set": {"bananas": 1, "apples": 2}})
    assert fault(r)[1] == "Invalid input received: Bad key(s) in quota class set: apples, " \
        "bananas"
    r = await vc.call("PUT", f"/v3/os-quota-class-sets/{'x' * 256}", expect=400,
                      json={"quota_class_set": {"volumes": 1}})
    assert fault(r)[0] == "badRequest"


async def test_only_admins_read_and_set_classes(vc: VolumeCloud) -> None:
    for role in ("member", "reader"):
        caller = await vc.caller(role)
        r = await vc.call("GET", "/v3/os-quota-class-sets/default", token=caller.token,
                          expect=403)
        assert fault(r)[0] == "forbidden"
        r = await vc.call("PUT", "/v3/os-quota-class-sets/default", token=caller.token,
                          expect=403, json={"quota_class_set": {"volumes": 1}})
        assert fault(r)[0] == "forbidden"
    assert (await _class(vc, expect=200))["quota_class_set"]["volumes"] == 1000
