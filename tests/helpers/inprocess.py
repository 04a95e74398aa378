"""The services in process: each ASGI app (the same app that ``ownstack up`` serves) behind
an httpx client with no socket, on an initialised state directory.

:class:`IdentityClient` adds ways to make projects and users and get their tokens;
:class:`ServiceClient` is another service beside an identity app; :class:`CloudClient` is
the whole all-in-one cloud with its workers, as ``ownstack up`` starts them.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from helpers.names import unique
from ownstack.common.config import Config, load_config
from ownstack.common.statedir import prepare, read_admin_password
from ownstack.server import initialise, migrate_all

_schema_template: Path | None = None


async def _initialise(config: Config) -> None:
    """``ownstack.server.initialise`` on a database that starts as a copy of one migrated
    once per test process: every service's migrations take most of a second on SQLite,
    and thousands of tests each start from an empty database. The copy is at every
    schema's head, so ``initialise`` finds nothing to migrate and bootstraps identity as
    on any start; a database that exists already, or one that is not a SQLite file, is
    left to ``initialise`` as it is."""
    global _schema_template
    url = make_url(config.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        target = Path(url.database)
        if not target.exists():
            if _schema_template is None:
                where = Path(tempfile.mkdtemp(prefix="ownstack-schema-"))
                atexit.register(shutil.rmtree, where, True)
                await migrate_all(make_config(where))
                _schema_template = where / "ownstack.db"
            with closing(sqlite3.connect(_schema_template)) as source, \
                    closing(sqlite3.connect(target)) as copy:
                source.backup(copy)
    await initialise(config)


def make_config(state_dir: Path, *extra: str) -> Config:
    return load_config(state_dir, environ={}, overrides=[
        "identity.bcrypt_rounds=4", "identity.port=15999", "network.driver=fake",
        "volume.driver=fake", *extra])


@dataclass
class IdentityClient:
    http: httpx.AsyncClient
    config: Config
    admin_token: str
    app: Any

    async def token(self, username: str, password: str, *, project: str | None = None,
                    domain: str | None = None, system: bool = False,
                    expect: int = 201) -> str:
        auth: dict[str, Any] = {"identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"id": "default"}, "password": password}}}}
        if project:
            auth["scope"] = {"project": {"name": project, "domain": {"id": "default"}}}
        elif domain:
            auth["scope"] = {"domain": {"id": domain}}
        elif system:
            auth["scope"] = {"system": {"all": True}}
        r = await self.http.post("/v3/auth/tokens", json={"auth": auth})
        assert r.status_code == expect, r.text
        return r.headers.get("X-Subject-Token", "")

    def as_(self, token: str) -> dict[str, str]:
        return {"X-Auth-Token": token}

    async def call(self, method: str, path: str, *, token: str | None = None,
                   expect: int | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.admin_token, **kwargs.pop("headers", {})}
        r = await self.http.request(method, path, headers=headers, **kwargs)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    async def role_id(self, name: str) -> str:
        r = await self.call("GET", "/v3/roles", params={"name": name}, expect=200)
        return str(r.json()["roles"][0]["id"])

    async def make_project(self, name: str | None = None) -> dict[str, Any]:
        r = await self.call("POST", "/v3/projects", expect=201, json={"project": {
            "name": name or unique("project"), "domain_id": "default"}})
        return dict(r.json()["project"])

    async def make_user(self, *, project: dict[str, Any] | None = None, role: str = "member",
                        password: str = "secret-pw", name: str | None = None
                        ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name or unique("user"), "domain_id": "default",
                                "password": password}
        if project:
            body["default_project_id"] = project["id"]
        r = await self.call("POST", "/v3/users", expect=201, json={"user": body})
        user = dict(r.json()["user"])
        if project:
            await self.call("PUT", f"/v3/projects/{project['id']}/users/{user['id']}/roles/"
                            f"{await self.role_id(role)}", expect=204)
        return user


async def make_identity_client(config: Config) -> AsyncIterator[IdentityClient]:
    from ownstack.identity.app import make_app

    prepare(config)
    await _initialise(config)
    app = make_app(config)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://identity.test") as http:
        client = IdentityClient(http=http, config=config, admin_token="", app=app)
        client.admin_token = await client.token("admin", read_admin_password(config),
                                                project="admin")
        yield client
    await app.svc.engine.dispose()


@dataclass
class ServiceClient:
    """Another service's API in process, authenticated through the in-process identity app."""

    http: httpx.AsyncClient
    identity: IdentityClient
    app: Any

    async def call(self, method: str, path: str, *, token: str | None = None,
                   expect: int | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.identity.admin_token,
                   **kwargs.pop("headers", {})}
        r = await self.http.request(method, path, headers=headers, **kwargs)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    async def project_user_token(self, role: str = "member") -> tuple[dict[str, Any], str]:
        """A new project with a new user holding ``role`` on it, and that user's token."""
        project = await self.identity.make_project()
        user = await self.identity.make_user(project=project, role=role, password="pw")
        return project, await self.identity.token(user["name"], "pw", project=project["name"])


