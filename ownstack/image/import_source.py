"""Where an import task may fetch its data from, and fetching it from nowhere else.

Glance's import filtering (``[import_filtering_opts]``) checks the URI's scheme, host name
and port. ownstack checks the same three, with one difference in the defaults: no host
is allowed until the operator lists it (``image.import_allowed_hosts``), where Glance
allows every host. A host name not listed is never even resolved, so a refused task sends
no packet at all.

A listed name is then resolved, and each address it resolves to is checked before any
connection: an address that is loopback, private, link-local, multicast, reserved or
unspecified is refused unless ``import_allowed_hosts`` also lists it (an address or a
network), so that a listed name cannot be pointed at the cloud's own services. The
connection goes to the checked address itself (the request names the host in ``Host``
and in TLS's SNI), so a second resolution cannot swap it. Every redirect is checked the
same way before it is followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ownstack.common.config import ImageConfig

MAX_REDIRECTS = 5
SUPPORTED_SCHEMES = ("http", "https")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SourceRefused(Exception):
    """The source may not be fetched, or fetching it failed; the message says why."""


def _items(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class ImportFilter:
    schemes: frozenset[str]
    names: frozenset[str]
    networks: tuple[Network, ...]
    ports: frozenset[int]

    @classmethod
    def from_config(cls, config: ImageConfig) -> ImportFilter:
        names: set[str] = set()
        networks: list[Network] = []
        for item in _items(config.import_allowed_hosts):
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                names.add(item.rstrip("."))
        ports = frozenset(int(p) for p in _items(config.import_allowed_ports))
        return cls(frozenset(_items(config.import_allowed_schemes)), frozenset(names),
                   tuple(networks), ports)

    def check_uri(self, uri: str) -> tuple[str, str, int]:
        """The scheme, host and port of ``uri`` if the filter lets it through, without
        resolving anything."""
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError as exc:
            raise SourceRefused(f"The URI {uri!r} is not valid: {exc}.") from None
        scheme, host = parts.scheme.lower(), (parts.hostname or "").rstrip(".")
        if scheme not in SUPPORTED_SCHEMES or scheme not in self.schemes:
            raise SourceRefused(f"The URI {uri!r} does not pass import filtering: scheme "
                                f"{scheme!r} is not allowed.")
        if not host:
            raise SourceRefused(f"The URI {uri!r} names no host.")
        literal = _address(host)
        allowed = (self._listed(literal) if literal is not None else host in self.names)
        if not allowed:
            raise SourceRefused(f"The URI {uri!r} does not pass import filtering: host "
                                f"{host!r} is not allowed (image.import_allowed_hosts "
                                f"lists the hosts an import may fetch from).")
        port = port or (443 if scheme == "https" else 80)
        if self.ports and port not in self.ports:
            raise SourceRefused(f"The URI {uri!r} does not pass import filtering: port "
                                f"{port} is not allowed (image.import_allowed_ports).")
        return scheme, host, port

    def check_address(self, host: str, address: Address) -> None:
        if self._listed(address):
            return
        if _address(host) is None and address.is_global:
            return      # a listed name that resolves to a public address
        raise SourceRefused(f"Host {host!r} resolves to {address}, which is not allowed "
                            f"(list the address in image.import_allowed_hosts to allow it).")

    def _listed(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)


def _address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[Address]:
    literal = _address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise SourceRefused(f"Host {host!r} could not be resolved: {exc}.") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


async def checked_target(rules: ImportFilter, uri: str) -> tuple[str, dict[str, str],
                                                                 dict[str, str]]:
    """The URL to connect to (the checked address in place of the name), the headers and
    the request extensions that keep the original name for HTTP and TLS."""
    scheme, host, port = rules.check_uri(uri)
    addresses = await _resolve(host, port)
    if not addresses:
        raise SourceRefused(f"Host {host!r} resolves to no address.")
    for address in addresses:
        rules.check_address(host, address)
    address = addresses[0]
    parts = urlsplit(uri)
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{shown}:{port}"
    target = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    default_port = 443 if scheme == "https" else 80
    host_header = host if port == default_port else f"{host}:{port}"
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return target, {"Host": host_header}, extensions


@asynccontextmanager
async def open_source(rules: ImportFilter, uri: str, *, connect_timeout: float = 10.0,
                      read_timeout: float = 30.0
                      ) -> AsyncIterator[tuple[int | None, AsyncIterator[bytes]]]:
    """The declared length and the bytes of ``uri``, following checked redirects.

    Raises :class:`SourceRefused` for a refused address or redirect, an answer other than
    200, or a connection that fails or stalls past the timeouts.
    """
    timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                 trust_env=False) as client:
        current = uri
        for hop in range(MAX_REDIRECTS + 1):
            try:
                target, headers, extensions = await checked_target(rules, current)
            except SourceRefused as exc:
                if hop == 0:
                    raise
                raise SourceRefused(f"Redirect to disallowed URL: {exc}") from None
            request = client.build_request("GET", target, headers=headers,
                                           extensions=extensions)
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise SourceRefused(f"Could not fetch {current!r}: {exc or type(exc).__name__}."
                                    ) from None
            try:
                if response.is_redirect:
                    location = response.headers.get("location", "")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise SourceRefused(f"Fetching {current!r} answered "
                                        f"{response.status_code} {response.reason_phrase}.")
                length = response.headers.get("content-length")
                yield (int(length) if length and length.isdigit() else None,
                       _chunks(response, current))
                return
            finally:
                await response.aclose()
        raise SourceRefused(f"Fetching {uri!r} was redirected more than {MAX_REDIRECTS} "
                            f"times.")


async def _chunks(response: httpx.Response, uri: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.HTTPError as exc:
        raise SourceRefused(f"Fetching {uri!r} failed: {exc or type(exc).__name__}."
                            ) from None
