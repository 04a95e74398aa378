"""Debian's own cloud-init against ownstack's metadata service: a client ownstack did not
write, in a guest built from Debian's packages (``tools/build-cloud-init-image``).

The guest boots on a tenant network behind a router, with a keypair and no config drive,
so cloud-init's OpenStack data source can only read the metadata service at
169.254.169.254 (through the router's redirect and the metadata proxy). It must take the
server's name as the hostname and the keypair for its default user, ``debian``, and SSH to
the floating IP then works as a user would use it.

One cloud and one guest for the module; the external network is a host-only bridge of
this module's (see :mod:`helpers.dataplane`). Under TCG the guest takes about a minute
from its start to cloud-init's last stage; the limits below leave room for a busy machine.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import dataplane
from helpers.qemu import cloud_init_image
from helpers.qemu_cloud import QemuCloud, stop_and_reap, wait_until

pytestmark = pytest.mark.functional

BRIDGE = "brx" + uuid.uuid4().hex[:8]          # this module's br-ex
CIDR = "172.24.105.0/24"
IMAGE = "debian-cloud-init"
NAME = "deb-ci-1"
USER = "debian"                                # Debian's cloud.cfg: the default user
CLOUD_INIT_TIMEOUT = 600.0                     # ACTIVE to cloud-init's final stage
FINISHED = re.compile(r"Cloud-init v\. (\S+) finished at .*Datasource (\S+)")


@dataclass
class Guest:
    env: QemuCloud
    key: Path
    server: dict[str, Any]
    fip: str
    console: str

    def ssh(self, *command: str) -> str:
        return dataplane.ssh(self.key, self.fip, *command, user=USER).stdout


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    image = cloud_init_image()
    tmp = tmp_path_factory.mktemp("cloud-init")
    env = dataplane.linux_cloud(tmp, BRIDGE, CIDR)
    try:
        env.ownstack("seed")                   # the flavors, `public`, SSH in the default group
        cloud = env.cloud
        cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", str(image), IMAGE)
        key = dataplane.keypair(env, tmp)
        dataplane.tenant_network(env)
        cloud.osc("server", "create", "--image", IMAGE, "--flavor", "m1.tiny", "--key-name",
                  "mykey", "--network", "demo-net", NAME)
        server = wait_until(f"{NAME} ACTIVE", lambda: env.status(NAME) == "ACTIVE" and
                            cloud.osc_json("server", "show", NAME))
        fip = dataplane.floating_ip(env, NAME)
        console = wait_until("cloud-init's final stage on the console", lambda: (
            out := env.console(NAME)) and FINISHED.search(out) and out, CLOUD_INIT_TIMEOUT)
        (tmp / "console.log").write_text(console)     # to read after a failure
        dataplane.wait_ssh(key, fip, user=USER)
        yield Guest(env, key, server, fip, console)
        dataplane.delete_everything(env)
    finally:
        stop_and_reap(env.cloud)
        dataplane.remove_host_side(BRIDGE, CIDR)


def test_cloud_init_found_the_openstack_metadata_service_without_a_config_drive(
        guest: Guest) -> None:
    assert not guest.server["config_drive"]
    finished = FINISHED.search(guest.console)
    assert finished is not None
    # The local stage found OpenStack by the DMI product name and asked the metadata
    # service over a DHCP lease of its own (DataSourceOpenStackLocal).
    assert finished.group(2).startswith("DataSourceOpenStack"), finished.group(0)
    assert "running 'init-local'" in guest.console
    result = json.loads(guest.ssh("cat", "/run/cloud-init/result.json"))["v1"]
    assert result["errors"] == [] and result["datasource"].startswith("DataSourceOpenStack")
    # ...through the metadata service, with the server's own id, and nothing in what it
    # read made cloud-init warn.
    log = guest.ssh("sudo", "cat", "/var/log/cloud-init.log")
    for document in ("meta_data.json", "network_data.json", "vendor_data2.json"):
        assert re.search(rf"Read from http://169\.254\.169\.254/openstack/[-\w]+/{document} "
                         r"\(200,", log), document
    assert [line for line in log.splitlines() if "[WARNING]" in line] == []
    assert guest.ssh("cat", "/var/lib/cloud/data/instance-id").strip() == guest.server["id"]


def test_ssh_to_the_floating_ip_as_the_default_user_runs_hostname(guest: Guest) -> None:
    assert dataplane.wait_ssh(guest.key, guest.fip, user=USER) == NAME
    assert guest.ssh("hostname").strip() == NAME
    # cloud-init set it from the metadata, so it stays across boots of this instance.
    assert guest.ssh("cat", "/etc/hostname").strip() == NAME


def test_the_network_is_as_network_data_json_describes_it(guest: Guest) -> None:
    """cloud-init rendered network_data.json for systemd-networkd: DHCP on the port's
    NIC, which gets the port's address, and the network's MTU (1450 on VXLAN)."""
    cloud = guest.env.cloud
    addresses = dataplane.addresses(cloud.osc_json("server", "show", NAME))["demo-net"]
    fixed = next(address for address in addresses if address != guest.fip)
    shown = guest.ssh("ip", "-4", "-o", "addr", "show", "scope", "global")
    line = next((line for line in shown.splitlines() if f"inet {fixed}/24" in line), None)
    assert line is not None, (fixed, shown)
    nic = line.split()[1]
    mtu = cloud.osc_json("network", "show", "demo-net")["mtu"]
    assert int(guest.ssh("cat", f"/sys/class/net/{nic}/mtu")) == mtu
