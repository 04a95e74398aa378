"""How every service other than identity learns who is calling.

:class:`IdentityClient` validates a caller's token against the identity API, exactly as
keystonemiddleware does for OpenStack's services, and caches the answer for a short time.
It speaks HTTP: in the all-in-one process through an in-process ASGI transport (no
socket), and across machines through the network, with the same code.

A token validates itself: the request carries it as both ``X-Auth-Token`` and
``X-Subject-Token``, which Keystone's policy allows for one's own token, so no service
user is needed. A revoked token stays usable by other services for at most ``cache_ttl``
seconds, as with keystonemiddleware's token cache.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from ownstack.common.api.access_rules import ACCESS_RULES_HEADER, ACCESS_RULES_MIN_VERSION
from ownstack.common.cache import LRUCache
from ownstack.common.clients.inprocess import http_client
from ownstack.common.context import RequestContext
from ownstack.common.errors import OwnstackError, Unauthorized


class IdentityUnavailable(OwnstackError):
    status = 503
    code = "ownstack.identity_unavailable"
    message = "The identity service could not validate the token; try again."


class IdentityClient:
    def __init__(self, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 cache_ttl: float = 30.0, cache_size: int = 10000,
                 timeout: float = 10.0) -> None:
        self.http = http_client(base_url, transport, timeout)
        # A TTL of 0 turns caching off (LRUCache would read 0 as "no expiry").
        self._cache: LRUCache[str, tuple[float, dict[str, Any]]] = LRUCache(
            cache_size if cache_ttl > 0 else 0, ttl=cache_ttl)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def context_for(self, token: str, request_id: str) -> RequestContext:
        cached = self._cache.get(token)
        if cached is None or cached[0] <= time.time():
            body = await self._validate(token, request_id)
            expires = _expiry(body)
            cached = (expires, body)
            self._cache.set(token, cached)
            if expires <= time.time():
                raise Unauthorized("The token has expired.")
        return context_from_token(cached[1], token, request_id)

    async def _validate(self, token: str, request_id: str) -> dict[str, Any]:
        try:
            r = await self.http.get("/v3/auth/tokens", params={"nocatalog": "1"}, headers={
                "X-Auth-Token": token, "X-Subject-Token": token,
                ACCESS_RULES_HEADER: str(ACCESS_RULES_MIN_VERSION),
                "X-Openstack-Request-Id": request_id})
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"The identity service is unreachable: {exc}.") from None
        if r.status_code in (401, 403, 404):
            raise Unauthorized("The request you have made requires authentication.")
        if r.status_code != 200:
            raise IdentityUnavailable(f"The identity service answered {r.status_code}.")
        token_body: dict[str, Any] = r.json()["token"]
        return token_body


def _expiry(token: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00")).timestamp()


def context_from_token(token: dict[str, Any], auth_token: str, request_id: str
                       ) -> RequestContext:
    """A :class:`RequestContext` from a Keystone v3 token body."""
    user = token["user"]
    project = token.get("project") or {}
    app_cred = token.get("application_credential") or {}
    system = token.get("system") or {}
    return RequestContext(
        request_id=request_id,
        user_id=user["id"], user_name=user.get("name"),
        user_domain_id=(user.get("domain") or {}).get("id"),
        project_id=project.get("id"), project_name=project.get("name"),
        project_domain_id=(project.get("domain") or {}).get("id"),
        domain_id=(token.get("domain") or {}).get("id"),
        system_scope="all" if system.get("all") else None,
        roles=tuple(r["name"] for r in token.get("roles", [])),
        auth_token=auth_token, audit_ids=tuple(token.get("audit_ids", [])),
        app_cred_id=app_cred.get("id"),
        app_cred_unrestricted=not app_cred.get("restricted", False),
        access_rules=(tuple(app_cred["access_rules"]) if app_cred.get("access_rules")
                      else None),
    )
