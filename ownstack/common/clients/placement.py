"""A typed client of the Placement API, for compute's conductor and agents' reports.

It speaks one microversion (:data:`MICROVERSION`) and authenticates as the services' own
user. Generation conflicts are answered as Placement means them: a claim that loses a race
returns ``False`` for the caller to try the next candidate; an inventory or trait update
that loses one re-reads the provider's generation and tries again, a bounded number of
times, because the agent's report is the truth about its own node.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx
import orjson

from ownstack.common.clients.inprocess import http_client
from ownstack.common.errors import OwnstackError

MICROVERSION: Final = "1.39"
_GENERATION_RETRIES: Final = 5


class PlacementError(OwnstackError):
    status = 503
    code = "ownstack.placement_unavailable"
    message = "The placement service failed to answer."


class PlacementRefused(PlacementError):
    """Placement answered 400: the request itself is wrong (an unknown trait or resource
    class, say), which no retry fixes. ``detail`` is Placement's own explanation."""

    def __init__(self, what: str, detail: str) -> None:
        self.detail = detail
        super().__init__(f"Placement refused to {what}: {detail}")


@dataclass(frozen=True)
class Claim:
    """A new consumer's allocations (``{rp_uuid: {class: amount}}``), for :meth:`claim_many`."""

    consumer: str
    allocations: Mapping[str, Mapping[str, int]]
    project_id: str
    user_id: str
    consumer_type: str = "INSTANCE"


@dataclass(frozen=True)
class ConsumerWrite:
    """A consumer's allocations to write over what it holds (its generation as read: None
    for a consumer that holds none), for :meth:`PlacementClient.write_consumers`."""

    allocations: Mapping[str, Mapping[str, int]]
    project_id: str
    user_id: str
    consumer_generation: int | None
    consumer_type: str = "INSTANCE"


