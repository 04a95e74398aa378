"""What the compute API tests share: microversion headers, flavors, keys, an active
image, booting and waiting, Nova fault bodies, and the server tests' stand-ins.

The server action, metadata, tag and instance-action tests run the compute API without
conductor or agents (:func:`helpers.inprocess.quiet_cloud`): a server is created through
``POST /servers`` and then put in the state a test needs (:func:`server`), on a host whose
agent is the test itself (:class:`FakeAgent`), so what the API did is exactly what the test
sees.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from sqlalchemy import select, update

from helpers.inprocess import CloudClient, ServiceClient
from helpers.names import unique
from ownstack.compute.objects.models import Instance

HOST = "test-node"


def version(v: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {v}"}


async def make_flavor(compute: ServiceClient, v: str = "2.1", **fields: Any) -> dict[str, Any]:
    body = {"name": unique("m1"), "ram": 256, "vcpus": 1, "disk": 1, **fields}
    r = await compute.call("POST", "/v2.1/flavors", expect=200, headers=version(v),
                           json={"flavor": body})
    return dict(r.json()["flavor"])


def ssh_public_key(kind: str = "ed25519") -> str:
    key: Any
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "ecdsa":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()


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


async def wait_released(cloud: CloudClient, server_id: str, timeout: float = 10.0) -> None:
    """Wait until Placement holds no allocation of ``server_id``. A build or unshelve that
    fails records ERROR (or its fault) first and releases the claim after it, so that a
    conductor killed between the two leaves a claim the sweep removes, never a server
    stuck in BUILD: the release is seen soon after the state, not with it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await cloud.on("placement", "GET", f"/allocations/{server_id}", expect=200)
        if r.json()["allocations"] == {}:
            return
        assert asyncio.get_running_loop().time() < deadline, r.json()
        await asyncio.sleep(0.02)


def fault(r: httpx.Response, name: str) -> str:
    """The message of a Nova fault body ``{name: {"code", "message"}}``."""
    body = r.json()
    assert list(body) == [name], body
    assert body[name]["code"] == r.status_code
    return str(body[name]["message"])


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
    with ``console`` and console_socket with ``console_socket`` (or raises it, when it is
    an exception)."""

    casts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    console: Any = "boot ok\n"
    console_socket: Any = field(default_factory=lambda: {"host": HOST,
                                                         "path": "/run/test/console.sock"})

    async def __call__(self, method: str, payload: dict[str, Any]) -> Any:
        self.casts.append((method, payload))
        if method == "console_output":
            if isinstance(self.console, Exception):
                raise self.console
            return {"output": self.console}
        if method == "console_socket":
            if isinstance(self.console_socket, Exception):
                raise self.console_socket
            return self.console_socket
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
