"""Console auth tokens (Nova's ``ConsoleAuthToken``): what makes a console URL work once.

A console URL carries a random token; the database keeps only its SHA-256, so a reader of
the database cannot open a console. A token is bound to one instance and to the console
socket its host's agent named (``host`` and ``internal_access_path``; ``port`` is 0 for a
Unix socket). It is valid for ``console.token_ttl`` seconds (Nova's ``token_ttl``), and,
unlike Nova's, for one connection only: :func:`consume` removes it in the transaction that
accepts it, and a second connection with it is refused. The tokens of a server go when
its delete begins (:func:`delete_for_instance`), and the proxy refuses a token whose
server is deleted or being deleted all the same. Expired rows are removed as tokens are
made and used.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownstack.common.db.cas import rows_matched
from ownstack.compute import states
from ownstack.compute.objects.models import ConsoleAuthToken, Instance


@dataclass(frozen=True, slots=True)
class ConsoleTarget:
    """What a valid token opens: the console socket of one instance on one host."""

    instance_uuid: str
    console_type: str
    host: str
    port: int
    internal_access_path: str | None
    access_url_base: str | None
    expires: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def access_url(console_type: str, base: str, token: str) -> str:
    """The URL handed out, as Nova's ``access_url``: for noVNC the token goes into the
    ``path`` query parameter noVNC opens its websocket on (``?path=%3Ftoken%3D...``),
    for the others into the URL's own query."""
    if console_type == "novnc":
        parsed = urllib.parse.urlsplit(base)
        query = urllib.parse.parse_qs(parsed.query)
        query["path"] = [f"{query.get('path', [''])[0]}?token={token}"]
        return parsed._replace(query=urllib.parse.urlencode(query, doseq=True)).geturl()
    return f"{base}?token={token}"


async def authorize(db: AsyncSession, *, console_type: str, instance_uuid: str, host: str,
                    path: str, access_url_base: str, ttl: int,
                    now: float | None = None) -> str:
    """Store a new token for the console at ``host``:``path`` and return it (the only
    time it exists in clear)."""
    now_ts = int(time.time() if now is None else now)
    await db.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= now_ts))
    token = secrets.token_urlsafe(32)
    db.add(ConsoleAuthToken(token_hash=hash_token(token), console_type=console_type,
                            host=host, port=0, internal_access_path=path,
                            instance_uuid=instance_uuid, access_url_base=access_url_base,
                            expires=now_ts + ttl))
    await db.flush()
    return token


async def validate(db: AsyncSession, token: str, *, now: float | None = None
                   ) -> ConsoleTarget | None:
    """The console a token opens, if it is valid now (for ``os-console-auth-tokens``: this
    does not use it up)."""
    row = await _valid_row(db, token, None, now)
    return _target(row) if row is not None else None


async def consume(db: AsyncSession, token: str, console_types: Collection[str], *,
                  now: float | None = None) -> ConsoleTarget | None:
    """Use the token up: the console it opens if it is valid now, for one of
    ``console_types``, and its server is neither deleted nor being deleted; ``None``
    otherwise. Of two connections racing with one token, one wins (the delete's row
    count)."""
    row = await _valid_row(db, token, console_types, now)
    if row is None:
        return None
    target = _target(row)
    result = await db.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.id == row.id)
                              .execution_options(synchronize_session=False))
    if rows_matched(result) != 1:
        return None
    server = (await db.execute(select(Instance.deleted, Instance.task_state).where(
        Instance.uuid == target.instance_uuid))).one_or_none()
    if server is None or server.deleted or server.task_state == states.DELETING:
        return None
    return target


# Built once (a statement built per call costs more CPU than running it): every delete
# runs it.
_DELETE_FOR_INSTANCE: Final = (delete(ConsoleAuthToken)
                               .where(ConsoleAuthToken.instance_uuid
                                      == bindparam("instance_uuid"))
                               .execution_options(synchronize_session=False))


async def delete_for_instance(db: AsyncSession, instance_uuid: str) -> None:
    """Nova's ``clean_console_auths_for_instance``: the server's URLs stop working."""
    await db.execute(_DELETE_FOR_INSTANCE, {"instance_uuid": instance_uuid})


async def _valid_row(db: AsyncSession, token: str, console_types: Collection[str] | None,
                     now: float | None) -> ConsoleAuthToken | None:
    if not token:
        return None
    now_ts = int(time.time() if now is None else now)
    query = select(ConsoleAuthToken).where(ConsoleAuthToken.token_hash == hash_token(token),
                                           ConsoleAuthToken.expires > now_ts)
    if console_types is not None:
        query = query.where(ConsoleAuthToken.console_type.in_(list(console_types)))
    return (await db.execute(query)).scalar_one_or_none()


def _target(row: ConsoleAuthToken) -> ConsoleTarget:
    return ConsoleTarget(instance_uuid=row.instance_uuid, console_type=row.console_type,
                         host=row.host, port=row.port,
                         internal_access_path=row.internal_access_path,
                         access_url_base=row.access_url_base, expires=row.expires)