class PlacementClient:
    def __init__(self, base_url: str, token_provider: Callable[[], Awaitable[str]], *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = 30.0) -> None:
        self.http = http_client(base_url, transport, timeout)
        self._token = token_provider

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- allocation candidates and claims ------------------------------------------------

    async def allocation_candidates(self, params: Mapping[str, str | list[str]]
                                    ) -> dict[str, Any]:
        """``GET /allocation_candidates`` with ``params`` as query (repeatable keys as
        lists). Returns the body: ``allocation_requests`` and ``provider_summaries``.
        Raises :class:`PlacementRefused` for a 400, :class:`PlacementError` otherwise."""
        r = await self._request("GET", "/allocation_candidates", params=params)
        if r.status_code == 400:
            raise PlacementRefused("list allocation candidates", _error_detail(r))
        self._check(r, "list allocation candidates")
        # orjson: the document names every provider with room (tens of KB at a hundred).
        return dict(orjson.loads(r.content))

    async def claim(self, consumer: str, allocations: Mapping[str, Mapping[str, int]], *,
                    project_id: str, user_id: str, consumer_generation: int | None = None,
                    consumer_type: str = "INSTANCE") -> bool:
        """Write the consumer's allocations (``{rp_uuid: {class: amount}}``) in one go.
        ``False`` when a generation changed under us (the provider filled up, or another
        claim for this consumer won): nothing was written."""
        body = {"allocations": {rp: {"resources": dict(res)} for rp, res in allocations.items()},
                "project_id": project_id, "user_id": user_id,
                "consumer_generation": consumer_generation, "consumer_type": consumer_type}
        r = await self._request("PUT", f"/allocations/{consumer}", json=body)
        if r.status_code == 409:
            return False
        self._check(r, f"claim resources for {consumer}")
        return True

    async def claim_many(self, claims: Sequence[Claim]) -> bool:
        """Write several new consumers' allocations at once (``POST /allocations``), all or
        nothing. ``False`` when a generation changed under us or a consumer already holds
        allocations: nothing was written."""
        if not claims:
            return True
        body = {c.consumer: {
            "allocations": {rp: {"resources": dict(res)} for rp, res in c.allocations.items()},
            "project_id": c.project_id, "user_id": c.user_id, "consumer_generation": None,
            "consumer_type": c.consumer_type} for c in claims}
        r = await self._request("POST", "/allocations", json=body)
        if r.status_code == 409:
            return False
        self._check(r, f"claim resources for {len(claims)} consumers")
        return True

    async def write_consumers(self, writes: Mapping[str, ConsumerWrite]) -> bool:
        """Replace several consumers' allocations at once (``POST /allocations``), each
        guarded by its consumer generation; an empty ``allocations`` removes the
        consumer's. All or nothing: ``False`` when a generation changed under us or a
        provider has no room, and nothing was written. Nova moves an instance's
        allocation to its migration's uuid this way."""
        if not writes:
            return True
        body = {consumer: {
            "allocations": {rp: {"resources": dict(res)} for rp, res in w.allocations.items()},
            "project_id": w.project_id, "user_id": w.user_id,
            "consumer_generation": w.consumer_generation, "consumer_type": w.consumer_type}
            for consumer, w in writes.items()}
        r = await self._request("POST", "/allocations", json=body)
        if r.status_code == 409:
            return False
        self._check(r, f"write the allocations of {', '.join(writes)}")
        return True

    async def allocations(self, consumer: str) -> dict[str, Any]:
        """``{"allocations": {rp: {"resources": {...}}}, "consumer_generation": int|None}``."""
        r = await self._request("GET", f"/allocations/{consumer}")
        self._check(r, f"read allocations of {consumer}")
        return dict(r.json())

    async def delete_allocations(self, consumer: str) -> None:
        """Remove every allocation of ``consumer``; fine when there is none."""
        r = await self._request("DELETE", f"/allocations/{consumer}")
        if r.status_code != 404:
            self._check(r, f"delete allocations of {consumer}")

    async def usages(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """The project's (or user's) usage per resource class, over every consumer type."""
        params = {"project_id": project_id}
        if user_id is not None:
            params["user_id"] = user_id
        r = await self._request("GET", "/usages", params=params)
        self._check(r, f"read usages of {project_id}")
        # From 1.38 usages are grouped by consumer type, with "all" summing them.
        usages = r.json()["usages"].get("all", {})
        return {name: int(value) for name, value in usages.items()
                if name != "consumer_count"}

    async def provider_consumers(self, uuid: str) -> set[str]:
        """The consumers holding allocations on a provider (empty when it is gone)."""
        r = await self._request("GET", f"/resource_providers/{uuid}/allocations")
        if r.status_code == 404:
            return set()
        self._check(r, f"read allocations of provider {uuid}")
        return set((r.json().get("allocations") or {}).keys())

    # --- providers --------------------------------------------------------------------------

    async def ensure_provider(self, uuid: str, name: str) -> None:
        """Create the resource provider unless it exists (by uuid)."""
        r = await self._request("GET", f"/resource_providers/{uuid}")
        if r.status_code == 200:
            return
        if r.status_code != 404:
            self._check(r, f"read provider {uuid}")
        r = await self._request("POST", "/resource_providers", json={"uuid": uuid, "name": name})
        if r.status_code == 409:   # created meanwhile, by a previous report
            return
        self._check(r, f"create provider {name}")

    async def delete_provider(self, uuid: str) -> None:
        r = await self._request("DELETE", f"/resource_providers/{uuid}")
        if r.status_code != 404:
            self._check(r, f"delete provider {uuid}")

    async def set_inventories(self, uuid: str, inventories: Mapping[str, Mapping[str, Any]]
                              ) -> None:
        """Replace the provider's inventory (``{class: {total, reserved, ...}}``)."""
        await self._put_with_generation(f"/resource_providers/{uuid}/inventories",
                                        "inventories", dict(inventories))

    async def ensure_custom_traits(self, traits: Iterable[str]) -> None:
        """Create the ``CUSTOM_*`` traits among ``traits``; standard ones always exist."""
        for trait in sorted(set(traits)):
            if trait.startswith("CUSTOM_"):
                r = await self._request("PUT", f"/traits/{trait}")
                self._check(r, f"create trait {trait}")

    async def set_traits(self, uuid: str, traits: Iterable[str]) -> None:
        await self._put_with_generation(f"/resource_providers/{uuid}/traits", "traits",
                                        sorted(set(traits)))

    async def change_provider_aggregates(self, uuid: str, *, add: Iterable[str] = (),
                                         remove: Iterable[str] = ()) -> None:
        """Add and remove aggregate uuids among the provider's aggregates (a compare-and-swap
        on its generation, retried); an unknown provider is left alone."""
        path = f"/resource_providers/{uuid}/aggregates"
        for _ in range(_GENERATION_RETRIES):
            r = await self._request("GET", path)
            if r.status_code == 404:
                return
            self._check(r, f"read {path}")
            current = r.json()
            wanted = sorted((set(current["aggregates"]) | set(add)) - set(remove))
            if wanted == sorted(current["aggregates"]):
                return
            r = await self._request("PUT", path, json={
                "aggregates": wanted,
                "resource_provider_generation": current["resource_provider_generation"]})
            if r.status_code != 409:
                self._check(r, f"update {path}")
                return
        raise PlacementError(f"Placement kept changing {path}; gave up after "
                             f"{_GENERATION_RETRIES} tries.")

    async def inventories(self, uuid: str) -> dict[str, Any] | None:
        """The provider's inventory by resource class; ``None`` for an unknown provider."""
        return await self._provider_read(uuid, "inventories")

    async def provider_usages(self, uuid: str) -> dict[str, int] | None:
        """What the provider has given out, by class; ``None`` for an unknown provider."""
        usages = await self._provider_read(uuid, "usages")
        return None if usages is None else {rc: int(n) for rc, n in usages.items()}

    async def _provider_read(self, uuid: str, what: str) -> dict[str, Any] | None:
        r = await self._request("GET", f"/resource_providers/{uuid}/{what}")
        if r.status_code == 404:
            return None
        self._check(r, f"read {what} of provider {uuid}")
        return dict(r.json()[what])

    async def _put_with_generation(self, path: str, key: str, value: Any) -> None:
        for _ in range(_GENERATION_RETRIES):
            r = await self._request("GET", path)
            self._check(r, f"read {path}")
            current = r.json()
            if current[key] == value or (key == "inventories" and _same_inventories(
                    current[key], value)):
                return
            r = await self._request("PUT", path, json={
                key: value, "resource_provider_generation":
                    current["resource_provider_generation"]})
            if r.status_code != 409:
                self._check(r, f"update {path}")
                return
        raise PlacementError(f"Placement kept changing {path}; gave up after "
                             f"{_GENERATION_RETRIES} tries.")

    # --- plumbing ---------------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": await self._token(),
                   "OpenStack-API-Version": f"placement {MICROVERSION}"}
        try:
            return await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise PlacementError(f"The placement service is unreachable: {exc}") from exc

    @staticmethod
    def _check(r: httpx.Response, what: str) -> None:
        if r.status_code >= 400:
            raise PlacementError(f"Placement refused to {what}: {r.status_code} "
                                 f"{r.text[:300]}")


def _error_detail(r: httpx.Response) -> str:
    try:
        errors = r.json().get("errors")
    except ValueError:
        errors = None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or r.text[:300])
    return r.text[:300]


def _same_inventories(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    if set(current) != set(wanted):
        return False
    return all(all(current[rc].get(field) == value for field, value in fields.items())
               for rc, fields in wanted.items())
