"""The metadata agent, in process: a request on its unix socket, as a proxy sends it, is
matched to the port holding the guest's address on the proxy's network (or on a network
of the proxy's router) through the network service's ``metadata_port`` call, signed, and
forwarded to the metadata service (a recording fake here), whose answer comes back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

from helpers.inprocess import ServiceClient
from helpers.network import make
from ownstack.common.bus import make_bus
from ownstack.common.metadata_signature import sign_instance_id
from ownstack.common.peers import Peers
from ownstack.network.agent.agent import NetworkAgent
from ownstack.network.agent.metadata import MetadataAgent
from ownstack.network.agent.runner import metadata_agent
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import Capability
from ownstack.network.drivers.fake import FakeNetworkDriver, FakeNetworkHost
from ownstack.network.metadata_proxy import agent_socket_path

SECRET = "agent-test-secret"
INSTANCE = "5f0c1d2e-0000-4000-8000-00000000a001"


@dataclass
class FakeMetadataService:
    """Records each request and answers in two chunks, to show the answer streams."""

    seen: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        self.seen.append({"method": request.method, "path": request.url.path,
                          "query": request.url.query, "headers": dict(request.headers),
                          "body": await request.body()})

        async def chunks() -> AsyncIterator[bytes]:
            yield b"first,"
            yield b"second"

        await StreamingResponse(chunks(), status_code=209, media_type="text/plain",
                                headers={"X-Answer": "yes"})(scope, receive, send)


@dataclass
class Setup:
    network_id: str
    other_network_id: str
    router_id: str
    address: str            # the server's port on network_id, attached to the router
    other_address: str      # a port on other_network_id, not attached to the router
    project_id: str


@pytest.fixture
async def setup(network: ServiceClient) -> Setup:
    project, token = await network.project_user_token()
    net = await make(network, "network", token, name="md-net")
    # 10.0.0.250, the address nobody holds below, outside the pool addresses are drawn from
    sub = await make(network, "subnet", token, network_id=net["id"], cidr="10.0.0.0/24",
                     ip_version=4, allocation_pools=[{"start": "10.0.0.2",
                                                      "end": "10.0.0.200"}])
    other = await make(network, "network", token, name="md-other")
    await make(network, "subnet", token, network_id=other["id"], cidr="10.9.0.0/24",
               ip_version=4)
    port = await make(network, "port", None, network_id=net["id"], device_id=INSTANCE,
                      device_owner="compute:nova", project_id=project["id"])
    lone = await make(network, "port", None, network_id=other["id"], device_id=INSTANCE,
                      device_owner="compute:nova", project_id=project["id"])
    router = await make(network, "router", token, name="md-router")
    await network.call("PUT", f"/v2.0/routers/{router['id']}/add_router_interface",
                       token=token, expect=200, json={"subnet_id": sub["id"]})
    return Setup(net["id"], other["id"], router["id"], port["fixed_ips"][0]["ip_address"],
                 lone["fixed_ips"][0]["ip_address"], str(project["id"]))


@pytest.fixture
def service() -> FakeMetadataService:
    return FakeMetadataService()


@pytest.fixture
async def agent(network: ServiceClient, service: FakeMetadataService, tmp_path: Path
                ) -> AsyncIterator[MetadataAgent]:
    svc = network.app.svc
    agent = MetadataAgent(server=NetworkServerAPI(svc.bus, "host-a"),
                          path=agent_socket_path(tmp_path), metadata_url="http://md.test",
                          secret=SECRET, transport=httpx.ASGITransport(app=service))
    await agent.start()
    yield agent
    await agent.stop()
    assert not agent.path.exists()


async def ask(agent: MetadataAgent, path: str = "/openstack/latest/meta_data.json", *,
              method: str = "GET", content: bytes | None = None,
              **headers: str) -> httpx.Response:
    transport = httpx.AsyncHTTPTransport(uds=str(agent.path))
    async with httpx.AsyncClient(transport=transport, base_url="http://169.254.169.254") as c:
        return await c.request(method, path, content=content,
                               headers={k.replace("_", "-"): v for k, v in headers.items()})


async def test_by_network_signs_and_forwards(agent: MetadataAgent, setup: Setup,
                                             service: FakeMetadataService) -> None:
    r = await ask(agent, "/openstack/latest/password?x=1", method="POST", content=b"pw",
                  X_Forwarded_For=setup.address, X_Neutron_Network_ID=setup.network_id,
                  X_Instance_ID="forged", X_Tenant_ID="forged")
    assert (r.status_code, r.text, r.headers["x-answer"]) == (209, "first,second", "yes")
    (seen,) = service.seen
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST", "/openstack/latest/password", "x=1", b"pw")
    headers = seen["headers"]
    assert headers["x-instance-id"] == INSTANCE
    assert headers["x-tenant-id"] == setup.project_id
    assert headers["x-instance-id-signature"] == sign_instance_id(SECRET, INSTANCE)
    assert headers["x-forwarded-for"] == setup.address
    assert "x-neutron-network-id" not in headers


async def test_by_router(agent: MetadataAgent, setup: Setup,
                         service: FakeMetadataService) -> None:
    r = await ask(agent, X_Forwarded_For=setup.address, X_Neutron_Router_ID=setup.router_id)
    assert r.status_code == 209
    assert service.seen[0]["headers"]["x-instance-id"] == INSTANCE
    # A port on a network the router has no interface on is nobody, seen from the router.
    r = await ask(agent, X_Forwarded_For=setup.other_address,
                  X_Neutron_Router_ID=setup.router_id)
    assert r.status_code == 404
    assert len(service.seen) == 1


async def test_unknown_source_is_404(agent: MetadataAgent, setup: Setup,
                                     service: FakeMetadataService) -> None:
    for source, network_id in (("10.0.0.250", setup.network_id),
                               (setup.other_address, setup.network_id),
                               (setup.address, setup.other_network_id)):
        r = await ask(agent, X_Forwarded_For=source, X_Neutron_Network_ID=network_id)
        assert r.status_code == 404, (source, network_id)
    assert service.seen == []


async def test_requests_without_the_proxy_headers_are_400(agent: MetadataAgent, setup: Setup,
                                                          service: FakeMetadataService
                                                          ) -> None:
    assert (await ask(agent, X_Neutron_Network_ID=setup.network_id)).status_code == 400
    assert (await ask(agent, X_Forwarded_For="not-an-ip",
                      X_Neutron_Network_ID=setup.network_id)).status_code == 400
    assert (await ask(agent, X_Forwarded_For=setup.address)).status_code == 400
    r = await ask(agent, X_Forwarded_For=setup.address, X_Neutron_Network_ID=setup.network_id,
                  X_Neutron_Router_ID=setup.router_id)
    assert r.status_code == 400
    assert service.seen == []


async def test_metadata_service_down_is_503(network: ServiceClient, setup: Setup,
                                            tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    agent = MetadataAgent(server=NetworkServerAPI(network.app.svc.bus, "host-a"),
                          path=tmp_path / "md.sock", metadata_url="http://md.test",
                          secret=SECRET, transport=httpx.MockTransport(refuse))
    await agent.start()
    try:
        r = await ask(agent, X_Forwarded_For=setup.address,
                      X_Neutron_Network_ID=setup.network_id)
        assert r.status_code == 503
    finally:
        await agent.stop()


async def test_network_service_silent_is_503(tmp_path: Path,
                                             service: FakeMetadataService) -> None:
    bus = make_bus("memory://", "silent")
    await bus.start()
    agent = MetadataAgent(server=NetworkServerAPI(bus, "host-a", timeout=0.3),
                          path=tmp_path / "md.sock", metadata_url="http://md.test",
                          secret=SECRET, transport=httpx.ASGITransport(app=service))
    await agent.start()
    try:
        r = await ask(agent, X_Forwarded_For="10.0.0.5", X_Neutron_Network_ID="n1")
        assert r.status_code == 503
        assert service.seen == []
    finally:
        await agent.stop()
        await bus.close()


def test_socket_path_too_long_is_refused(network: ServiceClient) -> None:
    with pytest.raises(ValueError, match="longer than"):
        MetadataAgent(server=NetworkServerAPI(network.app.svc.bus, "host-a"),
                      path=Path("/tmp/" + "x" * 120), metadata_url="http://md.test",
                      secret=SECRET)


async def test_network_agent_runs_it_only_when_its_driver_proxies(
        network: ServiceClient, setup: Setup, tmp_path: Path) -> None:
    svc = network.app.svc
    peers = Peers(replace(svc.config, state_dir=tmp_path),
                  apps={"metadata": FakeMetadataService()})
    plain = FakeNetworkDriver(FakeNetworkHost("host-a"))
    assert metadata_agent(peers, svc.bus, "host-a", plain) is None
    proxying = FakeNetworkDriver(FakeNetworkHost("host-a"),
                                 capabilities={Capability.METADATA.value: True})
    metadata = metadata_agent(peers, svc.bus, "host-a", proxying)
    assert metadata is not None and metadata.path == agent_socket_path(tmp_path)
    agent = NetworkAgent(config=svc.config, bus=svc.bus, driver=proxying, host="host-a",
                         startup_wait=5, metadata=metadata)
    await agent.start()
    try:
        r = await ask(metadata, X_Forwarded_For=setup.address,
                      X_Neutron_Network_ID=setup.network_id)
        assert r.status_code == 209
    finally:
        await agent.stop()
    assert not metadata.path.exists()
