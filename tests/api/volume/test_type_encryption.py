"""A volume type's encryption (``/types/{type_id}/encryption``), the admin's, as Cinder's
extension answers it; and what a volume of an encrypted type meets without a key manager
(decision 73): a 400, never a volume that is not what its type says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from helpers.names import unique
from helpers.volume import VolumeCloud, fault, random_id, volume_cloud

pytestmark = pytest.mark.asyncio(loop_scope="module")

LUKS = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256,
        "control_location": "front-end"}
SHOWN = {"volume_type_id", "encryption_id", "provider", "cipher", "key_size",
         "control_location", "deleted", "created_at", "updated_at", "deleted_at"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def vc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VolumeCloud]:
    async for cloud in volume_cloud(tmp_path_factory.mktemp("encryption")):
        yield cloud


async def make_type(vc: VolumeCloud, **fields: Any) -> str:
    r = await vc.call("POST", "/v3/types", expect=200, json={"volume_type": {
        "name": unique("type"), **fields}})
    return str(r.json()["volume_type"]["id"])


async def encrypt(vc: VolumeCloud, type_id: str, **fields: Any) -> dict[str, Any]:
    r = await vc.call("POST", f"/v3/types/{type_id}/encryption", expect=200,
                      json={"encryption": {**LUKS, **fields}})
    return dict(r.json()["encryption"])


async def test_create_show_update_delete(vc: VolumeCloud) -> None:
    """Tempest's test_volume_type_encryption_create_get_update_delete, and the fields."""
    type_id = await make_type(vc)
    made = await encrypt(vc, type_id)
    assert made == {**LUKS, "volume_type_id": type_id, "encryption_id": made["encryption_id"]}
    r = await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=200)
    shown = r.json()
    assert set(shown) == SHOWN and {k: shown[k] for k in LUKS} == LUKS
    assert (shown["encryption_id"], shown["deleted"], shown["updated_at"]) == \
        (made["encryption_id"], False, None)
    changes = {"key_size": 128, "provider": "SomeProvider", "cipher": "aes-xts-plain64",
               "control_location": "back-end"}
    r = await vc.call("PUT", f"/v3/types/{type_id}/encryption/{made['encryption_id']}",
                      expect=200, json={"encryption": changes})
    assert r.json() == {"encryption": changes}
    shown = (await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=200)).json()
    assert {k: shown[k] for k in changes} == changes and shown["updated_at"] is not None
    # One field at a time: Cinder's GET /encryption/{key}.
    for key, value in (("cipher", "aes-xts-plain64"), ("key_size", 128),
                       ("provider", "SomeProvider")):
        r = await vc.call("GET", f"/v3/types/{type_id}/encryption/{key}", expect=200)
        assert r.json() == {key: value}
    r = await vc.call("DELETE", f"/v3/types/{type_id}/encryption/{made['encryption_id']}",
                      expect=202)
    assert (await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=200)).json() == {}


async def test_the_cli_forms(vc: VolumeCloud) -> None:
    """The openstack CLI changes and removes an encryption at ``/encryption/provider``;
    a partial change keeps the rest; key_size may be a string of digits, or null."""
    type_id = await make_type(vc)
    await encrypt(vc, type_id, cipher=None, key_size="512")
    shown = (await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=200)).json()
    assert (shown["cipher"], shown["key_size"]) == (None, 512)
    r = await vc.call("PUT", f"/v3/types/{type_id}/encryption/provider", expect=200,
                      json={"encryption": {"key_size": None, "cipher": "aes-cbc"}})
    assert r.json() == {"encryption": {"key_size": None, "cipher": "aes-cbc"}}
    shown = (await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=200)).json()
    assert (shown["provider"], shown["cipher"], shown["key_size"],
            shown["control_location"]) == ("luks", "aes-cbc", None, "front-end")
    await vc.call("DELETE", f"/v3/types/{type_id}/encryption/provider", expect=202)


