"""Names of resource classes, traits and consumer types, and their internal ids.

The standard resource classes and traits are the official lists (``os-resource-classes``,
``os-traits``), written into the database at start-up. Custom ones are created through
the API. :class:`Names` caches name <-> id in memory and reloads a table when it meets a
name it does not know, so a class created by another API process is found.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import os_resource_classes
import os_traits
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.base import utcnow
from ownstack.common.db.core import Runner, run
from ownstack.common.errors import OwnstackError
from ownstack.placement.errors import ResourceClassNotFound, TraitNotFound
from ownstack.placement.objects.models import ConsumerType, ResourceClass, Trait

if TYPE_CHECKING:
    from ownstack.placement.state import PlacementState

STANDARD_RESOURCE_CLASSES: frozenset[str] = frozenset(os_resource_classes.STANDARDS)
STANDARD_TRAITS: frozenset[str] = frozenset(os_traits.get_traits())

NameTable = type[ResourceClass] | type[Trait] | type[ConsumerType]


class NameCache:
    """name <-> id of one table."""

    def __init__(self, table: NameTable) -> None:
        self.table = table
        self.by_name: dict[str, int] = {}
        self.by_id: dict[int, str] = {}

    async def reload(self, db: Runner) -> None:
        rows = (await run(db, select(self.table.id, self.table.name))).all()
        self.by_name = {name: id_ for id_, name in rows}
        self.by_id = {id_: name for id_, name in rows}

    async def ids(self, db: Runner, names: Iterable[str]) -> dict[str, int]:
        """name -> id for every name that exists; reloads once if one is unknown."""
        wanted = set(names)
        if not wanted <= self.by_name.keys():
            await self.reload(db)
        return {name: self.by_name[name] for name in wanted if name in self.by_name}

    async def all_ids(self, db: Runner, names: Iterable[str],
                      not_found: Callable[[str], OwnstackError]) -> dict[str, int]:
        """name -> id for every name; ``not_found`` of the unknown ones, comma-separated."""
        wanted = set(names)
        found = await self.ids(db, wanted)
        missing = wanted - found.keys()
        if missing:
            raise not_found(", ".join(sorted(missing)))
        return found

    async def name(self, db: Runner, id_: int) -> str:
        if id_ not in self.by_id:
            await self.reload(db)
        return self.by_id[id_]

    def forget(self) -> None:
        """Drop the cache after a local create or delete; the next lookup reloads."""
        self.by_name, self.by_id = {}, {}


class Names:
    def __init__(self) -> None:
        self.classes = NameCache(ResourceClass)
        self.traits = NameCache(Trait)
        self.consumer_types = NameCache(ConsumerType)

    async def class_ids(self, db: Runner, names: Iterable[str]) -> dict[str, int]:
        """Every named resource class's id; 404 naming the unknown ones."""
        return await self.classes.all_ids(db, names, ResourceClassNotFound)

    async def trait_ids(self, db: Runner, names: Iterable[str]) -> dict[str, int]:
        """Every named trait's id; 404 naming the unknown ones."""
        return await self.traits.all_ids(db, names, TraitNotFound)

    async def class_names(self, db: Runner) -> dict[int, str]:
        if not self.classes.by_id:
            await self.classes.reload(db)
        return self.classes.by_id

    async def consumer_type_id(self, svc: PlacementState, name: str) -> int:
        """The id of consumer type ``name``, created on first use as Placement does.

        Created in a transaction of its own, committed before any allocation refers to it:
        an id cached from a transaction that later rolled back would point at nothing.
        A type once known is answered from the cache without opening a session (each
        claim of a scheduling pass names one): consumer types are never deleted.
        """
        known = self.consumer_types.by_name.get(name)
        if known is not None:
            return known
        async with svc.read() as db:
            found = await self.consumer_types.ids(db, [name])
        if name in found:
            return found[name]
        try:
            async with svc.write() as db:
                await db.execute(insert(ConsumerType).values(name=name, created_at=utcnow()))
        except IntegrityError:
            pass   # created by a concurrent request
        async with svc.read() as db:
            await self.consumer_types.reload(db)
        return self.consumer_types.by_name[name]


async def sync_standard_names(svc: PlacementState) -> None:
    """Write the standard resource classes and traits the database lacks.

    Idempotent, and safe when several API processes start at once: a name another process
    inserted first is simply skipped. Standard traits the library no longer lists stay,
    since providers may still carry them.
    """
    for table, standard in ((ResourceClass, STANDARD_RESOURCE_CLASSES),
                            (Trait, STANDARD_TRAITS)):
        for _attempt in range(3):
            try:
                async with svc.write() as db:
                    existing = set((await db.execute(select(table.name))).scalars())
                    missing = sorted(standard - existing)
                    if missing:
                        now = utcnow()
                        await db.execute(insert(table),
                                         [{"name": name, "created_at": now} for name in missing])
                break
            except IntegrityError:
                continue
    async with svc.read() as db:
        await svc.names.classes.reload(db)
        await svc.names.traits.reload(db)
        await svc.names.consumer_types.reload(db)


async def delete_name(db: AsyncSession, table: NameTable, id_: int) -> None:
    await db.execute(delete(table).where(table.id == id_))
