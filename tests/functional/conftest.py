"""A real ownstack, started as `ownstack up --foreground` on free ports, once per database.

The functional suite drives it over real HTTP with the real clients: the `openstack` CLI
(python-openstackclient) and openstacksdk. ``OWNSTACK_TEST_DATABASES`` lists the backends
(``sqlite``, ``postgresql``, ``mariadb``, comma-separated; default ``sqlite``); each gets a
fresh database and its own server, and every functional test runs against each.
PostgreSQL and MariaDB are expected on 127.0.0.1 with the CI machine's credentials; a
backend that was asked for and cannot be reached fails the run, it is never skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

PG_ADMIN_URL = os.environ.get("OWNSTACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIADB_HOST = os.environ.get("OWNSTACK_TEST_MARIADB_HOST", "127.0.0.1")
OPENSTACK = str(Path(sys.executable).parent / "openstack")


def free_port(*, pair: bool = False) -> int:
    """A free port on loopback; with ``pair``, the next port is free too."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not pair:
            return port
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port
    raise RuntimeError("no free pair of ports")


def _backends() -> list[str]:
    return [b.strip() for b in os.environ.get("OWNSTACK_TEST_DATABASES", "sqlite").split(",")
            if b.strip()]


async def _create_database(backend: str, name: str) -> str:
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") \
            + f"/{name}"
    if backend == "mariadb":
        import aiomysql

        conn = await aiomysql.connect(host=MARIADB_HOST, user="root", password="")
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()
        return f"mysql+aiomysql://root@{MARIADB_HOST}/{name}?charset=utf8mb4"
    raise ValueError(f"unknown test database backend {backend!r}")


async def _drop_database(backend: str, name: str) -> None:
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    elif backend == "mariadb":
        import aiomysql

        conn = await aiomysql.connect(host=MARIADB_HOST, user="root", password="")
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()


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

    @property
    def image_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 1}"

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
        result = subprocess.run([OPENSTACK, *args], capture_output=True, text=True,
                                env=full_env, timeout=120, check=False)
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


def start_cloud(tmp: Path, backend: str, database_url: str | None,
                extra: tuple[str, ...] = ()) -> Cloud:
    port = free_port(pair=True)
    state_dir = tmp / "state"
    log = tmp / "ownstack.log"
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(state_dir),
               "--set", f"identity.port={port}", "--set", f"image.port={port + 1}",
               "--set", "identity.bcrypt_rounds=4"]
    if database_url:
        command += ["--set", f"database.url={database_url}"]
    for item in extra:
        command += ["--set", item]
    command += ["up", "--foreground"]
    env = {**os.environ, "HOME": str(tmp)}
    with open(log, "wb") as handle:
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
                  clouds_yaml=tmp / "clouds.yaml", process=process, log=log)
    cloud._write_clouds_yaml()
    return cloud


def stop_cloud(cloud: Cloud) -> None:
    cloud.process.send_signal(signal.SIGTERM)
    try:
        cloud.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        cloud.process.kill()
        raise


@pytest.fixture(scope="session", params=_backends())
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Cloud]:
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"cloud-{backend}")
    db_name = f"ownstack_test_{uuid.uuid4().hex[:12]}"
    url = None if backend == "sqlite" else asyncio.run(_create_database(backend, db_name))
    cloud = start_cloud(tmp, backend, url)
    try:
        yield cloud
    finally:
        stop_cloud(cloud)
        if backend != "sqlite":
            asyncio.run(_drop_database(backend, db_name))
    # Any unhandled error in the server is a 500 somewhere: fail the run and show it.
    log_text = cloud.log.read_text()
    assert "Traceback" not in log_text, log_text[-20000:]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
