"""Nova's metadata service (port ``metadata.port``, 8775): what a guest reads at
169.254.169.254, reached only through the network side's proxy and metadata agent.

The agent tells which instance asks, as Neutron's tells Nova: ``X-Instance-ID``,
``X-Tenant-ID`` and ``X-Instance-ID-Signature``, the hex HMAC-SHA256 of the instance id
under the shared secret (``metadata.proxy_shared_secret``); ``X-Forwarded-For`` is the
guest's address, for the log. As in Nova's ``handler.py``: a missing or repeated header is
a 400, a signature that does not match a 403, an unknown instance (or one of another
project than ``X-Tenant-ID``) a 404, a path with nothing there a 404. The answers are
plain text, as Nova's are.

The documents are built from the instance row and its ports as the network service has
them (:func:`instance_metadata`), with the same builders as the config drive
(:mod:`.documents`, through :mod:`.tree`). ``password`` is the one path a guest writes:
a POST stores it once (a second one is a 409, more than 256 bytes a 400, as in Nova).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import Any, Final

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ownstack.common.api.app import serve_lifespan
from ownstack.common.clients.network import NetworkClient, NetworkClientError
from ownstack.common.config import Config
from ownstack.common.metadata_signature import signature_matches
from ownstack.common.peers import Peers
from ownstack.common.service import ServiceState
from ownstack.common.statedir import read_metadata_secret
from ownstack.compute import netinfo
from ownstack.compute.metadata.instance import InstanceMetadata, nics_of
from ownstack.compute.metadata.tree import Document, InvalidPath, PasswordSlot, resolve
from ownstack.compute.objects import guest_metadata
from ownstack.compute.objects.guest_metadata import GuestRow

log = logging.getLogger(__name__)

MAX_PASSWORD_SIZE: Final = 256           # Nova's password.MAX_SIZE
INSTANCE_ID: Final = "X-Instance-ID"
TENANT_ID: Final = "X-Tenant-ID"
SIGNATURE: Final = "X-Instance-ID-Signature"
FORWARDED_FOR: Final = "X-Forwarded-For"


class MetadataError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


_REASONS: Final = {400: "Bad Request", 403: "Forbidden", 404: "Not Found",
                   405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error",
                   503: "Service Unavailable"}


def _error(exc: MetadataError) -> Response:
    reason = _REASONS.get(exc.status, "Error")
    headers = {"Allow": "GET, HEAD, POST"} if exc.status == 405 else None
    return Response(f"{exc.status} {reason}\n\n{exc.message}\n", exc.status,
                    media_type="text/plain", headers=headers)


class _Cache:
    """What was read of each instance, kept ``ttl`` seconds (Nova's metadata cache)."""

    MAX_ENTRIES: Final = 10000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, GuestRow, InstanceMetadata]] = {}

    def get(self, uuid: str) -> tuple[GuestRow, InstanceMetadata] | None:
        entry = self._entries.get(uuid)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1], entry[2]

    def put(self, uuid: str, row: GuestRow, md: InstanceMetadata) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic()
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
        self._entries[uuid] = (now + self.ttl, row, md)

    def forget(self, uuid: str) -> None:
        self._entries.pop(uuid, None)


class MetadataState(ServiceState):
    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None
                 ) -> None:
        super().__init__(config, {}, engine)
        self.peers = peers
        self.secret = read_metadata_secret(config)
        self._network: NetworkClient | None = None
        self.cache = _Cache(config.metadata.cache_expiration)

    @property
    def network(self) -> NetworkClient:
        """The network service as the services' user, made on first use (in one process
        the network app may be built after this one)."""
        if self._network is None:
            self._network = NetworkClient(
                self.peers.url("network"), self.peers.service_auth(),
                transport=self.peers.transport("network", between_services=True))
        return self._network

    async def stop(self) -> None:
        if self._network is not None:
            await self._network.aclose()
        await super().stop()


def _one(request: Request, name: str) -> str:
    values = request.headers.getlist(name.lower())
    if not values:
        raise MetadataError(400, f"{name} header is missing from request.")
    if len(values) > 1:
        raise MetadataError(400, f"Multiple {name} headers found within request.")
    return values[0]


def _authenticate(request: Request, secret: str) -> tuple[str, str]:
    """The instance and project the signed headers name; 400 or 403 as Nova."""
    instance_id = _one(request, INSTANCE_ID)
    signature = _one(request, SIGNATURE)
    tenant_id = _one(request, TENANT_ID)
    if not signature_matches(secret, instance_id, signature):
        log.warning("metadata request for %s from %s with a bad signature", instance_id,
                    request.headers.get(FORWARDED_FOR, "?"))
        raise MetadataError(403, "Invalid proxy request signature.")
    return instance_id, tenant_id


