"""The metadata path end to end, in namespaces this test makes: a guest namespace holding
the server's port address, a proxy namespace with 169.254.169.254 (as a ``qdhcp``
namespace has it) and the metadata proxy started there as the Linux driver starts it, the
metadata agent's unix socket and the metadata service in this process. ``busybox wget``
in the guest namespace gets the server's own documents; the proxy is adopted, measured
and stopped. Every packet stays inside the two namespaces.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from helpers.compute import ssh_public_key, wait_status
from helpers.inprocess import CloudClient
from helpers.server_networks import _boot, _net, _project
from ownstack.common.statedir import read_metadata_secret
from ownstack.network.agent.metadata import MetadataAgent
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.linux import metadata_proxy as proxies
from ownstack.network.metadata_proxy import agent_socket_path

MAX_PROXY_RSS_KB = 20 * 1024        # the interpreter and socketserver: about 14 MiB


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


class Namespaces:
    def __init__(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.guest = f"osm-guest-{suffix}"
        self.proxy = f"osm-qdhcp-{suffix}"
        self._veth = f"vg{suffix}"

    def make(self, guest_address: str) -> None:
        ip("netns", "add", self.guest)
        ip("netns", "add", self.proxy)
        # The veth is made inside the guest namespace with its peer in the proxy's:
        # nothing is ever created in the host's namespace.
        ip("-n", self.guest, "link", "add", self._veth, "type", "veth", "peer", "name",
           "vp", "netns", self.proxy)
        ip("-n", self.guest, "addr", "add", f"{guest_address}/24", "dev", self._veth)
        ip("-n", self.guest, "link", "set", self._veth, "up")
        ip("-n", self.guest, "link", "set", "lo", "up")
        ip("-n", self.guest, "route", "add", "169.254.169.254/32", "via", "10.0.0.2")
        ip("-n", self.proxy, "addr", "add", "10.0.0.2/24", "dev", "vp")
        ip("-n", self.proxy, "link", "set", "vp", "up")
        ip("-n", self.proxy, "link", "set", "lo", "up")
        ip("-n", self.proxy, "addr", "add", "169.254.169.254/32", "dev", "lo")

    def remove(self) -> None:
        for name in (self.guest, self.proxy):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10,
                           check=False)


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    made = Namespaces()
    try:
        yield made
    finally:
        made.remove()


@pytest.fixture
async def agent(compute: CloudClient, tmp_path: Path) -> AsyncIterator[MetadataAgent]:
    config = compute.peers.config
    agent = MetadataAgent(server=NetworkServerAPI(compute.peers.bus, "test-node"),
                          path=agent_socket_path(tmp_path), metadata_url="http://md.test",
                          secret=read_metadata_secret(config),
                          transport=httpx.ASGITransport(app=compute.apps["metadata"]))
    await agent.start()
    yield agent
    await agent.stop()


async def wget(namespace: str, path: str, *headers: str) -> tuple[int, bytes]:
    # No -T: busybox 1.35's wget crashes with it; the wait_for below bounds the wait.
    argv = ["ip", "netns", "exec", namespace, "busybox", "wget", "-q", "-O-"]
    for header in headers:
        argv += ["--header", header]
    process = await asyncio.create_subprocess_exec(
        *argv, f"http://169.254.169.254{path}", stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode or 0, out


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


async def test_guest_reads_its_metadata_through_the_proxy(
        compute: CloudClient, agent: MetadataAgent, namespaces: Namespaces,
        tmp_path: Path) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="md-net")
    key = ssh_public_key()
    await compute.call("POST", "/v2.1/os-keypairs", token=who.token, expect=200,
                       json={"keypair": {"name": "k1", "public_key": key}})
    r = await _boot(compute, who, [{"uuid": net["id"]}], name="vm1", key_name="k1")
    server = await wait_status(compute, who.token, r.json()["server"]["id"], "ACTIVE")
    r = await compute.on("network", "GET", "/v2.0/ports", params={"device_id": server["id"]},
                         expect=200)
    (port,) = r.json()["ports"]
    address = port["fixed_ips"][0]["ip_address"]
    assert address != "10.0.0.2"          # the proxy namespace's own leg
    namespaces.make(address)

    pid = await proxies.ensure_proxy(tmp_path, namespaces.proxy, network_id=net["id"],
                                     socket=agent.path)
    try:
        assert await proxies.ensure_proxy(tmp_path, namespaces.proxy, network_id=net["id"],
                                          socket=agent.path) == pid      # adopted, not twice
        assert proxies.running_proxies(tmp_path) == {net["id"]: pid}

        code, body = await wget(namespaces.guest, "/openstack/latest/meta_data.json")
        assert code == 0, body
        document = json.loads(body)
        assert document["uuid"] == server["id"]
        assert document["hostname"] == "vm1"
        assert document["public_keys"] == {"k1": key}
        code, body = await wget(namespaces.guest, "/latest/meta-data/local-ipv4")
        assert (code, body.decode()) == (0, address)
        # What a guest says of itself is dropped by the proxy: it still gets its own.
        code, body = await wget(namespaces.guest, "/latest/meta-data/instance-id",
                                "X-Forwarded-For: 10.0.0.99",
                                "X-Neutron-Network-ID: 00000000-0000-0000-0000-000000000000",
                                "X-Instance-ID: someone-else")
        assert (code, body.decode()) == (0, "i-" + server["id"].replace("-", "")[:8])

        print(f"metadata proxy RSS: {rss_kb(pid)} KiB")
        assert rss_kb(pid) < MAX_PROXY_RSS_KB

        assert await proxies.stop_proxy(tmp_path, net["id"])
        assert proxies.running_proxy(tmp_path, net["id"]) is None
        assert not proxies.pid_file(tmp_path, net["id"]).exists()
        assert not Path(f"/proc/{pid}").exists()
        assert not await proxies.stop_proxy(tmp_path, net["id"])      # gone: still fine
        code, _ = await wget(namespaces.guest, "/openstack/latest/meta_data.json")
        assert code != 0
    finally:
        await proxies.stop_proxy(tmp_path, net["id"])     # even when a check failed


async def test_an_address_no_port_holds_gets_404(compute: CloudClient, agent: MetadataAgent,
                                                 namespaces: Namespaces, tmp_path: Path
                                                 ) -> None:
    who = await _project(compute)
    net = await _net(compute, who.token, name="md-empty")
    namespaces.make("10.0.0.77")
    await proxies.ensure_proxy(tmp_path, namespaces.proxy, network_id=net["id"],
                               socket=agent.path)
    try:
        process = await asyncio.create_subprocess_exec(
            "ip", "netns", "exec", namespaces.guest, "busybox", "wget", "-S", "-q",
            "-O-", "http://169.254.169.254/openstack/latest/meta_data.json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode != 0
        assert b"404" in err
    finally:
        await proxies.stop_proxy(tmp_path, net["id"])


async def test_stale_pid_files_are_not_adopted(tmp_path: Path) -> None:
    owner = "0b5d7a4e-0000-4000-8000-000000000001"
    path = proxies.pid_file(tmp_path, owner)
    path.parent.mkdir(parents=True)
    path.write_text(f"{os.getpid()}\n")           # alive, but not a proxy
    assert proxies.running_proxy(tmp_path, owner) is None
    assert not path.exists()
    path.write_text("not a pid\n")
    assert proxies.running_proxies(tmp_path) == {}
    assert not await proxies.stop_proxy(tmp_path, owner)


async def test_a_proxy_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(proxies.ProxyError, match="did not start"):
        await proxies.ensure_proxy(tmp_path, "osm-no-such-namespace",
                                   network_id="0b5d7a4e-0000-4000-8000-000000000002",
                                   socket=tmp_path / "sock", timeout=5)
    assert proxies.running_proxies(tmp_path) == {}
    with pytest.raises(ValueError):
        proxies.proxy_command("bad ns", tmp_path / "sock", network_id="n1")
    with pytest.raises(ValueError):
        proxies.proxy_command("ns", tmp_path / "sock", network_id="n1", router_id="r1")
    with pytest.raises(ValueError):
        proxies.proxy_command("ns", tmp_path / "sock", network_id="n1;rm")


async def test_a_proxy_left_in_a_remade_namespace_is_replaced(tmp_path: Path) -> None:
    """Namespaces with no address at all: the proxy binds 169.254.169.254 regardless
    (IP_FREEBIND). The same network's proxy asked for in another namespace replaces the
    old one rather than adopting it."""
    names = [f"osm-re-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    owner = "0b5d7a4e-0000-4000-8000-000000000003"
    try:
        for name in names:
            ip("netns", "add", name)
        first = await proxies.ensure_proxy(tmp_path, names[0], network_id=owner,
                                           socket=tmp_path / "sock")
        second = await proxies.ensure_proxy(tmp_path, names[1], network_id=owner,
                                            socket=tmp_path / "sock")
        assert second != first
        assert not Path(f"/proc/{first}").exists()
        assert proxies.running_proxy(tmp_path, owner, names[1]) == second
        assert await proxies.stop_proxy(tmp_path, owner)
    finally:
        await proxies.stop_proxy(tmp_path, owner)
        for name in names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10,
                           check=False)


async def test_a_proxy_whose_pid_file_was_never_written_is_adopted_and_stopped(
        tmp_path: Path) -> None:
    """The agent killed between a proxy's start and its record: the next ensure adopts
    the running proxy (no second one), and a stop or a reset finds it."""
    name = f"osm-orphan-{uuid.uuid4().hex[:8]}"
    owner = "0b5d7a4e-0000-4000-8000-000000000004"
    try:
        ip("netns", "add", name)
        first = await proxies.ensure_proxy(tmp_path, name, network_id=owner)
        proxies.pid_file(tmp_path, owner).unlink()          # as if never written
        assert proxies.running_proxies(tmp_path) == {owner: first}
        again = await proxies.ensure_proxy(tmp_path, name, network_id=owner)
        assert again == first
        proxies.pid_file(tmp_path, owner).unlink()
        assert await proxies.stop_proxy(tmp_path, owner)
        assert not Path(f"/proc/{first}").exists() or not proxies.running_proxies(tmp_path)
        assert proxies.running_proxies(tmp_path) == {}
    finally:
        await proxies.stop_proxy(tmp_path, owner)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10,
                       check=False)
