"""Volumes hot-plugged into real guests: the all-in-one cloud with the QEMU driver under TCG,
the file volume driver and the Linux network driver, driven through the `openstack` CLI as
the issue's user story goes, and looked at from inside the guests over SSH.

One cloud and two guests for the module (vm1 and vm2 on demo-net, each with a floating
IP): a volume attached to vm1 shows up as a disk whose serial is the volume id, vm1
writes to it, it is detached and attached to vm2, which reads the same bytes back; grown
while attached, vm2 sees the new size; it is still vm2's after a stop and a start. Last,
the cloud is SIGKILLed in the middle of an attach: after the restart the volume ends
attached (never ``attaching``) and QEMU holds exactly the volumes the server has.

Traffic stays on the machine: the external network is a host-only bridge of this module.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import dataplane
from helpers.qemu import tiny_image
from helpers.qemu_cloud import QemuCloud, stop_and_reap, wait_until

pytestmark = pytest.mark.functional

BRIDGE = "brv" + uuid.uuid4().hex[:8]
CIDR = "172.24.109.0/24"
DATA = "ownstack-volume-data-0123456789"
GIB = 1024 ** 3


@dataclass
class Guests:
    env: QemuCloud
    key: Path
    fips: dict[str, str]

    def sh(self, server: str, script: str, check: bool = True) -> str:
        return dataplane.ssh(self.key, self.fips[server], script, check=check,
                             timeout=60).stdout

    def disk(self, server: str, volume_id: str) -> str | None:
        """The guest's block device whose virtio serial is the volume's (``vdc``), if any."""
        found = self.sh(server, "for d in /sys/block/vd*; do "
                                f"[ \"$(cat $d/serial 2>/dev/null)\" = {volume_id[:20]} ] "
                                "&& echo ${d##*/}; done; true").strip()
        return found or None

    def wait_disk(self, server: str, volume_id: str, timeout: float = 60.0) -> str:
        return wait_until(f"volume {volume_id} in {server}",
                          lambda: self.disk(server, volume_id), timeout)

    def volume_status(self, volume: str) -> str:
        return str(self.env.cloud.osc_json("volume", "show", volume)["status"])

    def wait_volume(self, volume: str, status: str, timeout: float = 60.0) -> None:
        wait_until(f"{volume} {status}", lambda: self.volume_status(volume) == status,
                   timeout)


@pytest.fixture(scope="module")
def guests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guests]:
    image = tiny_image()
    tmp = tmp_path_factory.mktemp("volattach")
    env = dataplane.linux_cloud(tmp, BRIDGE, CIDR)
    try:
        env.ownstack("seed", "--image", str(image))
        key = dataplane.keypair(env, tmp)
        dataplane.tenant_network(env)
        for name in ("vm1", "vm2"):
            env.cloud.osc("server", "create", "--image", "ownstack-tiny", "--flavor",
                          "m1.nano", "--key-name", "mykey", "--network", "demo-net", name)
        wait_until("vm1 and vm2 ACTIVE",
                   lambda: all(env.status(name) == "ACTIVE" for name in ("vm1", "vm2")))
        fips = {name: dataplane.floating_ip(env, name) for name in ("vm1", "vm2")}
        g = Guests(env, key, fips)
        for name in ("vm1", "vm2"):
            dataplane.wait_ssh(key, fips[name])
        yield g
        for server in env.cloud.osc_json("server", "list"):
            env.cloud.osc("server", "delete", "--wait", server["ID"])
        for volume in env.cloud.osc_json("volume", "list"):
            g.wait_volume(volume["ID"], "available")     # its server's delete detached it
            env.cloud.osc("volume", "delete", volume["ID"])
        dataplane.delete_everything(env)
    finally:
        stop_and_reap(env.cloud)
        dataplane.remove_host_side(BRIDGE, CIDR)


def host_volumes(g: Guests, server: str) -> list[dict[str, Any]]:
    """The volumes QEMU has for ``server``, as ``ownstack show server`` reads its recipe."""
    document = json.loads(g.env.ownstack("show", "server", server, "--json").stdout)
    return list(document["host_objects"].get("volumes") or [])


def test_a_volume_moves_between_running_guests_with_its_data(guests: Guests) -> None:
    g, cloud = guests, guests.env.cloud
    volume = cloud.osc_json("volume", "create", "--size", "1", "data1")
    g.wait_volume("data1", "available")
    started = time.monotonic()
    cloud.osc("server", "add", "volume", "vm1", "data1")
    disk = g.wait_disk("vm1", volume["id"])
    seen_after = time.monotonic() - started
    g.wait_volume("data1", "in-use")
    assert f"/dev/{disk}" in g.sh("vm1", "ls /dev/vd*")
    g.sh("vm1", f"printf {DATA} | dd of=/dev/{disk} bs=512 conv=sync 2>/dev/null && sync")
    listed = cloud.osc_json("server", "volume", "list", "vm1")
    assert [(v["Volume ID"], v["Device"]) for v in listed] == [(volume["id"], "/dev/vdb")]
    shown = cloud.osc_json("server", "show", "vm1")
    assert volume["id"] in json.dumps(shown["volumes_attached"])
    [plugged] = host_volumes(g, "vm1")
    assert plugged["qmp_device"] == f"vol-{volume['id']}"
    assert plugged["format"] in ("qcow2", "raw") and Path(plugged["path"]).is_file()

    cloud.osc("server", "remove", "volume", "vm1", "data1")
    g.wait_volume("data1", "available")
    wait_until("the disk gone from vm1", lambda: g.disk("vm1", volume["id"]) is None, 60)
    assert host_volumes(g, "vm1") == []

    cloud.osc("server", "add", "volume", "vm2", "data1")
    disk = g.wait_disk("vm2", volume["id"])
    g.wait_volume("data1", "in-use")
    read = g.sh("vm2", f"dd if=/dev/{disk} bs={len(DATA)} count=1 2>/dev/null")
    assert read == DATA
    shown = json.loads(g.env.ownstack("show", "volume", "data1", "--json").stdout)
    assert shown["volume"]["status"] == "in-use"
    assert shown["file"]["format"] in ("qcow2", "raw") and shown["file"]["backing_file"] is None
    [where] = shown["attached_to"]
    vm2 = cloud.osc_json("server", "show", "vm2")["id"]
    assert (where["server_id"], where["guest"]["qmp_device"]) == (vm2, f"vol-{volume['id']}")
    assert where["guest"]["path"] == shown["file"]["path"]
    assert "volume data1" in g.env.ownstack("show", "volume", "data1").stdout
    print(f"\nattach to visible in the guest: {seen_after:.2f} s")


def test_an_attached_volume_grows_and_survives_a_stop_and_start(guests: Guests) -> None:
    g, cloud = guests, guests.env.cloud
    volume = cloud.osc_json("volume", "show", "data1")
    disk = g.wait_disk("vm2", volume["id"])
    cloud.osc("--os-volume-api-version", "3.42", "volume", "set", "--size", "2", "data1")
    wait_until("the guest sees 2 GiB", lambda: g.sh(
        "vm2", f"cat /sys/block/{disk}/size").strip() == str(2 * GIB // 512), 60)
    g.wait_volume("data1", "in-use")
    assert cloud.osc_json("volume", "show", "data1")["size"] == 2
    cloud.osc("server", "stop", "vm2")
    wait_until("vm2 SHUTOFF", lambda: g.env.status("vm2") == "SHUTOFF")
    cloud.osc("server", "start", "vm2")
    wait_until("vm2 ACTIVE", lambda: g.env.status("vm2") == "ACTIVE")
    dataplane.wait_ssh(g.key, g.fips["vm2"])
    disk = g.wait_disk("vm2", volume["id"])
    assert g.sh("vm2", f"dd if=/dev/{disk} bs={len(DATA)} count=1 2>/dev/null") == DATA
    assert g.sh("vm2", f"cat /sys/block/{disk}/size").strip() == str(2 * GIB // 512)


def test_a_cloud_killed_mid_attach_ends_attached_with_no_device_leaked(guests: Guests
                                                                       ) -> None:
    g, cloud = guests, guests.env.cloud
    volume = cloud.osc_json("volume", "create", "--size", "1", "data2")
    g.wait_volume("data2", "available")
    cloud.osc("server", "add", "volume", "vm1", "data2")
    g.env.kill()
    g.env.restart()
    g.wait_volume("data2", "in-use", timeout=120)
    listed = g.env.cloud.osc_json("server", "volume", "list", "vm1")
    assert [v["Volume ID"] for v in listed] == [volume["id"]]
    assert [v["volume_id"] for v in host_volumes(g, "vm1")] == [volume["id"]]
    g.wait_disk("vm1", volume["id"])
    volumes = {v["Name"]: v["Status"] for v in g.env.cloud.osc_json("volume", "list")}
    assert "attaching" not in volumes.values() and "reserved" not in volumes.values()
    g.env.cloud.osc("server", "remove", "volume", "vm1", "data2")
    g.wait_volume("data2", "available")
    assert host_volumes(g, "vm1") == []
