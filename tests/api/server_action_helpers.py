"""What the server action, metadata, tag and instance-action tests share.

The tests run the compute API without conductor or agents (``idle_cloud``): a server is
created through ``POST /servers`` and then put in the state a test needs, on a host whose
agent is the test itself, so what the API did is exactly what the test sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from compute_helpers import version
from compute_server_helpers import boot_id, boot_setup
from sqlalchemy import select, update

from conftest import CloudClient, cloud_config, make_cloud
from ownstack.compute.objects.models import Instance

HOST = "test-node"


async def idle_cloud(tmp_path: Path, *extra: str) -> AsyncIterator[CloudClient]:
    """The cloud with the compute API only: nothing acts on servers but the tests."""
    config = cloud_config(tmp_path, "roles=api", *extra)
    async for client in make_cloud(config):
        yield client


@dataclass
class Owner:
    """A project with a member user: the token, and a server setup to boot from."""

    project_id: str
    token: str
    image_id: str
    flavor_id: str


async def owner(cloud: CloudClient, role: str = "member", **flavor: Any) -> Owner:
    project, token = await cloud.project_user_token(role)
    image_id, flavor_id = await boot_setup(cloud, **flavor)
    return Owner(str(project["id"]), token, image_id, flavor_id)


async def server(cloud: CloudClient, who: Owner, *, vm_state: str = "active",
                 task_state: str | None = None, host: str | None = HOST,
                 **values: Any) -> str:
    """A server of ``who``'s, created through the API, then placed on ``host`` in the
    given state as the conductor and agent would have left it."""
    server_id = await boot_id(cloud, who.token, who.image_id, who.flavor_id)
    await set_columns(cloud, server_id, vm_state=vm_state, task_state=task_state, host=host,
                      node=host, power_state=1 if vm_state == "active" else 4, **values)
    return server_id


async def set_columns(cloud: CloudClient, server_id: str, **values: Any) -> None:
    async with cloud.svc.write() as db:
        await db.execute(update(Instance).where(Instance.uuid == server_id).values(**values))


async def instance(cloud: CloudClient, server_id: str) -> Instance:
    async with cloud.svc.read() as db:
        return (await db.execute(select(Instance).where(Instance.uuid == server_id))
                ).scalar_one()


async def act(cloud: CloudClient, token: str | None, server_id: str, body: Any, *,
              v: str = "2.1", expect: int | None = None) -> httpx.Response:
    return await cloud.call("POST", f"/v2.1/servers/{server_id}/action", token=token,
                            json=body, headers=version(v), expect=expect)


@dataclass
class FakeAgent:
    """Serves ``compute.<host>`` like an agent: records the casts, answers console_output
    with ``console`` (or raises it, when it is an exception)."""

    casts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    console: Any = "boot ok\n"

    async def __call__(self, method: str, payload: dict[str, Any]) -> Any:
        self.casts.append((method, payload))
        if method == "console_output":
            if isinstance(self.console, Exception):
                raise self.console
            return {"output": self.console}
        return None


async def fake_agent(cloud: CloudClient, host: str = HOST) -> FakeAgent:
    agent = FakeAgent()
    await cloud.svc.bus.serve(f"compute.{host}", agent)
    return agent


async def next_cast(agent: FakeAgent, timeout: float = 2.0) -> tuple[str, dict[str, Any]]:
    """The oldest cast the agent got, waiting for it: casts arrive after the response."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not agent.casts:
        assert asyncio.get_running_loop().time() < deadline, "no cast arrived"
        await asyncio.sleep(0.005)
    return agent.casts.pop(0)


async def reader_token(cloud: CloudClient, who: Owner) -> str:
    """A token of a new user with only the reader role on ``who``'s project."""
    user = await cloud.identity.make_user(project={"id": who.project_id}, role="reader",
                                          password="pw")
    project = (await cloud.identity.call("GET", f"/v3/projects/{who.project_id}")).json()
    return await cloud.identity.token(user["name"], "pw", project=project["project"]["name"])
