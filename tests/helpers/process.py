"""A real ownstack, started as ``ownstack up --foreground`` on free ports, and driven as a
user drives it: the ``openstack`` CLI (python-openstackclient), openstacksdk, raw HTTP.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from helpers.cli import run_openstack
from helpers.names import unique

SERVICE_PORT_OPTIONS = ("identity.port", "image.port", "placement.port", "compute.port",
                        "network.port", "metadata.port", "volume.port",
                        "console.novncproxy_port", "console.serialproxy_port")


def free_port(*, pair: bool = False, count: int = 1) -> int:
    """A free port on loopback such that the next ``count - 1`` ports are free too
    (``pair`` is ``count=2``).

    The ports come from below the kernel's ephemeral range. A port the kernel hands out
    (``bind(0)``) is in that range, and any outgoing connection on the machine may take it
    in the second between this check and the server binding it; CI once failed so."""
    count = max(count, 2 if pair else 1)
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(10_000, low - count)
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no {count} consecutive free ports below {low}")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def port_overrides(base: int) -> list[str]:
    """``--set`` values that put every service on consecutive ports from ``base``."""
    return [f"{option}={base + i}" for i, option in enumerate(SERVICE_PORT_OPTIONS)]


@dataclass
class Cloud:
    backend: str
    state_dir: Path
    port: int
    admin_password: str
    clouds_yaml: Path
    process: subprocess.Popen[bytes]
    log: Path
    extra_clouds: dict[str, dict[str, Any]] = field(default_factory=dict)
    database_url: str | None = None           # None: SQLite in the state directory

    @property
    def image_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 1}"

    @property
    def placement_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 2}"

    @property
    def compute_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 3}"

    @property
    def network_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 4}"

    @property
    def volume_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 6}"

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def add_cloud(self, name: str, username: str, password: str, project: str | None) -> str:
        """Register a clouds.yaml entry for a user, for `openstack --os-cloud name`."""
        auth: dict[str, Any] = {"auth_url": self.auth_url, "username": username,
                                "password": password, "user_domain_name": "Default"}
        if project:
            auth.update(project_name=project, project_domain_name="Default")
        self.extra_clouds[name] = {"auth": auth, "region_name": "RegionOne",
                                   "identity_api_version": 3}
        self._write_clouds_yaml()
        return name

    def add_oauth1_cloud(self, name: str, consumer: dict[str, str], access: dict[str, str]
                         ) -> str:
        """A clouds.yaml entry that authenticates with an OS-OAUTH1 access token
        (keystoneauth's ``v3oauth1``: the consumer signs each token request)."""
        self.extra_clouds[name] = {"auth_type": "v3oauth1", "auth": {
            "auth_url": self.auth_url, "consumer_key": consumer["id"],
            "consumer_secret": consumer["secret"], "access_key": access["key"],
            "access_secret": access["secret"]}, "region_name": "RegionOne",
            "identity_api_version": 3}
        self._write_clouds_yaml()
        return name

    def _write_clouds_yaml(self) -> None:
        clouds = {"ownstack-admin": {"auth": {
            "auth_url": self.auth_url, "username": "admin", "password": self.admin_password,
            "project_name": "admin", "user_domain_name": "Default",
            "project_domain_name": "Default"}, "region_name": "RegionOne",
            "identity_api_version": 3}, **self.extra_clouds}
        self.clouds_yaml.write_text(yaml.safe_dump({"clouds": clouds}))

    def osc(self, *args: str, cloud: str = "ownstack-admin", expect_ok: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real `openstack` CLI against this cloud."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        full_env.update({"OS_CLIENT_CONFIG_FILE": str(self.clouds_yaml), "OS_CLOUD": cloud,
                         **(env or {})})
        result = run_openstack(list(args), full_env, timeout=120)
        if expect_ok and result.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stderr}\n{result.stdout}")
        return result

    def osc_json(self, *args: str, cloud: str = "ownstack-admin") -> Any:
        return json.loads(self.osc(*args, "-f", "json", cloud=cloud).stdout)

    def sdk(self, cloud: str = "ownstack-admin") -> Any:
        import openstack

        os.environ["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        return openstack.connect(cloud=cloud)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def admin_token(self) -> str:
        with self.http() as client:
            r = client.post("/v3/auth/tokens", json={"auth": {"identity": {
                "methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"id": "default"},
                    "password": self.admin_password}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
            assert r.status_code == 201, r.text
            return r.headers["X-Subject-Token"]


def run_ownstack(state_dir: Path, settings: list[str], *args: str
                 ) -> subprocess.CompletedProcess[str]:
    """``ownstack --state-dir DIR --set S... ARGS`` as another machine's operator runs it
    (its HOME beside the state directory), its output kept."""
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(state_dir)]
    for item in settings:
        command += ["--set", item]
    env = {**os.environ, "HOME": str(state_dir.parent)}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)



@dataclass
class AgentHost:
    """Another machine's side of a multi-process test (an agent's host): its state
    directory and the settings its ``ownstack up`` gets."""

    state_dir: Path
    settings: list[str]

    def ownstack(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_ownstack(self.state_dir, self.settings, *args)

    def pid(self) -> int:
        return int((self.state_dir / "ownstack.pid").read_text())

def start_cloud(tmp: Path, backend: str, database_url: str | None,
                extra: tuple[str, ...] = ()) -> Cloud:
    port = free_port(count=len(SERVICE_PORT_OPTIONS))
    state_dir = tmp / "state"
    log = tmp / "ownstack.log"
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(state_dir),
               "--set", "identity.bcrypt_rounds=4"]
    if not any(item.startswith("compute.driver=") for item in extra):
        command += ["--set", "compute.driver=fake"]     # the control plane's tests
    if not any(item.startswith("network.driver=") for item in extra):
        command += ["--set", "network.driver=fake"]     # no host objects unless asked
    for item in port_overrides(port):
        command += ["--set", item]
    if database_url:
        command += ["--set", f"database.url={database_url}"]
    for item in extra:
        command += ["--set", item]
    command += ["up", "--foreground"]
    env = {**os.environ, "HOME": str(tmp)}
    with open(log, "ab") as handle:          # a cloud started again adds to its log
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ownstack exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v3", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError(f"ownstack did not become healthy:\n{log.read_text()}")
    password = (state_dir / "admin-password").read_text().strip()
    cloud = Cloud(backend=backend, state_dir=state_dir, port=port, admin_password=password,
                  clouds_yaml=tmp / "clouds.yaml", process=process, log=log,
                  database_url=database_url)
    cloud._write_clouds_yaml()
    return cloud


def stop_cloud(cloud: Cloud) -> None:
    cloud.process.send_signal(signal.SIGTERM)
    try:
        cloud.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cloud.process.kill()
        raise


def wait_until(what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _wait_for_url(url: str, ready: Callable[[int], bool], timeout: float) -> None:
    """The fixture waits for identity; the other servers in the same process may lag it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = httpx.get(url, timeout=1).status_code
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        else:
            if ready(status):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} still answers {status} after {timeout} s")
        time.sleep(0.1)


def wait_for_image_service(cloud: Cloud, timeout: float = 30.0) -> None:
    _wait_for_url(f"{cloud.image_url}/versions", lambda status: status < 500, timeout)


def wait_for_placement(cloud: Cloud, timeout: float = 30.0) -> None:
    _wait_for_url(f"{cloud.placement_url}/", lambda status: status == 200, timeout)


def wait_for_volume(cloud: Cloud, timeout: float = 30.0) -> None:
    """The volume API, and a volume service up (its agent registered; the API's own
    ``cinder-scheduler`` row is up as soon as the API is)."""
    _wait_for_url(f"{cloud.volume_url}/", lambda status: status == 300, timeout)
    token = cloud.admin_token()

    def service_up() -> bool:
        r = httpx.get(f"{cloud.volume_url}/v3/os-services?binary=cinder-volume",
                      headers={"X-Auth-Token": token}, timeout=5)
        return r.status_code == 200 and any(s["state"] == "up"
                                            for s in r.json()["services"])
    wait_until("a volume service", service_up, timeout)


def wait_for_compute(cloud: Cloud, timeout: float = 30.0) -> None:
    _wait_for_url(f"{cloud.compute_url}/v2.1", lambda status: status == 200, timeout)


def wait_for_network(cloud: Cloud, timeout: float = 30.0) -> None:
    _wait_for_url(f"{cloud.network_url}/", lambda status: status == 200, timeout)


def member_cloud(cloud: Cloud, prefix: str) -> tuple[str, str]:
    """A new project with a ``member`` user, as a clouds.yaml entry: (project id, cloud)."""
    conn = cloud.sdk()
    project = conn.identity.create_project(name=unique(prefix), domain_id="default")
    user = conn.identity.create_user(name=unique(f"{prefix}-user"), password="pw",
                                     default_project_id=project.id, domain_id="default")
    conn.identity.assign_project_role_to_user(project, user, conn.identity.find_role("member"))
    return project.id, cloud.add_cloud(unique(f"{prefix}-cloud"), user.name, "pw",
                                       project.name)


def make_image(cloud: Cloud, tmp_path: Path, *, cloud_name: str = "ownstack-admin",
               public: bool = True) -> str:
    name = unique("tiny")
    disk = tmp_path / f"{name}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True,
                   timeout=60)
    args = ["image", "create", "--disk-format", "qcow2", "--container-format", "bare",
            "--file", str(disk)]
    if public:
        args.append("--public")
    cloud.osc(*args, name, cloud=cloud_name)
    return name
