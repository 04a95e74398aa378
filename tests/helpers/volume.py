"""Helpers for the volume API's tests: a whole cloud in process (identity, image, the
volume API, its agent on the fake driver), callers in projects of their own, and waits
for the statuses the agent moves volumes through."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from helpers.inprocess import CloudClient, cloud_config, make_cloud
from helpers.names import unique

LATEST = "3.71"
DEFAULT_STATUSES = ("available", "error", "in-use")


@dataclass
class Caller:
    project_id: str
    user_id: str
    token: str


def fault(r: httpx.Response) -> tuple[str, str]:
    """The name and message of a Cinder fault body (checking its shape)."""
    body = r.json()
    assert len(body) == 1, body
    name = next(iter(body))
    assert body[name]["code"] == r.status_code, body
    return name, str(body[name]["message"])


@dataclass
class VolumeCloud:
    cloud: CloudClient

    async def call(self, method: str, path: str, *, token: str | None = None,
                   expect: int | None = None, version: str | None = LATEST,
                   **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if version is not None:
            headers.setdefault("OpenStack-API-Version", f"volume {version}")
        r = await self.cloud.on("volume", method, path, token=token, headers=headers,
                                **kwargs)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    async def caller(self, role: str = "member") -> Caller:
        """A new project with a new user holding ``role`` in it."""
        identity = self.cloud.identity
        project = await identity.make_project()
        user = await identity.make_user(project=project, role=role, password="pw")
        token = await identity.token(user["name"], "pw", project=project["name"])
        return Caller(project["id"], user["id"], token)

    async def wait(self, path: str, key: str, statuses: tuple[str, ...] | str, *,
                   token: str | None = None, timeout: float = 10.0) -> dict[str, Any]:
        wanted = (statuses,) if isinstance(statuses, str) else statuses
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            r = await self.call("GET", path, token=token)
            if r.status_code == 404 and "gone" in wanted:
                return {}
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()[key]
            if body["status"] in wanted:
                return body
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{path} is {body['status']}, never {wanted}: {body}")
            await asyncio.sleep(0.02)

    async def volume(self, token: str | None = None, *, wait: tuple[str, ...] | str =
                     "available", **fields: Any) -> dict[str, Any]:
        body = {"size": 1, "name": unique("vol"), **fields}
        r = await self.call("POST", "/v3/volumes", token=token, json={"volume": body})
        assert r.status_code == 202, r.text
        volume_id = r.json()["volume"]["id"]
        return await self.wait(f"/v3/volumes/{volume_id}", "volume", wait, token=token)

    async def snapshot(self, volume_id: str, token: str | None = None, **fields: Any
                       ) -> dict[str, Any]:
        r = await self.call("POST", "/v3/snapshots", token=token, json={"snapshot": {
            "volume_id": volume_id, "name": unique("snap"), **fields}})
        assert r.status_code == 202, r.text
        return await self.wait(f"/v3/snapshots/{r.json()['snapshot']['id']}", "snapshot",
                               "available", token=token)

    async def action(self, volume_id: str, body: dict[str, Any], *, token: str | None = None,
                     expect: int | None = 202, version: str | None = LATEST
                     ) -> httpx.Response:
        return await self.call("POST", f"/v3/volumes/{volume_id}/action", token=token,
                               json=body, expect=expect, version=version)

    @property
    def agent(self) -> Any:
        return self.cloud.workers["volume"]

    @property
    def svc(self) -> Any:
        return self.cloud.apps["volume"].svc


async def volume_cloud(tmp_path: Path, *extra: str) -> AsyncIterator[VolumeCloud]:
    """The cloud with the volume agent (fake driver) and no compute workers; quotas big
    enough for a module's tests to share the admin's project (quota tests set their own
    projects' limits)."""
    config = cloud_config(tmp_path, "roles=api,volume", "volume.report_interval=0.2",
                          "volume.resync_interval=600", "volume.quota.volumes=1000",
                          "volume.quota.snapshots=1000", "volume.quota.gigabytes=100000",
                          *extra)
    async for cloud in make_cloud(config):
        yield VolumeCloud(cloud)


async def upload_raw_image(vc: VolumeCloud, data: bytes, *, token: str | None = None,
                           disk_format: str = "raw", **fields: Any) -> str:
    """An active image of ``data``; its id."""
    r = await vc.cloud.on("image", "POST", "/v2/images", token=token, expect=201, json={
        "name": unique("img"), "disk_format": disk_format, "container_format": "bare",
        **fields})
    image_id = str(r.json()["id"])
    await vc.cloud.on("image", "PUT", f"/v2/images/{image_id}/file", token=token,
                      expect=204, content=data,
                      headers={"Content-Type": "application/octet-stream"})
    return image_id


def random_id() -> str:
    return str(uuid.uuid4())
