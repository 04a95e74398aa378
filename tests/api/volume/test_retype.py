"""``os-retype``: a volume takes another type its backend meets, as Cinder's retype
without migration; every condition Cinder sets is a 400 here, and a type that would need
another backend is a 400 that says ownstack does not migrate volumes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa

from helpers.names import unique
from helpers.volume import VolumeCloud, fault, random_id, volume_cloud
from ownstack.common.policy import Policy
from ownstack.volume.objects.actions import RETYPE_REFUSED
from ownstack.volume.objects.models import Volume
from ownstack.volume.policy import DEFAULT_RULES

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("retype")):
        yield cloud


async def make_type(vc: VolumeCloud, specs: dict[str, str] | None = None) -> dict[str, Any]:
    r = await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("type"), "extra_specs": specs or {}}})
    return dict(r.json()["volume_type"])


async def retype(vc: VolumeCloud, volume_id: str, new_type: str, *, expect: int = 202,
                 token: str | None = None, **more: Any) -> Any:
    return await vc.action(volume_id, {"os-retype": {"new_type": new_type, **more}},
                           token=token, expect=expect)


async def shown(vc: VolumeCloud, volume_id: str) -> dict[str, Any]:
    r = await vc.call("GET", f"/v3/volumes/{volume_id}", expect=200)
    return dict(r.json()["volume"])


async def test_an_available_volume_takes_the_new_type(vc: VolumeCloud) -> None:
    """Tempest's test_available_volume_retype and the type CRUD test: by id or by name,
    migration policy never or absent."""
    first = await make_type(vc, {"vendor_name": "ownstack"})
    second = await make_type(vc, {"storage_protocol": "fake"})
    volume = await vc.volume(volume_type=first["id"])
    await retype(vc, volume["id"], second["id"])
    after = await shown(vc, volume["id"])
    assert (after["status"], after["volume_type"]) == ("available", second["name"])
    await retype(vc, volume["id"], first["name"], migration_policy="never")
    assert (await shown(vc, volume["id"]))["volume_type"] == first["name"]
    await retype(vc, volume["id"], second["name"], migration_policy="on-demand")
    assert (await shown(vc, volume["id"]))["volume_type"] == second["name"]


async def test_an_in_use_volume_keeps_its_front_end_qos(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    other = await make_type(vc)
    limited = await make_type(vc)
    r = await vc.call("POST", "/v3/qos-specs", expect=200, json={"qos_specs": {
        "name": unique("qos"), "consumer": "front-end", "total_iops_sec": "100"}})
    await vc.call("GET", f"/v3/qos-specs/{r.json()['qos_specs']['id']}/associate"
                  f"?vol_type_id={limited['id']}", expect=202)
    volume = await vc.volume(volume_type=plain["id"])
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    assert (await shown(vc, volume["id"]))["status"] == "in-use"
    r = await retype(vc, volume["id"], limited["id"], expect=400)
    assert fault(r) == ("badRequest", f"Invalid volume: {RETYPE_REFUSED}")
    await retype(vc, volume["id"], other["id"])
    after = await shown(vc, volume["id"])
    assert (after["status"], after["volume_type"]) == ("in-use", other["name"])


async def test_multiattach_changes_only_while_available(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    shared = await make_type(vc, {"multiattach": "<is> True"})
    volume = await vc.volume(volume_type=plain["id"])
    await retype(vc, volume["id"], shared["id"])
    after = await shown(vc, volume["id"])
    assert (after["volume_type"], after["multiattach"]) == (shared["name"], True)
    await vc.action(volume["id"], {"os-attach": {"instance_uuid": random_id(),
                                                 "mountpoint": "/dev/vdb"}})
    r = await retype(vc, volume["id"], plain["id"], expect=400)
    assert fault(r)[1].endswith("retypes affecting multiattach are only allowed on available "
                                "volumes, the specified volume however currently has a "
                                "status of: in-use.")


async def test_what_cinder_refuses(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    volume = await vc.volume(volume_type=plain["id"])
    r = await retype(vc, volume["id"], plain["name"], expect=400)         # the same type
    assert fault(r) == ("badRequest", f"Invalid volume: {RETYPE_REFUSED}")
    r = await retype(vc, volume["id"], "no-such-type", expect=400)
    assert fault(r) == ("badRequest", "Invalid input received: Invalid volume_type passed: "
                                      "no-such-type.")
    other = await make_type(vc)
    await vc.action(volume["id"], {"os-reset_status": {"status": "error"}})
    r = await retype(vc, volume["id"], other["id"], expect=400)          # not available
    assert fault(r)[1] == f"Invalid volume: {RETYPE_REFUSED}"
    await vc.action(volume["id"], {"os-reset_status": {"status": "available"}})
    for bad in ({"os-retype": {}}, {"os-retype": {"new_type": ""}},
                {"os-retype": {"new_type": other["id"], "migration_policy": "sometimes"}},
                {"os-retype": {"new_type": other["id"], "bogus": 1}}):
        await vc.action(volume["id"], bad, expect=400)
    assert (await shown(vc, volume["id"]))["volume_type"] == plain["name"]


async def test_a_type_another_backend_would_need_is_refused(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    elsewhere = await make_type(vc, {"volume_backend_name": "lvm"})
    volume = await vc.volume(volume_type=plain["id"])
    for policy in ("never", "on-demand"):
        r = await retype(vc, volume["id"], elsewhere["id"], expect=400,
                         migration_policy=policy)
        assert "its backend does not meet the type's extra specs " \
               "(volume_backend_name=lvm)" in fault(r)[1]
        assert fault(r)[1].endswith("ownstack does not migrate volumes yet.")
    assert (await shown(vc, volume["id"]))["volume_type"] == plain["name"]


async def test_a_volume_whose_host_has_no_service_is_refused(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    other = await make_type(vc)
    volume = await vc.volume(volume_type=plain["id"])
    async with vc.svc.db.write() as session:
        await session.execute(sa.update(Volume).where(Volume.id == volume["id"]).values(
            host="gone-host"))
    r = await retype(vc, volume["id"], other["id"], expect=400)
    assert fault(r)[1] == (f"Invalid volume: Volume {volume['id']} cannot be retyped: its "
                           "host gone-host has no volume service to check the type against.")


async def test_the_new_types_quota_holds(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    scarce = await make_type(vc)
    await vc.call("PUT", "/v3/os-quota-class-sets/default", expect=200, json={
        "quota_class_set": {f"volumes_{scarce['name']}": 1}})
    first = await vc.volume(volume_type=plain["id"])
    second = await vc.volume(volume_type=plain["id"])
    await retype(vc, first["id"], scarce["id"])
    r = await retype(vc, second["id"], scarce["id"], expect=413)
    assert "volumes_" + scarce["name"] in fault(r)[1]
    assert (await shown(vc, second["id"]))["volume_type"] == plain["name"]


async def test_who_may_retype(vc: VolumeCloud) -> None:
    plain = await make_type(vc)
    other = await make_type(vc)
    shared = await make_type(vc, {"multiattach": "<is> True"})
    owner = await vc.caller("member")
    stranger = await vc.caller("member")
    volume = await vc.volume(owner.token, volume_type=plain["id"])
    await retype(vc, volume["id"], other["id"], token=stranger.token, expect=404)
    await retype(vc, volume["id"], other["id"], token=owner.token)
    # A multiattach type needs volume:multiattach; a policy that refuses it refuses this.
    original = vc.svc.policy
    vc.svc.policy = Policy(DEFAULT_RULES, {"volume:multiattach": "rule:admin_api"})
    try:
        await retype(vc, volume["id"], shared["id"], token=owner.token, expect=403)
    finally:
        vc.svc.policy = original
    await retype(vc, volume["id"], shared["id"], token=owner.token)
