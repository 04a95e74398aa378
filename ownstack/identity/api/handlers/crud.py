"""Keystone's plain nouns: domains, roles, groups, regions, services and endpoints.

Keystone serves each of them alike. ``GET /v3/<noun>s`` lists with the query's filters,
``POST`` creates, and ``GET``, ``PATCH`` and ``DELETE /v3/<noun>s/{<noun>_id}`` show,
update and delete. Each checks the policy rule ``identity:<verb>_<noun>`` (``get`` to
show), reads the body from under the noun's key, makes one call into ``objects`` and
answers with the noun's view under that key. A :class:`Noun` holds what differs; its
methods are the handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.responses import Response

from ownstack.common.api.app import empty_response, json_response
from ownstack.common.api.schema import Validator
from ownstack.identity.api import views
from ownstack.identity.api.handlers.common import query_bool
from ownstack.identity.objects import Session
from ownstack.identity.state import Req

Row = TypeVar("Row")
Fields = dict[str, Any]


def enforce_on(req: Req, rule: str, noun: str) -> str:
    """Check policy ``rule`` against the ``noun`` the URL names (``{<noun>_id}``); its id."""
    ident = req.params[f"{noun}_id"]
    req.svc.enforce(req.ctx, rule, {f"target.{noun}.id": ident})
    return ident


@dataclass(frozen=True)
class Noun(Generic[Row]):
    """One plain noun: its key, view, schemas and the ``objects`` calls that do its work."""

    name: str                                   # the body's key, as in ``{"domain": {...}}``
    view: Callable[[Req, Row], Fields]
    create_schema: Validator
    update_schema: Validator
    find: Callable[..., Awaitable[Sequence[Row]]]        # takes the filters as keywords
    get: Callable[[Session, str], Awaitable[Row]]
    change: Callable[[Session, str, Fields], Awaitable[Row]]
    remove: Callable[[Session, str], Awaitable[None]]
    # None where creating needs more than the body: the noun's module has its own create
    # handler, made of :meth:`body` and :meth:`answer`.
    add: Callable[[Session, Fields], Awaitable[Row]] | None = None
    filters: tuple[str, ...] = ()               # query parameters, passed on as they are
    flags: tuple[str, ...] = ()                 # boolean query parameters (Keystone's parsing)
    plural: str = ""                            # the list's key, when not ``<name>s``

    @property
    def collection(self) -> str:
        return self.plural or f"{self.name}s"

    async def body(self, req: Req, schema: Validator) -> Fields:
        fields: Fields = (await req.json(schema))[self.name]
        return fields

    def answer(self, req: Req, row: Row, status: int = 200) -> Response:
        return json_response({self.name: self.view(req, row)}, status=status)

    async def list(self, req: Req) -> Response:
        req.svc.enforce(req.ctx, f"identity:list_{self.collection}")
        wanted: dict[str, Any] = {key: req.query.get(key) for key in self.filters}
        wanted.update({key: query_bool(req, key) for key in self.flags})
        async with req.svc.read() as db:
            found = await self.find(db, **wanted)
        return json_response(views.collection(req, self.collection,
                                              [self.view(req, row) for row in found]))

    async def show(self, req: Req) -> Response:
        ident = enforce_on(req, f"identity:get_{self.name}", self.name)
        async with req.svc.read() as db:
            row = await self.get(db, ident)
        return self.answer(req, row)

    async def create(self, req: Req) -> Response:
        if self.add is None:
            raise TypeError(f"a {self.name} is created by its own handler")
        req.svc.enforce(req.ctx, f"identity:create_{self.name}")
        data = await self.body(req, self.create_schema)
        async with req.svc.write() as db:
            row = await self.add(db, data)
        return self.answer(req, row, status=201)

    async def update(self, req: Req) -> Response:
        ident = enforce_on(req, f"identity:update_{self.name}", self.name)
        data = await self.body(req, self.update_schema)
        async with req.svc.write() as db:
            row = await self.change(db, ident, data)
        return self.answer(req, row)

    async def delete(self, req: Req) -> Response:
        ident = enforce_on(req, f"identity:delete_{self.name}", self.name)
        async with req.svc.write() as db:
            await self.remove(db, ident)
        return empty_response()
