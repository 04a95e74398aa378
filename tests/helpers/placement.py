"""What the placement API tests share: microversion headers and quick setup of providers."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from helpers.inprocess import PlacementClient

LATEST = "1.39"


def mv(version: str = LATEST) -> dict[str, str]:
    return {"OpenStack-API-Version": f"placement {version}"}


async def call(placement: PlacementClient, method: str, path: str, *, version: str = LATEST,
               expect: int | None = None, **kwargs: Any) -> httpx.Response:
    headers = {**mv(version), **kwargs.pop("headers", {})}
    return await placement.call(method, path, headers=headers, expect=expect, **kwargs)


async def provider(placement: PlacementClient, name: str | None = None, *,
                   parent: str | None = None, inventory: dict[str, Any] | None = None,
                   traits: list[str] | None = None, aggregates: list[str] | None = None
                   ) -> dict[str, Any]:
    """A new provider, with inventory ({"VCPU": 8} or {"VCPU": {...}}), traits, aggregates."""
    body: dict[str, Any] = {"name": name or f"rp-{uuid.uuid4().hex[:8]}"}
    if parent:
        body["parent_provider_uuid"] = parent
    rp: dict[str, Any] = (await call(placement, "POST", "/resource_providers", json=body,
                                     expect=200)).json()
    url = f"/resource_providers/{rp['uuid']}"
    if inventory:
        for rc in inventory:
            if rc.startswith("CUSTOM_"):
                await call(placement, "PUT", f"/resource_classes/{rc}")
        inventories = {rc: v if isinstance(v, dict) else {"total": v}
                       for rc, v in inventory.items()}
        r = await call(placement, "PUT", f"{url}/inventories", expect=200, json={
            "resource_provider_generation": rp["generation"], "inventories": inventories})
        rp["generation"] = r.json()["resource_provider_generation"]
    if traits:
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                await call(placement, "PUT", f"/traits/{trait}")
        r = await call(placement, "PUT", f"{url}/traits", expect=200, json={
            "resource_provider_generation": rp["generation"], "traits": traits})
        rp["generation"] = r.json()["resource_provider_generation"]
    if aggregates:
        r = await call(placement, "PUT", f"{url}/aggregates", expect=200, json={
            "resource_provider_generation": rp["generation"], "aggregates": aggregates})
        rp["generation"] = r.json()["resource_provider_generation"]
    return rp


async def claim(placement: PlacementClient, rp_uuid: str, resources: dict[str, int], *,
                consumer: str | None = None, generation: int | None = None,
                expect: int | None = 204, project: str = "p1", user: str = "u1"
                ) -> httpx.Response:
    consumer = consumer or str(uuid.uuid4())
    return await call(placement, "PUT", f"/allocations/{consumer}", expect=expect, json={
        "allocations": {rp_uuid: {"resources": resources}}, "project_id": project,
        "user_id": user, "consumer_generation": generation, "consumer_type": "INSTANCE"})


def error_code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0].get("code"))
