"""What a network request sends to its database, for the tests that count statements
(decisions 79, 83 and 85), and a plain read of the rows it left."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from helpers.inprocess import ServiceClient
from helpers.sql_log import sent_statements


@asynccontextmanager
async def statements(network: ServiceClient) -> AsyncIterator[list[str]]:
    """The SQL the block sends from its own task; the transaction's own BEGIN, COMMIT and
    ROLLBACK are not counted (how a write transaction takes its lock is the database
    layer's affair), nor what a background task of the service (a DHCP nudge the request
    spawned, which may or may not reach its first statement before the block ends) sends
    meanwhile."""
    mine = asyncio.current_task()

    def keep(statement: str) -> bool:
        return (asyncio.current_task() is mine
                and not statement.lstrip().upper().startswith("BEGIN"))

    with sent_statements(engine=network.app.svc.db.engine.sync_engine, keep=keep) as sent:
        yield sent


def drawn_once(sent: list[str]) -> list[str]:
    """``sent`` with each run of address inserts counted once: a port create draws a
    random address of its pools and inserts it (``objects/addresses.py``), and a draw that hits an
    address another port holds is refused and followed by the next draw. How many draws
    a port takes is chance (one in 253 on a /24 with one port taken), not what a test of
    the request's reads and writes counts."""
    kept: list[str] = []
    for statement in sent:
        if (kept and _is_address_insert(statement) and _is_address_insert(kept[-1])):
            kept[-1] = statement
        else:
            kept.append(statement)
    return kept


def _is_address_insert(statement: str) -> bool:
    return statement.lstrip().upper().startswith("INSERT INTO NETWORK_IP_ALLOCATIONS")


async def rows(network: ServiceClient, query: Any) -> list[Any]:
    async with network.app.svc.read() as db:
        return list((await db.execute(query)).all())