async def test_bad_bodies_are_400(vc: VolumeCloud) -> None:
    type_id = await make_type(vc)
    url = f"/v3/types/{type_id}/encryption"
    for bad in ({**LUKS, "control_location": "middle"}, {**LUKS, "control_location": None},
                {k: v for k, v in LUKS.items() if k != "provider"},
                {k: v for k, v in LUKS.items() if k != "control_location"},
                {**LUKS, "key_size": "abc"}, {**LUKS, "key_size": -1},
                {**LUKS, "key_size": "99999999999"}, {**LUKS, "key_size": 1.5},
                {**LUKS, "key_size": True}, {**LUKS, "provider": None},
                {**LUKS, "provider": "x" * 256}, {**LUKS, "cipher": 7},
                {**LUKS, "bogus": "1"}):
        r = await vc.call("POST", url, expect=400, json={"encryption": bad})
        assert fault(r)[0] == "badRequest", bad
    for bad_body in ({}, {"encryption": "luks"}, {"encryption": LUKS, "more": 1}, []):
        await vc.call("POST", url, expect=400, json=bad_body)
    assert (await vc.call("GET", url, expect=200)).json() == {}
    await encrypt(vc, type_id)
    for bad in ({"control_location": "middle"}, {"key_size": "abc"}, {"provider": None},
                {"bogus": "1"}):
        await vc.call("PUT", f"{url}/provider", expect=400, json={"encryption": bad})
    # A second encryption for the type: Cinder's VolumeTypeEncryptionExists, a 400.
    r = await vc.call("POST", url, expect=400, json={"encryption": LUKS})
    assert fault(r) == ("badRequest",
                        f"Volume type encryption for type {type_id} already exists.")


async def test_missing_types_and_encryptions_are_404(vc: VolumeCloud) -> None:
    missing = random_id()
    for method, path, body in (
            ("GET", "/encryption", None), ("POST", "/encryption", {"encryption": LUKS}),
            ("GET", "/encryption/provider", None),
            ("PUT", "/encryption/provider", {"encryption": {"key_size": 128}}),
            ("DELETE", "/encryption/provider", None)):
        r = await vc.call(method, f"/v3/types/{missing}{path}", expect=404, json=body)
        assert fault(r) == ("itemNotFound", f"Volume type {missing} could not be found.")
    type_id = await make_type(vc)
    gone = f"Volume type encryption for type {type_id} does not exist."
    for method, body in (("GET", None), ("PUT", {"encryption": {"key_size": 128}}),
                         ("DELETE", None)):
        r = await vc.call(method, f"/v3/types/{type_id}/encryption/provider", expect=404,
                          json=body)
        assert fault(r) == ("itemNotFound", gone)
    await encrypt(vc, type_id)
    # A name that is no field of it.
    r = await vc.call("GET", f"/v3/types/{type_id}/encryption/bogus", expect=404)
    assert fault(r) == ("itemNotFound", gone)


async def test_a_type_in_use_keeps_its_encryption(vc: VolumeCloud) -> None:
    """Cinder refuses every change while any volume has the type (any project's)."""
    type_id = await make_type(vc)
    caller = await vc.caller()
    await vc.volume(caller.token, volume_type=type_id)
    r = await vc.call("POST", f"/v3/types/{type_id}/encryption", expect=400,
                      json={"encryption": LUKS})
    assert fault(r) == ("badRequest", "Cannot create encryption specs. Volume type in use.")
    r = await vc.call("PUT", f"/v3/types/{type_id}/encryption/provider", expect=400,
                      json={"encryption": {"key_size": 128}})
    assert fault(r)[1] == "Cannot update encryption specs. Volume type in use."
    r = await vc.call("DELETE", f"/v3/types/{type_id}/encryption/provider", expect=400)
    assert fault(r)[1] == "Cannot delete encryption specs. Volume type in use."


async def test_only_the_admin(vc: VolumeCloud) -> None:
    type_id = await make_type(vc)
    await encrypt(vc, type_id)
    for role in ("member", "reader"):
        token = (await vc.caller(role)).token
        for method, path, body in (
                ("GET", "/encryption", None), ("POST", "/encryption", {"encryption": LUKS}),
                ("GET", "/encryption/provider", None),
                ("PUT", "/encryption/provider", {"encryption": {"key_size": 128}}),
                ("DELETE", "/encryption/provider", None)):
            r = await vc.call(method, f"/v3/types/{type_id}{path}", token=token,
                              expect=403, json=body)
            assert fault(r)[0] == "forbidden"
    assert (await vc.call("GET", f"/v3/types/{type_id}/encryption/provider",
                          expect=200)).json() == {"provider": "luks"}