def _user_data(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None         # the API refuses what is not base64; an old row, no data


async def instance_metadata(network: NetworkClient, row: GuestRow) -> InstanceMetadata:
    """The instance's metadata input from its row and its ports, in the order of the
    server's network info cache (ports it does not list yet come last)."""
    instance = row.instance
    ports = await network.list_ports(device_id=instance.uuid)
    order = {str(vif["id"]): index for index, vif in enumerate(instance.network_info or ())}
    ports.sort(key=lambda port: (order.get(str(port["id"]), len(order)), str(port["id"])))
    subnet_ids = sorted({str(ip["subnet_id"]) for port in ports
                         for ip in port.get("fixed_ips") or ()})
    network_ids = sorted({str(port["network_id"]) for port in ports})
    subnets: dict[str, dict[str, Any]] = {}
    networks: dict[str, dict[str, Any]] = {}
    floating: list[dict[str, Any]] = []
    if ports:
        subnets = {str(s["id"]): s for s in await network.list_subnets(id=subnet_ids)}
        networks = {str(n["id"]): n for n in await network.list_networks(id=network_ids)}
        floating = await network.list_floating_ips(port_id=[str(p["id"]) for p in ports])
    groups = instance.security_groups
    flavor = instance.flavor or {}
    return InstanceMetadata(
        uuid=instance.uuid, name=instance.display_name, hostname=instance.hostname,
        project_id=instance.project_id, availability_zone=instance.availability_zone or "",
        launch_index=instance.launch_index, key_name=instance.key_name,
        key_data=instance.key_data, user_data=_user_data(instance.user_data),
        metadata=row.metadata, nics=nics_of(ports, subnets, networks, floating),
        addresses_known=True, image_id=instance.image_ref or None,
        instance_type=flavor.get("name") or None, reservation_id=instance.reservation_id,
        security_groups=tuple(g["name"] for g in netinfo.security_group_names(groups)))


class MetadataApp:
    """The metadata service's ASGI app; started and stopped with its state."""

    def __init__(self, config: Config, peers: Peers, engine: AsyncEngine | None = None
                 ) -> None:
        self.svc = MetadataState(config, peers, engine)
        self.on_startup = [self.svc.start]
        self.on_shutdown = [self.svc.stop]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
        except MetadataError as exc:
            response = _error(exc)
        except Exception:
            log.exception("metadata request %s failed", request.url.path)
            response = _error(MetadataError(500, "An unknown error has occurred."))
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD", "POST"):
            raise MetadataError(405, f"The method {request.method} is not allowed.")
        instance_id, tenant_id = _authenticate(request, self.svc.secret)
        row, md = await self._instance(instance_id)
        if row.instance.project_id != tenant_id:
            raise MetadataError(404, "The instance could not be found.")
        try:
            found = resolve(md, request.url.path)
        except InvalidPath:
            raise MetadataError(404, "The resource could not be found.") from None
        if isinstance(found, PasswordSlot):
            return await self._password(request, row)
        if request.method == "POST":
            raise MetadataError(405, "The method POST is not allowed for this resource.")
        return _document(found)

    async def _instance(self, instance_id: str) -> tuple[GuestRow, InstanceMetadata]:
        cached = self.svc.cache.get(instance_id)
        if cached is not None:
            return cached
        async with self.svc.read() as db:
            row = await guest_metadata.load(db, instance_id)
        if row is None:
            raise MetadataError(404, "The instance could not be found.")
        try:
            md = await instance_metadata(self.svc.network, row)
        except (NetworkClientError, httpx.HTTPError) as exc:
            log.error("metadata for %s: the network service failed: %s", instance_id, exc)
            raise MetadataError(503, "The network service did not answer.") from None
        self.svc.cache.put(instance_id, row, md)
        return row, md

    async def _password(self, request: Request, row: GuestRow) -> Response:
        if request.method != "POST":
            return Response(row.instance.password or "", media_type="text/plain")
        if row.instance.password:
            raise MetadataError(409, "The password is already set.")
        declared = request.headers.get("content-length", "0")
        if not declared.isdigit() or int(declared) > MAX_PASSWORD_SIZE:
            raise MetadataError(400, "Request is too large.")
        body = await request.body()
        if len(body) > MAX_PASSWORD_SIZE:
            raise MetadataError(400, "Request is too large.")
        try:
            password = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MetadataError(400, "The password is not UTF-8 text.") from None
        async with self.svc.write() as db:
            stored = await guest_metadata.set_password_once(db, row.instance.uuid, password)
        self.svc.cache.forget(row.instance.uuid)        # the next GET reads it back
        if not stored:
            raise MetadataError(409, "The password is already set.")
        return Response(b"", media_type="text/plain")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await serve_lifespan(receive, send, self.on_startup, self.on_shutdown, log)


def _document(found: Document) -> Response:
    return Response(found.body, media_type=found.content_type)


def make_app(config: Config, peers: Peers, engine: AsyncEngine | None = None) -> MetadataApp:
    return MetadataApp(config, peers, engine)
