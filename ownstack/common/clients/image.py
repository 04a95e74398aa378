"""How other services use images: fetch one into a local cache, or store a snapshot.

:class:`ImageClient` speaks the Glance v2 API over HTTP, with the same code in the
all-in-one process (through an in-process ASGI transport, no socket) and across machines.
Every call asks ``token_provider`` for a token (it is the provider's job to cache one).

The data path streams both ways and never holds an image in memory:

* :meth:`ImageClient.download` writes to ``<dest>.part``, checks the size and the hash the
  image service recorded (``os_hash_value``, sha512; ``checksum``, md5, for images without
  one), then renames the file to ``dest``. On any failure nothing is left behind: no part
  file, no ``dest``. Callers serialise downloads to the same ``dest`` (one part file).
* :meth:`ImageClient.upload` sends the file as the request body, read a chunk at a time,
  hashing as it goes, and checks the hash the image service computed against its own.

Hashing and disk I/O run in worker threads, a chunk at a time, never on the event loop.

``httpx.ASGITransport`` (the in-process transport) buffers whole request and response
bodies: it is fine for metadata and small images, but give the client a real URL
(``http://host:9292``) for big transfers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

import httpx

from ownstack.common.clients.base import TokenClient

CHUNK_SIZE = 1024 * 1024       # file reads, for uploads
WRITE_BATCH = 4 * 1024 * 1024  # bytes received before one round of hashing and writing

# Glance's own image attributes; anything else in an image body is a free-form property.
CORE_FIELDS = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "disk_format",
    "container_format", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
    "min_disk", "min_ram", "tags", "created_at", "updated_at", "self", "file", "schema",
    "locations", "direct_url", "stores"})


_PAGE_MAX = 1000          # Glance's api_limit_max
_JSON_PATCH = "application/openstack-images-v2.1-json-patch"


class ImageClientError(Exception):
    """The image service refused a request, or could not be reached (``status`` is None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ImageNotFound(ImageClientError):
    """No such image, or the caller may not see it (Glance answers 404 for both)."""


class ImageDataMismatch(ImageClientError):
    """The bytes transferred are not the image's: wrong size or wrong hash."""


@dataclass(frozen=True)
class ImageInfo:
    """What another service needs to know about an image."""

    id: str
    name: str | None
    status: str
    disk_format: str | None
    container_format: str | None
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    min_disk: int
    min_ram: int
    owner: str | None
    visibility: str
    properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    created_at: str | None = None       # as Glance writes it: 2026-11-24T01:02:03Z
    updated_at: str | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ImageInfo:
        """From a Glance v2 image body (extra properties flattened at its top level)."""
        return cls(
            id=str(body["id"]), name=body.get("name"), status=str(body.get("status")),
            disk_format=body.get("disk_format"), container_format=body.get("container_format"),
            size=body.get("size"), virtual_size=body.get("virtual_size"),
            checksum=body.get("checksum"), os_hash_algo=body.get("os_hash_algo"),
            os_hash_value=body.get("os_hash_value"), min_disk=int(body.get("min_disk") or 0),
            min_ram=int(body.get("min_ram") or 0), owner=body.get("owner"),
            visibility=str(body.get("visibility")),
            properties=MappingProxyType(
                {k: v for k, v in body.items() if k not in CORE_FIELDS}),
            created_at=body.get("created_at"), updated_at=body.get("updated_at"))


class ImageClient(TokenClient):
    """Image v2 as another service uses it, with the token ``token_provider`` gives
    (the HTTP client and the token: :class:`~ownstack.common.clients.base.TokenClient`)."""

    def __init__(self, base_url: str, token_provider: Callable[[], Awaitable[str]],
                 transport: httpx.AsyncBaseTransport | None = None, *,
                 timeout: float = 60.0, http: httpx.AsyncClient | None = None) -> None:
        super().__init__(base_url, token_provider, transport, timeout=timeout, http=http)

    @classmethod
    def shared(cls, http: httpx.AsyncClient, token: str) -> ImageClient:
        """A client acting as one caller (``token``) over a shared HTTP client."""
        async def caller_token() -> str:
            return token
        return cls(str(http.base_url), caller_token, http=http)

    async def get(self, image_id: str) -> ImageInfo:
        r = await self._request("GET", f"/v2/images/{image_id}", image_id=image_id)
        return ImageInfo.from_body(r.json())

    async def create(self, name: str, disk_format: str, container_format: str,
                     visibility: str = "private", properties: Mapping[str, str] | None = None,
                     *, min_disk: int = 0, min_ram: int = 0, protected: bool = False
                     ) -> ImageInfo:
        """A new image, ``queued`` until :meth:`upload` gives it data."""
        body: dict[str, Any] = {
            **(properties or {}), "name": name, "disk_format": disk_format,
            "container_format": container_format, "visibility": visibility,
            "min_disk": min_disk, "min_ram": min_ram}
        if protected:
            body["protected"] = True
        r = await self._request("POST", "/v2/images", json=body)
        return ImageInfo.from_body(r.json())

    async def delete(self, image_id: str) -> None:
        await self._request("DELETE", f"/v2/images/{image_id}", image_id=image_id)

    async def list_images(self, params: Mapping[str, str], *, limit: int,
                          page_size: int | None = None
                          ) -> list[ImageInfo]:
        """Up to ``limit`` images the caller sees, filtered and paged by Glance's query
        ``params`` (``marker`` among them), in Glance's order; the service's pages (of
        ``page_size``, or as many as it gives) are followed through their ``next`` links."""
        found: list[ImageInfo] = []
        query = {k: v for k, v in params.items() if k not in ("limit", "marker")}
        marker = params.get("marker")
        while len(found) < limit:
            page = {**query, "limit": str(min(limit - len(found), page_size or limit,
                                              _PAGE_MAX))}
            if marker is not None:
                page["marker"] = marker
            body = (await self._request("GET", "/v2/images", params=page)).json()
            images = [ImageInfo.from_body(item) for item in body.get("images") or ()]
            found += images
            if not images or not body.get("next"):
                break
            marker = images[-1].id
        return found[:limit]

    async def update(self, image_id: str, changes: list[dict[str, Any]]) -> ImageInfo:
        """Apply JSON-patch ``changes`` (Glance's ``add``, ``replace``, ``remove`` of
        ``/<attribute>``) to the image."""
        r = await self._request("PATCH", f"/v2/images/{image_id}", image_id=image_id,
                                json=changes, headers={"Content-Type": _JSON_PATCH})
        return ImageInfo.from_body(r.json())

    async def upload(self, image_id: str, src: Path) -> ImageInfo:
        """Stream ``src`` as the image's data; the image is ``active`` on return.

        Raises :class:`ImageDataMismatch` if the image service recorded another size or
        hash than the bytes sent (the image is then left as the service left it).
        """
        hasher = _Hasher("sha512")
        handle = await asyncio.to_thread(open, src, "rb")
        try:
            # A declared length (not chunked): the service checks it, and quotas see it.
            size = os.fstat(handle.fileno()).st_size
            await self._request(
                "PUT", f"/v2/images/{image_id}/file", image_id=image_id,
                content=_read_chunks(handle, hasher),
                headers={"Content-Type": "application/octet-stream",
                         "Content-Length": str(size)})
        finally:
            handle.close()
        info = await self.get(image_id)
        if info.size != hasher.size or (info.os_hash_algo == "sha512"
                                        and info.os_hash_value != hasher.hexdigest()):
            raise ImageDataMismatch(
                f"Image {image_id} was stored with size {info.size} and hash "
                f"{info.os_hash_value}; {hasher.size} bytes with sha512 "
                f"{hasher.hexdigest()} were sent.")
        return info

    async def download(self, image_id: str, dest: Path, *, fsync: bool = True) -> ImageInfo:
        """Fetch the image's data into ``dest``, verified, or raise and leave nothing.

        The data goes to ``<dest>.part`` and is renamed to ``dest`` (atomically, on the
        same file system) only once its size and hash match what the image service
        recorded. With ``fsync`` (the default) the data is on disk before the rename, so
        a crash never leaves a ``dest`` with holes in it.
        """
        info = await self.get(image_id)
        expected_hash, algorithm = _expected_hash(info)
        part = dest.with_name(dest.name + ".part")
        sink = await asyncio.to_thread(_Sink.open, part, algorithm)
        try:
            await self._fetch(image_id, sink)
            await asyncio.to_thread(sink.finish, fsync)
            if info.size is not None and sink.hasher.size != info.size:
                raise ImageDataMismatch(
                    f"Image {image_id}: received {sink.hasher.size} bytes, expected "
                    f"{info.size}.")
            if expected_hash is not None and sink.hasher.hexdigest() != expected_hash:
                raise ImageDataMismatch(
                    f"Image {image_id}: the data received has {algorithm} "
                    f"{sink.hasher.hexdigest()}, expected {expected_hash}.")
            await asyncio.to_thread(os.replace, part, dest)
        except BaseException:
            await asyncio.to_thread(sink.discard)
            raise
        return info

    async def _fetch(self, image_id: str, sink: _Sink) -> None:
        headers = {"X-Auth-Token": await self._token_provider()}
        try:
            async with self.http.stream("GET", f"/v2/images/{image_id}/file",
                                        headers=headers) as r:
                if r.status_code >= 400:
                    await r.aread()
                raise_for_status(r, image_id)
                if r.status_code == 204:
                    raise ImageClientError(f"Image {image_id} has no data.", 204)
                await _pipe(r.aiter_bytes(), sink)
        except httpx.HTTPError as exc:
            raise _unreachable(exc) from None

    async def _request(self, method: str, path: str, *, image_id: str | None = None,
                       headers: Mapping[str, str] | None = None, **kwargs: Any
                       ) -> httpx.Response:
        all_headers = {"X-Auth-Token": await self._token_provider(), **(headers or {})}
        try:
            r = await self.http.request(method, path, headers=all_headers, **kwargs)
        except httpx.HTTPError as exc:
            raise _unreachable(exc) from None
        raise_for_status(r, image_id)
        return r


def raise_for_status(r: httpx.Response, image_id: str | None) -> None:
    """A typed exception for an error answer, with the message Glance put in it."""
    if r.status_code < 400:
        return
    message = _glance_message(r)
    if r.status_code == 404 and image_id is not None:
        raise ImageNotFound(message or f"No image found with ID {image_id}", 404)
    raise ImageClientError(message or f"The image service answered {r.status_code}.",
                           r.status_code)


def _glance_message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text.strip()[:500]
    if isinstance(body, dict):
        # Glance's webob body is flat; some proxies nest it under "error".
        nested = body.get("error")
        inner: dict[str, Any] = nested if isinstance(nested, dict) else body
        return str(inner.get("message") or inner.get("title") or "")
    return ""


def _unreachable(exc: httpx.HTTPError) -> ImageClientError:
    return ImageClientError(f"The image service is unreachable: {exc!r}.")


def _expected_hash(info: ImageInfo) -> tuple[str | None, str]:
    if info.os_hash_value and info.os_hash_algo and \
            info.os_hash_algo in hashlib.algorithms_available:
        return info.os_hash_value, info.os_hash_algo
    if info.checksum:
        return info.checksum, "md5"
    return None, "sha512"


class _Hasher:
    def __init__(self, algorithm: str) -> None:
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Sink:
    """A part file and the hash of what went into it; every method is blocking."""

    def __init__(self, path: Path, handle: IO[bytes], algorithm: str) -> None:
        self.path = path
        self.handle = handle
        self.hasher = _Hasher(algorithm)

    @classmethod
    def open(cls, path: Path, algorithm: str) -> _Sink:
        return cls(path, open(path, "wb"), algorithm)

    def write(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self.hasher.update(chunk)
            self.handle.write(chunk)

    def finish(self, fsync: bool) -> None:
        self.handle.flush()
        if fsync:
            os.fsync(self.handle.fileno())
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


async def _pipe(chunks: AsyncIterator[bytes], sink: _Sink) -> None:
    """Write ``chunks`` to ``sink`` in a thread, in batches of about :data:`WRITE_BATCH`.

    One batch is written and hashed while the next one is received; so at most two
    batches are in memory, and the thread hop costs little per byte.
    """
    pending: asyncio.Future[None] | None = None
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in chunks:
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(asyncio.to_thread(sink.write, batch))
                batch, batched = [], 0
    except BaseException:
        if pending is not None:
            # A thread cannot be cancelled: let it finish before the file is closed.
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # retrieved, so asyncio does not log it
        raise
    if pending is not None:
        await pending
    await asyncio.to_thread(sink.write, batch)


async def _read_chunks(handle: IO[bytes], hasher: _Hasher) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(_read_and_hash, handle, hasher):
        yield chunk


def _read_and_hash(handle: IO[bytes], hasher: _Hasher) -> bytes:
    chunk = handle.read(CHUNK_SIZE)
    hasher.update(chunk)
    return chunk
