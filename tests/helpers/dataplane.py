"""Real guests on real networks, for the end-to-end tests: the all-in-one cloud with the
QEMU driver under TCG and the Linux network driver, on a host-only external network of
the test's own, a tenant network behind a router, and SSH to guests as a user would.

Traffic stays on the machine: the external network is a bridge the test names (mapped to
``public``), under the forward guard and an unreachable route that the cloud sets up;
:func:`remove_host_side` takes them away after the cloud has stopped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from helpers.qemu_cloud import QemuCloud, wait_until
from ownstack.network.drivers.linux.host import guard_table

SSH_TIMEOUT = 120.0


def linux_cloud(tmp: Path, bridge: str, cidr: str) -> QemuCloud:
    """The cloud with the Linux network driver, ``public`` mapped to ``bridge`` (made by
    the cloud, host-only) with ``cidr``, and the network agent quick to report."""
    return QemuCloud(tmp, ("network.driver=linux", f"network.bridge_mappings=public:{bridge}",
                           f"network.public_cidr={cidr}", "network.report_interval=1",
                           "network.resync_interval=5"))


def remove_host_side(bridge: str, cidr: str) -> None:
    """The host-only bridge, its guard table and its unreachable route."""
    subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
    subprocess.run(["nft", "delete", "table", "inet", guard_table([bridge])],
                   capture_output=True, check=False)
    subprocess.run(["ip", "route", "del", "unreachable", cidr], capture_output=True,
                   check=False)


def keypair(env: QemuCloud, tmp: Path, name: str = "mykey") -> Path:
    """A new ed25519 key registered as keypair ``name``; the private key's path."""
    key = tmp / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True, timeout=30)
    env.cloud.osc("keypair", "create", "--public-key", f"{key}.pub", name)
    return key


def tenant_network(env: QemuCloud, network: str = "demo-net", subnet: str = "demo-subnet",
                   cidr: str = "10.0.0.0/24", router: str = "r1") -> None:
    """A network and subnet behind a router whose gateway is on ``public``, as a user
    makes them (README: a guest on a tenant network)."""
    cloud = env.cloud
    cloud.osc("network", "create", network)
    cloud.osc("subnet", "create", "--network", network, "--subnet-range", cidr, subnet)
    cloud.osc("router", "create", router)
    cloud.osc("router", "set", "--external-gateway", "public", router)
    cloud.osc("router", "add", "subnet", router, subnet)


def floating_ip(env: QemuCloud, server: str) -> str:
    """A new floating IP on ``public``, associated with ``server``; its address."""
    address = str(env.cloud.osc_json("floating", "ip", "create", "public")
                  ["floating_ip_address"])
    env.cloud.osc("server", "add", "floating", "ip", server, address)
    return address


def delete_everything(env: QemuCloud) -> None:
    """What a user would delete, in the order the API wants it, in every project."""
    cloud = env.cloud
    for server in cloud.osc_json("server", "list", "--all-projects"):
        cloud.osc("server", "delete", "--wait", server["ID"])
    for fip in cloud.osc_json("floating", "ip", "list"):
        cloud.osc("floating", "ip", "delete", fip["ID"])
    for router in cloud.osc_json("router", "list"):
        for port in cloud.osc_json("port", "list", "--router", router["ID"],
                                   "--device-owner", "network:router_interface"):
            for fixed in port["Fixed IP Addresses"]:
                cloud.osc("router", "remove", "subnet", router["ID"], fixed["subnet_id"])
        cloud.osc("router", "delete", router["ID"])
    for port in cloud.osc_json("port", "list", "--long"):
        if not port["Device Owner"]:
            cloud.osc("port", "delete", port["ID"])
    for network in cloud.osc_json("network", "list"):
        if network["Name"] != "public":
            cloud.osc("network", "delete", network["ID"])


def ssh(key: Path, address: str, *command: str, user: str = "root", jump: str | None = None,
        timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``command`` run over SSH as ``user`` (through ``jump``, as root there, if given)."""
    options = ["-i", str(key), "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
               "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
    argv = ["ssh", *options]
    if jump is not None:
        proxy = " ".join(["ssh", *options, "-W", "%h:%p", f"root@{jump}"])
        argv += ["-o", f"ProxyCommand={proxy}"]
    done = subprocess.run([*argv, f"{user}@{address}", *command], capture_output=True,
                          text=True, timeout=timeout, check=False)
    if check:
        assert done.returncode == 0, f"ssh {user}@{address} {command}: {done.stderr}"
    return done


def wait_ssh(key: Path, address: str, *, user: str = "root", jump: str | None = None,
             timeout: float = SSH_TIMEOUT) -> str:
    """The guest's hostname, once SSH to it works."""
    return wait_until(f"SSH as {user} on {address}", lambda: (
        done := ssh(key, address, "hostname", user=user, jump=jump, check=False, timeout=20)
    ).returncode == 0 and done.stdout.strip(), timeout)


def addresses(server: dict[str, Any]) -> dict[str, list[str]]:
    """A server's addresses by network, as `openstack server show` gives them."""
    found = server["addresses"]
    if isinstance(found, str):          # older clients: "net=10.0.0.5, 172.24.4.7"
        result: dict[str, list[str]] = {}
        for part in found.split(";"):
            name, _, values = part.strip().partition("=")
            result[name] = [v.strip() for v in values.split(",")]
        return result
    return {name: list(values) for name, values in found.items()}