ImageClient = ServiceClient
PlacementClient = ServiceClient


async def make_service_client(config: Config, service: str) -> AsyncIterator[ServiceClient]:
    """``service``'s app (built by ownstack.roles) beside an in-process identity app."""
    from ownstack.common.peers import Peers
    from ownstack.roles import API_SERVICES

    spec = next(s for s in API_SERVICES if s.type == service)
    async for identity in make_identity_client(config):
        peers = Peers(config, apps={"identity": identity.app})
        app = spec.make_app(config, peers)
        for hook in app.on_startup:
            await hook()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport,
                                     base_url=f"http://{service}.test") as http:
            yield ServiceClient(http=http, identity=identity, app=app)
        for hook in app.on_shutdown:
            await hook()
        await peers.aclose()


async def make_image_client(config: Config) -> AsyncIterator[ServiceClient]:
    async for client in make_service_client(config, "image"):
        yield client


@dataclass
class CloudClient(ServiceClient):
    """The compute API in process with everything it needs beside it: identity, image and
    placement apps, the in-process bus, and the workers ``roles`` names (the conductor and
    fake compute agents, by default)."""

    apps: dict[str, Any]
    clients: dict[str, httpx.AsyncClient]
    workers: dict[str, Any]
    peers: Any

    @property
    def svc(self) -> Any:
        return self.app.svc

    @property
    def conductor(self) -> Any:
        return self.workers["conductor"]

    @property
    def agents(self) -> Any:
        return self.workers["compute"]

    async def start_worker(self, name: str) -> Any:
        """Start worker role ``name`` again (after a test stopped it: a killed agent)."""
        from ownstack.roles import WORKERS

        role = next(w for w in WORKERS if w.name == name)
        self.workers[name] = await role.start(self.peers)
        return self.workers[name]

    async def on(self, service: str, method: str, path: str, *, token: str | None = None,
                 expect: int | None = None, **kwargs: Any) -> httpx.Response:
        """A request to another service of the same cloud (``"image"``, ``"placement"``)."""
        headers = {"X-Auth-Token": token or self.identity.admin_token,
                   **kwargs.pop("headers", {})}
        r = await self.clients[service].request(method, path, headers=headers, **kwargs)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r


async def make_cloud(config: Config) -> AsyncIterator[CloudClient]:
    """Every service of the all-in-one cloud in process, and the workers ``roles`` names,
    started as ``ownstack up`` starts them (ownstack.roles)."""
    from ownstack.common.peers import Peers
    from ownstack.roles import API_SERVICES, select

    async for identity in make_identity_client(config):
        peers = Peers(config, apps={"identity": identity.app})
        apps: dict[str, Any] = {}
        for spec in API_SERVICES:
            if spec.type != "identity":
                apps[spec.type] = peers.apps[spec.type] = spec.make_app(config, peers)
        for app in apps.values():
            for hook in app.on_startup:
                await hook()
        workers: dict[str, Any] = {}
        clients = {name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                           base_url=f"http://{name}.test")
                   for name, app in apps.items()}
        try:
            for role in select(config).workers:
                workers[role.name] = await role.start(peers)
            yield CloudClient(http=clients["compute"], identity=identity,
                              app=apps["compute"], apps=apps, clients=clients,
                              workers=workers, peers=peers)
        finally:
            for worker in reversed(list(workers.values())):
                await worker.stop()
            for client in clients.values():
                await client.aclose()
            for app in reversed(list(apps.values())):
                for hook in app.on_shutdown:
                    await hook()
            await peers.aclose()


def cloud_config(tmp_path: Path, *extra: str) -> Config:
    return make_config(tmp_path, "image.port=15998", "compute.report_interval=0.2",
                       "compute.host=test-node", "compute.driver=fake",
                       "network.quota.rbac_policy=-1", *extra)



async def quiet_cloud(tmp_path: Path, *extra: str) -> AsyncIterator[CloudClient]:
    """The whole cloud with no conductor and no agents (``roles=api``): nothing registers
    or acts on servers by itself, so every test controls what exists."""
    async for cloud in make_cloud(cloud_config(tmp_path, "roles=api", *extra)):
        yield cloud
