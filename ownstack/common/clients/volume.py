"""A typed client of the Block Storage v3 API (Cinder), as compute uses it.

Compute talks to the volume service the way Nova's ``nova/volume/cinder.py`` does with
the attachments API (microversion 3.44 and later): the checks a caller's token decides
(may this user see that volume, reserve it?) through :meth:`VolumeClient.as_caller`, and
the rest (connecting the attachment with the host's connector, completing and deleting
it, rolling a detach back, confirming an in-use extend) as the services' own user.

Every request names its microversion (``OpenStack-API-Version: volume 3.71`` by default,
what the completion of an in-use extend needs; nothing else here changed meaning since
3.44) and uses the project-less ``/v3/...`` URLs the volume service answers at every
version (decision 43).

Errors are typed: a Cinder error body (``{"badRequest": {"message", "code"}}``) becomes a
:class:`VolumeClientError` with Cinder's status and message; a 404 is
:class:`VolumeNotFoundError`; a service that cannot be reached, or answers 5xx, is
:class:`VolumeUnavailable` (worth retrying later, unlike a 4xx).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import httpx

from ownstack.common.clients.base import TokenClient

MICROVERSION: Final = "3.71"


class VolumeClientError(Exception):
    """The volume service refused a request, with Cinder's status and message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class VolumeNotFoundError(VolumeClientError):
    """No such volume or attachment, or the caller may not see it (404 for both)."""


class VolumeUnavailable(VolumeClientError):
    """The volume service could not be reached, or failed (5xx): try again later."""


