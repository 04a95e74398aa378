"""``/os-quota-class-sets``: Nova's fields per microversion, validation, policy, and the
default class as every project's defaults, enforced at create (decision 62)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from helpers.compute import boot, boot_id, boot_setup, fault, version
from helpers.inprocess import CloudClient, quiet_cloud
from helpers.names import unique


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[CloudClient]:
    async for client in quiet_cloud(tmp_path, "compute.quota.instances=5",
                                    "compute.quota.cores=8", "compute.quota.ram=4096"):
        yield client


async def _class(cloud: CloudClient, name: str = "default", v: str = "2.1",
                 token: str | None = None, expect: int = 200) -> Any:
    r = await cloud.call("GET", f"/v2.1/os-quota-class-sets/{name}", token=token,
                         headers=version(v), expect=expect)
    return r.json()


async def _set_class(cloud: CloudClient, values: dict[str, Any], name: str = "default",
                     v: str = "2.1", token: str | None = None, expect: int = 200) -> Any:
    r = await cloud.call("PUT", f"/v2.1/os-quota-class-sets/{name}", token=token,
                         headers=version(v), json={"quota_class_set": values}, expect=expect)
    return r.json()


_CURRENT = {"instances", "cores", "ram", "key_pairs", "metadata_items"}
_GROUPS = {"server_groups", "server_group_members"}
_INJECTED = {"injected_files", "injected_file_content_bytes", "injected_file_path_bytes"}
_NETWORK = {"fixed_ips", "floating_ips", "security_groups", "security_group_rules"}


@pytest.mark.parametrize(("v", "keys"), [("2.1", _CURRENT | _INJECTED | _NETWORK),
                                         ("2.49", _CURRENT | _INJECTED | _NETWORK),
                                         ("2.50", _CURRENT | _GROUPS | _INJECTED),
                                         ("2.56", _CURRENT | _GROUPS | _INJECTED),
                                         ("2.57", _CURRENT | _GROUPS)])
async def test_fields_per_microversion(api: CloudClient, v: str, keys: set[str]) -> None:
    shown = (await _class(api, v=v))["quota_class_set"]
    assert set(shown) == keys | {"id"}
    assert shown["id"] == "default"
    assert (shown["instances"], shown["cores"], shown["ram"]) == (5, 8, 4096)
    # Nova's answer to an update names no id.
    updated = (await _set_class(api, {"cores": 9}, v=v))["quota_class_set"]
    assert set(updated) == keys
    assert updated["cores"] == 9


async def test_tempest_update_default_quotas_round_trip(api: CloudClient) -> None:
    """Tempest's ``test_update_default_quotas``: every shown value + 100 comes back, the
    network ones of old microversions included; then the defaults are restored."""
    for v in ("2.1", "2.57"):
        shown = (await _class(api, v=v))["quota_class_set"]
        assert shown.pop("id") == "default"
        raised = {name: limit + 100 for name, limit in shown.items()}
        updated = (await _set_class(api, raised, v=v))["quota_class_set"]
        assert updated == raised
        assert (await _class(api, v=v))["quota_class_set"] == {"id": "default", **raised}
        await _set_class(api, shown, v=v)
    assert (await _class(api, v="2.1"))["quota_class_set"]["fixed_ips"] == -1


async def test_default_class_is_every_project_without_overrides_defaults(api: CloudClient
                                                                         ) -> None:
    project, token = await api.project_user_token()
    await _set_class(api, {"instances": 7, "floating_ips": 3, "server_groups": 4})
    for path in ("", "/defaults"):
        r = await api.call("GET", f"/v2.1/os-quota-sets/{project['id']}{path}", token=token,
                           headers=version("2.35"), expect=200)
        quota = r.json()["quota_set"]
        assert (quota["instances"], quota["cores"], quota["floating_ips"],
                quota["server_groups"]) == (7, 8, 3, 4)
    r = await api.call("GET", "/v2.1/limits", token=token, headers=version("2.35"),
                       expect=200)
    absolute = r.json()["limits"]["absolute"]
    assert (absolute["maxTotalInstances"], absolute["maxTotalFloatingIps"]) == (7, 3)
    # A project's own override still wins.
    await api.call("PUT", f"/v2.1/os-quota-sets/{project['id']}", expect=200,
                   json={"quota_set": {"instances": 2}})
    r = await api.call("GET", f"/v2.1/os-quota-sets/{project['id']}", token=token,
                       expect=200)
    assert r.json()["quota_set"]["instances"] == 2


async def test_default_class_is_enforced_at_create(api: CloudClient) -> None:
    image_id, flavor_id = await boot_setup(api, vcpus=1, ram=128)
    await _set_class(api, {"instances": 1, "server_groups": 1})
    _, token = await api.project_user_token()
    await boot_id(api, token, image_id, flavor_id)
    r = await boot(api, token, image_id, flavor_id, expect=403)
    assert fault(r, "forbidden") == ("Quota exceeded for instances: Requested 1, but "
                                     "already used 1 of 1 instances")
    group = {"server_group": {"name": unique("g"), "policies": ["affinity"]}}
    await api.call("POST", "/v2.1/os-server-groups", token=token, json=group, expect=200)
    await api.call("POST", "/v2.1/os-server-groups", token=token, json=group, expect=403)
    # A project with its own override is not held to the class.
    project, token = await api.project_user_token()
    await api.call("PUT", f"/v2.1/os-quota-sets/{project['id']}", expect=200,
                   json={"quota_set": {"instances": 2}})
    await boot_id(api, token, image_id, flavor_id)
    await boot_id(api, token, image_id, flavor_id)
    await boot(api, token, image_id, flavor_id, expect=403)
    # Unlimited again: the class's -1.
    await _set_class(api, {"instances": -1})
    _, token = await api.project_user_token()
    for _ in range(6):
        await boot_id(api, token, image_id, flavor_id)


async def test_other_classes_are_kept_and_have_no_effect(api: CloudClient) -> None:
    updated = (await _set_class(api, {"instances": "1", "cores": 0}, name="gold",
                                v="2.57"))["quota_class_set"]
    assert (updated["instances"], updated["cores"], updated["ram"]) == (1, 0, 4096)
    shown = (await _class(api, "gold", v="2.57"))["quota_class_set"]
    assert shown == {"id": "gold", **updated}
    assert (await _class(api, v="2.57"))["quota_class_set"]["instances"] == 5
    image_id, flavor_id = await boot_setup(api, vcpus=1, ram=128)
    _, token = await api.project_user_token()
    await boot_id(api, token, image_id, flavor_id)
    # A class never set is the configured defaults.
    assert (await _class(api, "never-set"))["quota_class_set"]["instances"] == 5


@pytest.mark.parametrize(("v", "values"), [
    ("2.1", {"instances": -2}),
    ("2.1", {"instances": "many"}),
    ("2.1", {"instances": 2147483648}),
    ("2.1", {"instances": None}),
    ("2.1", {"bananas": 1}),
    ("2.50", {"floating_ips": 1}),
    ("2.50", {"networks": 1}),
    ("2.57", {"injected_files": 1}),
])
async def test_bad_bodies_are_400(api: CloudClient, v: str, values: dict[str, Any]) -> None:
    r = await api.call("PUT", "/v2.1/os-quota-class-sets/default", headers=version(v),
                       json={"quota_class_set": values}, expect=400)
    assert fault(r, "badRequest").startswith("Invalid input for field")
    assert (await _class(api, v="2.1"))["quota_class_set"]["instances"] == 5


async def test_other_bad_requests_are_400(api: CloudClient) -> None:
    for document in ({}, {"quota_class_set": 5}, {"quota_set": {"instances": 1}},
                     {"quota_class_set": {}, "extra": 1}):
        r = await api.call("PUT", "/v2.1/os-quota-class-sets/default", json=document,
                           expect=400)
        fault(r, "badRequest")
    r = await api.call("PUT", f"/v2.1/os-quota-class-sets/{'x' * 256}",
                       json={"quota_class_set": {"instances": 1}}, expect=400)
    assert "longer than 255" in fault(r, "badRequest")
    # Accepted before 2.50 as by Nova: the server group limits (not shown there) and
    # nova-network's ``networks`` (no effect).
    await _set_class(api, {"server_groups": 3, "networks": 2})
    assert (await _class(api, v="2.50"))["quota_class_set"]["server_groups"] == 3


async def test_only_admins_read_and_set_classes(api: CloudClient) -> None:
    for role in ("member", "reader"):
        _, token = await api.project_user_token(role)
        r = await _class(api, token=token, expect=403)
        assert list(r) == ["forbidden"]
        r = await _set_class(api, {"instances": 1}, token=token, expect=403)
        assert list(r) == ["forbidden"]
    assert (await _class(api))["quota_class_set"]["instances"] == 5
