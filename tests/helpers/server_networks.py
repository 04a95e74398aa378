"""Servers with ports, for the API tests: a project with an image and a flavor, its
networks and ports through the network API, and servers booted on them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from helpers.compute import boot, boot_setup, wait_status
from helpers.inprocess import CloudClient
from helpers.names import unique


@dataclass
class Project:
    token: str
    project_id: str
    image_id: str
    flavor_id: str


async def _project(compute: CloudClient) -> Project:
    project, token = await compute.project_user_token()
    image_id, flavor_id = await boot_setup(compute)
    return Project(token, str(project["id"]), image_id, flavor_id)


async def _net(compute: CloudClient, token: str | None, cidr: str = "10.0.0.0/24",
               name: str | None = None, **subnet: Any) -> dict[str, Any]:
    name = name or unique("net")
    r = await compute.on("network", "POST", "/v2.0/networks", token=token, expect=201,
                         json={"network": {"name": name}})
    network = dict(r.json()["network"])
    r = await compute.on("network", "POST", "/v2.0/subnets", token=token, expect=201,
                         json={"subnet": {"network_id": network["id"], "cidr": cidr,
                                          "ip_version": 6 if ":" in cidr else 4,
                                          **subnet}})
    network["subnet"] = r.json()["subnet"]
    return network


async def _port(compute: CloudClient, token: str | None, network_id: str, **fields: Any
                ) -> dict[str, Any]:
    r = await compute.on("network", "POST", "/v2.0/ports", token=token, expect=201,
                         json={"port": {"network_id": network_id, **fields}})
    return dict(r.json()["port"])


async def _ports(compute: CloudClient, **filters: str) -> list[dict[str, Any]]:
    r = await compute.on("network", "GET", "/v2.0/ports", params=filters, expect=200)
    return list(r.json()["ports"])


async def _get_port(compute: CloudClient, port_id: str, expect: int = 200) -> dict[str, Any]:
    r = await compute.on("network", "GET", f"/v2.0/ports/{port_id}", expect=expect)
    return dict(r.json().get("port") or {})


async def _boot(compute: CloudClient, who: Project, networks: Any, *, v: str = "2.37",
                expect: int = 202, **server: Any) -> Any:
    r = await boot(compute, who.token, who.image_id, who.flavor_id, v=v, expect=expect,
                   networks=networks, **server)
    return r


async def _active(compute: CloudClient, who: Project, networks: Any, **server: Any
                  ) -> dict[str, Any]:
    r = await _boot(compute, who, networks, **server)
    return await wait_status(compute, who.token, r.json()["server"]["id"], "ACTIVE")


async def _gone(compute: CloudClient, who: Project, server_id: str) -> None:
    await compute.call("DELETE", f"/v2.1/servers/{server_id}", token=who.token, expect=204)
    for _ in range(500):
        r = await compute.call("GET", f"/v2.1/servers/{server_id}", token=who.token)
        if r.status_code == 404:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"server {server_id} was not deleted")


async def _until_no_ports(compute: CloudClient, server_id: str) -> None:
    for _ in range(500):
        if not await _ports(compute, device_id=server_id):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"ports of {server_id} remain: "
                         f"{await _ports(compute, device_id=server_id)}")
