"""What the server API tests share: an active image, a flavor, booting, waiting."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from compute_helpers import make_flavor, version

from conftest import CloudClient, unique
from ownstack.compute.objects.models import ComputeService


async def make_image(compute: CloudClient, *, data: bytes = b"x" * 1024,
                     token: str | None = None, upload: bool = True, **fields: Any) -> str:
    """A public (or, with ``token``, the caller's private) image, active unless
    ``upload`` is False."""
    body = {"name": unique("img"), "disk_format": "raw", "container_format": "bare",
            **fields}
    if token is None:
        body.setdefault("visibility", "public")
    r = await compute.on("image", "POST", "/v2/images", token=token, json=body, expect=201)
    image_id = str(r.json()["id"])
    if upload:
        await compute.on("image", "PUT", f"/v2/images/{image_id}/file", token=token,
                         content=data, expect=204,
                         headers={"Content-Type": "application/octet-stream"})
    return image_id


async def boot_setup(compute: CloudClient, **flavor: Any) -> tuple[str, str]:
    """An active public image and a flavor: (image id, flavor id)."""
    return await make_image(compute), str((await make_flavor(compute, **flavor))["id"])


async def boot(compute: CloudClient, token: str | None, image_id: str, flavor_id: str, *,
               v: str = "2.1", expect: int | None = 202, hints: dict[str, Any] | None = None,
               **server: Any) -> httpx.Response:
    body: dict[str, Any] = {"server": {"name": server.pop("name", unique("vm")),
                                       "imageRef": image_id, "flavorRef": flavor_id,
                                       **server}}
    if hints is not None:
        body["os:scheduler_hints"] = hints
    return await compute.call("POST", "/v2.1/servers", token=token, json=body,
                              headers=version(v), expect=expect)


async def boot_id(compute: CloudClient, token: str | None, image_id: str, flavor_id: str,
                  **server: Any) -> str:
    r = await boot(compute, token, image_id, flavor_id, **server)
    return str(r.json()["server"]["id"])


async def show(compute: CloudClient, token: str | None, server_id: str, v: str = "2.1",
               expect: int | None = 200) -> dict[str, Any]:
    r = await compute.call("GET", f"/v2.1/servers/{server_id}", token=token,
                           headers=version(v), expect=expect)
    return dict(r.json())


async def wait_status(compute: CloudClient, token: str | None, server_id: str,
                      status: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        server = (await show(compute, token, server_id))["server"]
        if server["status"] == status:
            return dict(server)
        assert asyncio.get_running_loop().time() < deadline, server
        await asyncio.sleep(0.02)


async def add_service(compute: CloudClient, host: str, zone: str = "nova", *,
                      up: bool = True, **values: Any) -> None:
    """A compute service row, as an agent's report would leave it."""
    async with compute.svc.write() as db:
        db.add(ComputeService(uuid=str(uuid.uuid4()), host=host, binary="nova-compute",
                              topic=f"compute.{host}", availability_zone=zone,
                              last_seen_up=datetime.now(UTC) if up else
                              datetime(2000, 1, 1, tzinfo=UTC), **values))


def fault(r: httpx.Response, name: str) -> str:
    """The message of a Nova fault body ``{name: {"code", "message"}}``."""
    body = r.json()
    assert list(body) == [name], body
    assert body[name]["code"] == r.status_code
    return str(body[name]["message"])