class VolumeClient(TokenClient):
    """Block Storage v3 as compute uses it, with the token ``token_provider`` gives
    (the HTTP client and the token: :class:`~ownstack.common.clients.base.TokenClient`).
    """

    # --- volumes ------------------------------------------------------------------------

    async def get_volume(self, volume_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v3/volumes/{volume_id}")
        return dict(r.json()["volume"])

    async def list_volumes(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """The caller's volumes in detail, in the volume service's order (newest first),
        ``offset`` skipped, at most ``limit``."""
        r = await self._request("GET", "/v3/volumes/detail",
                                params={"limit": limit, "offset": offset})
        return [dict(volume) for volume in r.json()["volumes"]]

    async def delete_volume(self, volume_id: str, *, missing_ok: bool = True) -> None:
        """Delete the volume; one already gone is fine (unless not ``missing_ok``)."""
        try:
            await self._request("DELETE", f"/v3/volumes/{volume_id}")
        except VolumeNotFoundError:
            if not missing_ok:
                raise

    async def begin_detaching(self, volume_id: str) -> None:
        """``os-begin_detaching``: an in-use volume becomes ``detaching``."""
        await self._action(volume_id, "os-begin_detaching", {})

    async def roll_detaching(self, volume_id: str) -> None:
        """``os-roll_detaching``: a ``detaching`` volume is ``in-use`` again."""
        await self._action(volume_id, "os-roll_detaching", {})

    async def extend_volume_completion(self, volume_id: str, *, error: bool) -> None:
        """``os-extend_volume_completion`` (3.71): compute grew the attached volume (or
        could not, ``error``)."""
        await self._action(volume_id, "os-extend_volume_completion", {"error": error})

    async def _action(self, volume_id: str, name: str, body: Mapping[str, Any]) -> None:
        await self._request("POST", f"/v3/volumes/{volume_id}/action",
                            json={name: dict(body) or None})

    # --- attachments (3.27+, completion 3.44+) ------------------------------------------

    async def attachment_create(self, volume_id: str, instance_uuid: str,
                                connector: Mapping[str, Any] | None = None
                                ) -> dict[str, Any]:
        """Reserve the volume for the server: an attachment in ``reserved`` (or
        ``attaching``, with its connection info, when a connector is given)."""
        attachment: dict[str, Any] = {"volume_uuid": volume_id,
                                      "instance_uuid": instance_uuid}
        if connector is not None:
            attachment["connector"] = dict(connector)
        r = await self._request("POST", "/v3/attachments", json={"attachment": attachment})
        return dict(r.json()["attachment"])

    async def attachment_update(self, attachment_id: str, connector: Mapping[str, Any]
                                ) -> dict[str, Any]:
        """Give the attachment the host's connector; the answer has ``connection_info``."""
        r = await self._request("PUT", f"/v3/attachments/{attachment_id}",
                                json={"attachment": {"connector": dict(connector)}})
        return dict(r.json()["attachment"])

    async def attachment_complete(self, attachment_id: str) -> None:
        """``os-complete``: the attach is done; the volume is ``in-use``."""
        await self._request("POST", f"/v3/attachments/{attachment_id}/action",
                            json={"os-complete": None})

    async def attachment_delete(self, attachment_id: str) -> None:
        """Delete the attachment (the detach); one already gone is fine."""
        try:
            await self._request("DELETE", f"/v3/attachments/{attachment_id}")
        except VolumeNotFoundError:
            return

    # --- volumes and snapshots compute makes (boot from volume, Nova's proxy) ------------

    async def create_volume(self, size: int, *, name: str | None = "",
                            description: str | None = None, image_id: str | None = None,
                            snapshot_id: str | None = None, volume_type: str | None = None,
                            availability_zone: str | None = None,
                            metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A new volume (``creating``): blank, or from an image or a snapshot."""
        volume: dict[str, Any] = {"size": size, "name": name}
        for key, value in (("imageRef", image_id), ("snapshot_id", snapshot_id),
                           ("volume_type", volume_type),
                           ("availability_zone", availability_zone)):
            if value:
                volume[key] = value
        if description is not None:
            volume["description"] = description
        if metadata is not None:
            volume["metadata"] = dict(metadata)
        r = await self._request("POST", "/v3/volumes", json={"volume": volume})
        return dict(r.json()["volume"])

    async def force_delete_volume(self, volume_id: str) -> None:
        """``os-force_delete`` (admin): delete it whatever its status (one compute asked
        for and no longer wants, still ``creating``); one already gone is fine."""
        try:
            await self._action(volume_id, "os-force_delete", {})
        except VolumeNotFoundError:
            return

    async def get_snapshot(self, snapshot_id: str) -> dict[str, Any]:
        r = await self._request("GET", f"/v3/snapshots/{snapshot_id}")
        return dict(r.json()["snapshot"])

    async def list_snapshots(self, *, limit: int, offset: int = 0) -> list[dict[str, Any]]:
        """The caller's snapshots in detail, as :meth:`list_volumes` lists volumes."""
        r = await self._request("GET", "/v3/snapshots/detail",
                                params={"limit": limit, "offset": offset})
        return [dict(snapshot) for snapshot in r.json()["snapshots"]]

    async def create_snapshot(self, volume_id: str, *, name: str | None, force: bool = True,
                              description: str | None = "") -> dict[str, Any]:
        """A snapshot of the volume (``force``: also while it is in use, as Nova asks)."""
        r = await self._request("POST", "/v3/snapshots", json={"snapshot": {
            "volume_id": volume_id, "name": name, "description": description,
            "force": force}})
        return dict(r.json()["snapshot"])

    async def delete_snapshot(self, snapshot_id: str, *, missing_ok: bool = True) -> None:
        """Delete the snapshot; one already gone is fine (unless not ``missing_ok``)."""
        try:
            await self._request("DELETE", f"/v3/snapshots/{snapshot_id}")
        except VolumeNotFoundError:
            if not missing_ok:
                raise

    # --- plumbing -----------------------------------------------------------------------

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": await self._token_provider(),
                   "OpenStack-API-Version": f"volume {MICROVERSION}"}
        try:
            r = await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise VolumeUnavailable(f"The volume service is unreachable: {exc!r}.") from None
        raise_for_status(r)
        return r


def raise_for_status(r: httpx.Response) -> None:
    """A typed exception for an error answer, with Cinder's message."""
    if r.status_code < 400:
        return
    message = _cinder_message(r) or f"The volume service answered {r.status_code}."
    if r.status_code >= 500:
        raise VolumeUnavailable(message, r.status_code)
    if r.status_code == 404:
        raise VolumeNotFoundError(message, 404)
    raise VolumeClientError(message, r.status_code)


def _cinder_message(r: httpx.Response) -> str:
    """The message of Cinder's ``{"<kind>": {"message", "code"}}`` error body."""
    try:
        body = r.json()
    except ValueError:
        return r.text.strip()[:500]
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
    return ""
