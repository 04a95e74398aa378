"""What the agent unit tests share: a fake conductor on an in-process bus, a fake image
service behind a real :class:`ImageClient`, and a running agent group over both."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid as uuidlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ownstack.common.bus import InProcessBus
from ownstack.common.clients.image import ImageClient
from ownstack.common.config import Config, load_config
from ownstack.compute import states
from ownstack.compute.agent import AgentGroup, ComputeAgent, start_agents
from ownstack.compute.drivers.fake import QCOW2_MAGIC, FakeHypervisor
from ownstack.compute.rpc import CONDUCTOR_TOPIC, InstanceSpec

IMAGE_DATA = QCOW2_MAGIC + b"\0" * 1020


def make_spec(host: str | None, **overrides: Any) -> dict[str, Any]:
    """An instance as ``get_instance`` returns it (a plain dict: tests change it freely)."""
    uuid = str(uuidlib.uuid4())
    spec: dict[str, Any] = dict(InstanceSpec(
        uuid=uuid, name="vm1", hostname="vm1", project_id="p1", user_id="u1", host=host,
        node=host, vm_state=states.BUILDING, task_state=states.SPAWNING, task_args={},
        power_state=0, request_id=f"req-{uuid}", image_ref="img-1", image_meta={},
        flavor={"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0,
                "extra_specs": {}},
        key_name=None, key_data=None, user_data=None, admin_pass="s3cret", config_drive=False,
        availability_zone="nova", launch_index=0, metadata={}))
    spec.update(overrides)
    return spec


class FakeConductor:
    """Serves the conductor topic the way :mod:`ownstack.compute.rpc` says, in memory."""

    def __init__(self) -> None:
        self.instances: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.destroyed: list[str] = []
        self.rescheduled: list[dict[str, Any]] = []
        self.launched: set[str] = set()
        self.fail: dict[str, Exception] = {}        # method -> raise this
        self.before_update: Callable[[str], None] | None = None
        # port id -> ACTIVE, as the network service has it now (refresh_network_info)
        self.port_active: dict[str, bool] = {}

    def add(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.instances[spec["uuid"]] = spec
        return spec

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    def event_names(self, uuid: str) -> list[str]:
        return [e["event"] for e in self.events if e["uuid"] == uuid]

    def event(self, uuid: str, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e["uuid"] == uuid and e["event"] == name)

    async def handle(self, method: str, payload: dict[str, Any]) -> Any:
        self.calls.append((method, payload))
        if method in self.fail:
            raise self.fail[method]
        return getattr(self, f"_{method}")(payload)

    def _report_node(self, p: dict[str, Any]) -> dict[str, Any]:
        self.reports.append(p)
        return {"node_uuid": f"uuid-{p['node']}", "service_disabled": False}

    def _node_instances(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"instances": [s for s in self.instances.values()
                              if s["host"] == p["host"] and s["node"] == p["node"]]}

    def _get_instance(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"instance": self.instances.get(p["uuid"])}

    def _update_instance(self, p: dict[str, Any]) -> dict[str, Any]:
        if self.before_update is not None:
            self.before_update(p["uuid"])
        self.events.extend(p.get("events") or ())      # recorded, applied or not
        spec = self.instances.get(p["uuid"])
        expected = p["expected_task_state"]
        if spec is None or spec["host"] != p["host"] or (
                expected != "*" and spec["task_state"] != expected):
            return {"applied": False}
        updates = dict(p["updates"])
        if updates.pop("launched", False):
            self.launched.add(spec["uuid"])
        if updates.pop("clear_admin_pass", False):
            spec["admin_pass"] = None
        spec.update(updates)
        return {"applied": True}

    def _refresh_network_info(self, p: dict[str, Any]) -> dict[str, Any]:
        spec = self.instances.get(p["uuid"])
        if spec is None:
            return {"nics": None}
        for nic in spec.get("nics") or ():
            nic["active"] = self.port_active.get(nic["port_id"], nic.get("active", False))
        return {"nics": [dict(nic) for nic in spec.get("nics") or ()]}

    def _instance_destroyed(self, p: dict[str, Any]) -> None:
        self.destroyed.append(p["uuid"])
        self.instances.pop(p["uuid"], None)

    def _reschedule(self, p: dict[str, Any]) -> None:
        self.rescheduled.append(p)
        spec = self.instances[p["uuid"]]
        spec.update(host=None, node=None, task_state=states.SCHEDULING)

    def _record_event(self, p: dict[str, Any]) -> None:
        self.events.append(p)

    def _record_events(self, p: dict[str, Any]) -> None:
        self.events.extend(p["events"])


@dataclass
class FakeImage:
    id: str
    data: bytes | None
    disk_format: str = "qcow2"
    status: str = "active"
    properties: dict[str, Any] = field(default_factory=dict)
    served: bytes | None = None         # bytes sent instead of ``data`` (corruption)

    def body(self) -> dict[str, Any]:
        data = self.data
        md5 = None if data is None else hashlib.md5(data, usedforsecurity=False).hexdigest()
        return {"id": self.id, "name": self.id, "status": self.status,
                "disk_format": self.disk_format, "container_format": "bare",
                "visibility": "private", "min_disk": 0, "min_ram": 0,
                "size": None if data is None else len(data),
                "checksum": md5,
                "os_hash_algo": None if data is None else "sha512",
                "os_hash_value": None if data is None else hashlib.sha512(data).hexdigest(),
                **self.properties}


class FakeGlance:
    """Just enough of Image v2 for the agent: show, download, upload, delete."""

    def __init__(self) -> None:
        self.images: dict[str, FakeImage] = {}
        self.downloads: list[str] = []
        self.deleted: list[str] = []
        self.delay = 0.0
        self.broken = False             # answer 500 to everything

    def add(self, image_id: str, data: bytes | None = IMAGE_DATA, **kw: Any) -> FakeImage:
        image = self.images[image_id] = FakeImage(image_id, data, **kw)
        return image

    def client(self) -> ImageClient:
        async def token() -> str:
            return "service-token"
        return ImageClient("http://image.test", token,
                           transport=httpx.MockTransport(self.handle))

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.broken:
            return httpx.Response(500, json={"message": "glance is down"})
        parts = request.url.path.strip("/").split("/")     # v2 images <id> [file]
        image = self.images.get(parts[2]) if len(parts) > 2 else None
        if image is None:
            return httpx.Response(404, json={"message": f"No image found with ID {parts[-1]}"})
        if len(parts) == 3 and request.method == "GET":
            return httpx.Response(200, json=image.body())
        if len(parts) == 3 and request.method == "DELETE":
            del self.images[image.id]
            self.deleted.append(image.id)
            return httpx.Response(204)
        if request.method == "GET":
            self.downloads.append(image.id)
            if self.delay:
                await asyncio.sleep(self.delay)
            if image.data is None:
                return httpx.Response(204)
            return httpx.Response(200, content=image.served or image.data)
        image.data = request.content
        image.status = "active"
        return httpx.Response(204)


@dataclass
class AgentEnv:
    config: Config
    bus: InProcessBus
    conductor: FakeConductor
    glance: FakeGlance
    group: AgentGroup

    @property
    def agent(self) -> ComputeAgent:
        return self.group.agents[0]

    @property
    def node(self) -> str:
        return self.agent.node

    @property
    def hypervisor(self) -> FakeHypervisor:
        return self.group.hypervisors[self.node]

    async def restart(self) -> None:
        """Stop the agents mid-whatever and start new ones on the same machines."""
        await self.group.stop()
        self.group = await start_agents(self.config, self.bus, self.glance.client)

    async def boot(self, **overrides: Any) -> dict[str, Any]:
        """An instance the conductor placed on the first node, reconciled to the end."""
        spec = self.conductor.add(make_spec(self.node, **overrides))
        await self.agent.reconcile(spec["uuid"])
        return spec


def agent_config(tmp_path: Path, *overrides: str) -> Config:
    return load_config(tmp_path, environ={}, overrides=[
        "compute.host=node-a", "compute.driver=fake", "compute.report_interval=0.05",
        "compute.resync_interval=3600", "compute.shutdown_timeout=0.05", *overrides])


@asynccontextmanager
async def agent_env(tmp_path: Path, *overrides: str, conductor: bool = True,
                    startup_wait: float = 5.0) -> AsyncIterator[AgentEnv]:
    config = agent_config(tmp_path, *overrides)
    bus = InProcessBus()
    await bus.start()
    fake = FakeConductor()
    if conductor:
        await bus.serve(CONDUCTOR_TOPIC, fake.handle)
    glance = FakeGlance()
    glance.add("img-1")
    group = await start_agents(config, bus, glance.client, startup_wait=startup_wait)
    env = AgentEnv(config, bus, fake, glance, group)
    try:
        yield env
    finally:
        await env.group.stop()
        await bus.close()


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll ``predicate`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout}s")
        await asyncio.sleep(0.01)
    return result
