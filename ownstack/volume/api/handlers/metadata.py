"""``.../metadata`` of volumes and of snapshots: one set of six routes over either owner.

Cinder's ``volume_metadata`` and ``snapshot_metadata`` controllers answer alike: GET the
whole map or one key, POST merges, PUT replaces the whole map, PUT of one key sets it (the
key in the URL must be the body's), DELETE of one key removes it (404 when absent). What
differs is the owner's table, its policy rules and its name in a 404, which
:class:`MetadataRoutes` takes as data; the tables' operations are
:mod:`ownstack.volume.objects.metadata`'s, through each owner's objects module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.common.context import RequestContext
from ownstack.common.errors import BadRequest
from ownstack.volume.api.common import body
from ownstack.volume.api.schemas.parameter_types import METADATA, one
from ownstack.volume.errors import MetadataNotFound
from ownstack.volume.objects import Session
from ownstack.volume.state import Req

BODY: Final = Validator(one("metadata", METADATA))
ITEM: Final = Validator(one("meta", {**METADATA, "minProperties": 1, "maxProperties": 1}))


@dataclass(frozen=True, slots=True)
class Rules:
    """The policy rules of one owner's metadata routes."""

    get: str
    create: str
    update: str
    delete: str


T = TypeVar("T")    # the owner's row: a Volume or a Snapshot


@dataclass(frozen=True, slots=True)
class MetadataRoutes(Generic[T]):
    """The six metadata handlers of one owner kind.

    ``load`` finds the owner named by the URL's ``param`` as the caller sees it (404
    otherwise) and enforces a rule; the other callables are the owner's objects module's,
    used inside one write transaction (``get`` re-reads the row there, ``save`` bumps its
    ``updated_at``).
    """

    kind: str                     # "Volume", "Snapshot": the name in a 404
    param: str                    # the URL parameter holding the owner's id
    rules: Rules
    load: Callable[[Req, str], Awaitable[T]]
    get: Callable[[Session, RequestContext, str], Awaitable[T]]
    read: Callable[[Session, T], Awaitable[dict[str, str]]]
    replace: Callable[[Session, T, Mapping[str, str]], Awaitable[None]]
    merge: Callable[[Session, T, Mapping[str, str]], Awaitable[None]]
    remove: Callable[[Session, T, str], Awaitable[None]]
    save: Callable[..., Awaitable[Any]]

    async def list(self, req: Req) -> Response:
        owner = await self.load(req, self.rules.get)
        async with req.svc.read() as db:
            return json_response({"metadata": await self.read(db, owner)})

    async def show_item(self, req: Req) -> Response:
        owner = await self.load(req, self.rules.get)
        key = req.params["key"]
        async with req.svc.read() as db:
            metadata = await self.read(db, owner)
        if key not in metadata:
            raise MetadataNotFound(self.kind, req.params[self.param], key)
        return json_response({"meta": {key: metadata[key]}})

    async def create(self, req: Req) -> Response:
        """POST: the body's items are added or changed; the others stay."""
        return await self._set(req, replace=False)

    async def replace_all(self, req: Req) -> Response:
        """PUT: the body becomes all of the owner's metadata."""
        return await self._set(req, replace=True)

    async def _set(self, req: Req, *, replace: bool) -> Response:
        await self.load(req, self.rules.update if replace else self.rules.create)
        metadata: dict[str, str] = (await body(req, BODY))["metadata"]
        async with req.svc.write() as db:
            current = await self.get(db, req.ctx, req.params[self.param])
            await (self.replace if replace else self.merge)(db, current, metadata)
            await self.save(db, current)
            result = await self.read(db, current)
        return json_response({"metadata": result})

    async def set_item(self, req: Req) -> Response:
        await self.load(req, self.rules.update)
        item: dict[str, str] = (await body(req, ITEM))["meta"]
        if req.params["key"] not in item:
            raise BadRequest("Request body and URI mismatch")
        async with req.svc.write() as db:
            current = await self.get(db, req.ctx, req.params[self.param])
            await self.merge(db, current, item)
            await self.save(db, current)
        return json_response({"meta": item})

    async def delete_item(self, req: Req) -> Response:
        await self.load(req, self.rules.delete)
        async with req.svc.write() as db:
            current = await self.get(db, req.ctx, req.params[self.param])
            await self.remove(db, current, req.params["key"])
            await self.save(db, current)
        return empty_response(200)
