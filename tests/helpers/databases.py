"""The databases and buses the functional suite runs on.

``OWNSTACK_TEST_DATABASES`` lists the backends (``sqlite``, ``postgresql``, ``mariadb``,
comma-separated; default ``sqlite``); each gets a fresh database and its own server, and
every functional test runs against each. A backend may name a bus after a ``+``:
``postgresql+rabbitmq`` runs that cloud's bus on the RabbitMQ at 127.0.0.1 (guest/guest, or
``OWNSTACK_TEST_AMQP``) under a namespace of its own, so the whole suite also runs over
RabbitMQ. PostgreSQL, MariaDB and RabbitMQ are expected on 127.0.0.1 with the CI machine's
credentials; a backend that was asked for and cannot be reached fails the run, it is never
skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator

PG_ADMIN_URL = os.environ.get("OWNSTACK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIADB_HOST = os.environ.get("OWNSTACK_TEST_MARIADB_HOST", "127.0.0.1")
AMQP_URL = os.environ.get("OWNSTACK_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/")


def backends() -> list[str]:
    """The ``OWNSTACK_TEST_DATABASES`` entries: ``backend`` or ``backend+bus``."""
    return [b.strip() for b in os.environ.get("OWNSTACK_TEST_DATABASES", "sqlite").split(",")
            if b.strip()]


@contextlib.contextmanager
def fresh_database(backend: str) -> Iterator[str | None]:
    """A new database on ``backend`` for one cloud, dropped afterwards: its URL, or None
    for SQLite, whose database the cloud makes in its state directory."""
    if backend == "sqlite":
        yield None
        return
    name = f"ownstack_test_{uuid.uuid4().hex[:12]}"
    url = asyncio.run(create_database(backend, name))
    try:
        yield url
    finally:
        asyncio.run(drop_database(backend, name))


def rabbitmq_bus(namespace: str) -> tuple[str, ...]:
    """Settings that put a cloud's bus on the test RabbitMQ, under a namespace no other
    cloud uses."""
    return (f"bus.url={AMQP_URL}", f"bus.namespace={namespace}-{uuid.uuid4().hex[:12]}")


async def create_database(backend: str, name: str) -> str:
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") \
            + f"/{name}"
    if backend == "mariadb":
        import aiomysql

        conn = await aiomysql.connect(host=MARIADB_HOST, user="root", password="")
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        finally:
            conn.close()
        return f"mysql+aiomysql://root@{MARIADB_HOST}/{name}?charset=utf8mb4"
    raise ValueError(f"unknown test database backend {backend!r}")


async def drop_database(backend: str, name: str) -> None:
    if backend == "postgresql":
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
    elif backend == "mariadb":
        import aiomysql

        conn = await aiomysql.connect(host=MARIADB_HOST, user="root", password="")
        try:
            async with conn.cursor() as cur:
                await cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