async def test_a_private_type_in_the_project_form(vc: VolumeCloud) -> None:
    """The admin sees every type, private ones too; the clients' URLs carry the
    project (``/v3/{project_id}/types/...``)."""
    type_id = await make_type(vc, **{"os-volume-type-access:is_public": False})
    r = await vc.cloud.identity.call("GET", "/v3/auth/projects", expect=200)
    project = next(p["id"] for p in r.json()["projects"] if p["name"] == "admin")
    base = f"/v3/{project}/types/{type_id}/encryption"
    r = await vc.call("POST", base, expect=200, json={"encryption": LUKS})
    assert r.json()["encryption"]["volume_type_id"] == type_id
    assert (await vc.call("GET", f"{base}/provider", expect=200)).json() == {
        "provider": "luks"}
    await vc.call("PUT", f"{base}/provider", expect=200, json={"encryption": {
        "control_location": "back-end"}})
    assert (await vc.call("GET", base, expect=200)).json()["control_location"] == "back-end"
    await vc.call("DELETE", f"{base}/provider", expect=202)


async def test_no_volume_of_an_encrypted_type(vc: VolumeCloud) -> None:
    """Without a key manager no encryption key can be made: the create is a 400, as
    Cinder's when its key manager fails, and nothing is made or counted; a retype to
    such a type is refused the same way; other volumes say they are not encrypted."""
    type_id = await make_type(vc)
    await encrypt(vc, type_id)
    name = (await vc.call("GET", f"/v3/types/{type_id}", expect=200)).json()[
        "volume_type"]["name"]
    caller = await vc.caller()
    refused = (f"Invalid input received: volume type {name} is encrypted and ownstack has "
               "no key manager to make the volume's encryption key; a volume of this type "
               "cannot be made.")
    for ref in (type_id, name):
        r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=400, json={
            "volume": {"size": 1, "volume_type": ref}})
        assert fault(r) == ("badRequest", refused)
    plain = await vc.volume(caller.token)
    assert plain["encrypted"] is False
    r = await vc.call("POST", "/v3/volumes", token=caller.token, expect=400, json={
        "volume": {"source_volid": plain["id"], "volume_type": type_id}})
    assert fault(r) == ("badRequest", refused)
    r = await vc.action(plain["id"], {"os-retype": {"new_type": type_id}},
                        token=caller.token, expect=400)
    assert fault(r) == ("badRequest", refused)
    r = await vc.call("GET", "/v3/volumes/detail", token=caller.token, expect=200)
    volumes = r.json()["volumes"]
    assert [v["id"] for v in volumes] == [plain["id"]]
    assert volumes[0]["volume_type"] != name and volumes[0]["encrypted"] is False
    r = await vc.call("GET", f"/v3/os-quota-sets/{caller.project_id}?usage=true",
                      token=caller.token, expect=200)
    assert r.json()["quota_set"]["volumes"]["in_use"] == 1
    # Without its encryption the type makes volumes again.
    await vc.call("DELETE", f"/v3/types/{type_id}/encryption/provider", expect=202)
    assert (await vc.volume(caller.token, volume_type=type_id))["encrypted"] is False


async def test_the_extension_is_listed(vc: VolumeCloud) -> None:
    r = await vc.call("GET", "/v3/extensions", expect=200)
    assert ("encryption", "VolumeTypeEncryption") in [
        (e["alias"], e["name"]) for e in r.json()["extensions"]]


async def test_a_type_goes_with_its_encryption(vc: VolumeCloud) -> None:
    type_id = await make_type(vc)
    await encrypt(vc, type_id)
    await vc.call("DELETE", f"/v3/types/{type_id}", expect=202)
    await vc.call("GET", f"/v3/types/{type_id}/encryption", expect=404)
