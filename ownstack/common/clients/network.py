"""A typed client of the Networking v2.0 API (Neutron), as compute uses it.

Compute talks to the network service the way Nova talks to Neutron: most calls as the
services' own user (``token_provider``, a :class:`~ownstack.common.clients.auth.ServiceAuth`),
which may create and bind ports in any project; and the checks Nova makes with the
caller's token (may this user see that network, use that port?) through
:meth:`NetworkClient.as_caller`, which shares the HTTP client.

Errors are typed: a Neutron error body (``{"NeutronError": {"type", "message"}}``) becomes
a :class:`NetworkClientError` whose ``type`` is Neutron's exception name
(``IpAddressGenerationFailure``, ``PortNotFound``, ...); a 404 is
:class:`NetworkNotFoundError`; a service that cannot be reached, or answers 5xx, is
:class:`NetworkUnavailable` (worth retrying later, unlike a 4xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from ownstack.common.clients.base import TokenClient


class NetworkClientError(Exception):
    """The network service refused a request. ``type`` is Neutron's error type name."""

    def __init__(self, message: str, status: int | None = None, type_: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type_


class NetworkNotFoundError(NetworkClientError):
    """No such resource, or the caller may not see it (Neutron answers 404 for both)."""


class NetworkUnavailable(NetworkClientError):
    """The network service could not be reached, or failed (5xx): try again later."""


class NetworkClient(TokenClient):
    """Networking v2.0 as compute uses it, with the token ``token_provider`` gives
    (the HTTP client and the token: :class:`~ownstack.common.clients.base.TokenClient`).
    """

    # --- networks -----------------------------------------------------------------------

    async def get_network(self, network_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v2.0/networks/{network_id}")
        return dict(r.json()["network"])

    async def list_networks(self, **filters: Any) -> list[dict[str, Any]]:
        """Networks the token may see, filtered (``id`` may be a list, ``shared`` a bool)."""
        r = await self._request("GET", "/v2.0/networks", params=_params(filters))
        return list(r.json()["networks"])

    async def list_subnets(self, **filters: Any) -> list[dict[str, Any]]:
        r = await self._request("GET", "/v2.0/subnets", params=_params(filters))
        return list(r.json()["subnets"])

    # --- ports --------------------------------------------------------------------------

    async def create_port(self, port: Mapping[str, Any]) -> dict[str, Any]:
        r = await self._request("POST", "/v2.0/ports", json={"port": dict(port)})
        return dict(r.json()["port"])

    async def get_port(self, port_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v2.0/ports/{port_id}")
        return dict(r.json()["port"])

    async def update_port(self, port_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        r = await self._request("PUT", f"/v2.0/ports/{port_id}", json={"port": dict(changes)})
        return dict(r.json()["port"])

    async def delete_port(self, port_id: str) -> None:
        """Delete the port; one already gone is fine."""
        try:
            await self._request("DELETE", f"/v2.0/ports/{port_id}")
        except NetworkNotFoundError:
            return

    async def list_ports(self, **filters: Any) -> list[dict[str, Any]]:
        """Ports the token may see: ``device_id=...``, ``network_id=...``, ``fixed_ips``
        (a list of ``ip_address=...`` strings), ..."""
        r = await self._request("GET", "/v2.0/ports", params=_params(filters))
        return list(r.json()["ports"])

    # --- security groups ----------------------------------------------------------------

    async def list_security_groups(self, **filters: Any) -> list[dict[str, Any]]:
        """Security groups the token may see, by ``name`` or ``id`` (lists allowed)."""
        r = await self._request("GET", "/v2.0/security-groups",
                                params=_params({"fields": ["id", "name", "project_id"],
                                                **filters}))
        return list(r.json()["security_groups"])

    async def get_security_group(self, group_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v2.0/security-groups/{group_id}")
        return dict(r.json()["security_group"])

    async def security_groups_with_rules(self, **filters: Any) -> list[dict[str, Any]]:
        """Security groups with every field (their rules too), for the compute proxies."""
        r = await self._request("GET", "/v2.0/security-groups", params=_params(filters))
        return list(r.json()["security_groups"])

    async def create_security_group(self, group: Mapping[str, Any]) -> dict[str, Any]:
        r = await self._request("POST", "/v2.0/security-groups",
                                json={"security_group": dict(group)})
        return dict(r.json()["security_group"])

    async def update_security_group(self, group_id: str, changes: Mapping[str, Any]
                                    ) -> dict[str, Any]:
        r = await self._request("PUT", f"/v2.0/security-groups/{group_id}",
                                json={"security_group": dict(changes)})
        return dict(r.json()["security_group"])

    async def delete_security_group(self, group_id: str) -> None:
        await self._request("DELETE", f"/v2.0/security-groups/{group_id}")

    async def create_security_group_rule(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        r = await self._request("POST", "/v2.0/security-group-rules",
                                json={"security_group_rule": dict(rule)})
        return dict(r.json()["security_group_rule"])

    async def get_security_group_rule(self, rule_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v2.0/security-group-rules/{rule_id}")
        return dict(r.json()["security_group_rule"])

    async def delete_security_group_rule(self, rule_id: str) -> None:
        await self._request("DELETE", f"/v2.0/security-group-rules/{rule_id}")

    # --- floating IPs -------------------------------------------------------------------

    async def list_floating_ips(self, **filters: Any) -> list[dict[str, Any]]:
        r = await self._request("GET", "/v2.0/floatingips", params=_params(filters))
        return list(r.json()["floatingips"])

    async def get_floating_ip(self, fip_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v2.0/floatingips/{fip_id}")
        return dict(r.json()["floatingip"])

    async def create_floating_ip(self, fip: Mapping[str, Any]) -> dict[str, Any]:
        r = await self._request("POST", "/v2.0/floatingips", json={"floatingip": dict(fip)})
        return dict(r.json()["floatingip"])

    async def update_floating_ip(self, fip_id: str, changes: Mapping[str, Any]
                                 ) -> dict[str, Any]:
        r = await self._request("PUT", f"/v2.0/floatingips/{fip_id}",
                                json={"floatingip": dict(changes)})
        return dict(r.json()["floatingip"])

    async def delete_floating_ip(self, fip_id: str) -> None:
        await self._request("DELETE", f"/v2.0/floatingips/{fip_id}")

    # --- plumbing -----------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": await self._token_provider()}
        try:
            r = await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise NetworkUnavailable(
                f"The network service is unreachable: {exc!r}.") from None
        raise_for_status(r)
        return r


def _params(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for name, value in filters.items():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        for item in values:
            params.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return params


def raise_for_status(r: httpx.Response) -> None:
    """A typed exception for an error answer, with Neutron's type and message."""
    if r.status_code < 400:
        return
    type_, message = _neutron_error(r)
    message = message or f"The network service answered {r.status_code}."
    if r.status_code >= 500:
        raise NetworkUnavailable(message, r.status_code, type_)
    if r.status_code == 404:
        raise NetworkNotFoundError(message, 404, type_)
    raise NetworkClientError(message, r.status_code, type_)


def _neutron_error(r: httpx.Response) -> tuple[str, str]:
    try:
        body = r.json()
    except ValueError:
        return "", r.text.strip()[:500]
    if isinstance(body, dict):
        error = body.get("NeutronError")
        if isinstance(error, dict):
            return str(error.get("type") or ""), str(error.get("message") or "")
        return "", str(body.get("message") or body.get("error") or "")
    return "", ""
