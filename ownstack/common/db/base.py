"""Declarative base and column types shared by every service's models."""

from __future__ import annotations

import functools
import ipaddress
import json
import socket
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, String, Text, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

# Stable constraint names, so that Alembic migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Every table on MariaDB/MySQL: full Unicode, and exact (binary) comparison, so that ids and
# names compare the same way as on SQLite and PostgreSQL ("Default" is not "default").
TABLE_OPTIONS: dict[str, Any] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite and MariaDB keep no time zone."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # MariaDB's DATETIME drops fractions unless asked; revocation compares microseconds.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            # SQLAlchemy stores "YYYY-MM-DD HH:MM:SS.ffffff" text; one call per value instead
            # of the decorator's two (listings read thousands of these).
            return _sqlite_utc
        return super().result_processor(dialect, coltype)


def _sqlite_utc(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def canonical_ip(address: str) -> str:
    """An IP address as Nova stores and shows one: an IPv6 address in the canonical form
    ``inet_ntop`` writes (netaddr's, Nova's: lower case, no leading zeros, the longest run
    of zeros as ``::``, ``::ffff:1.2.3.4`` for a mapped IPv4 address), at most 39
    characters; an IPv4 address as dotted quads. Anything else is returned as it is."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.scope_id:
            return address
        return socket.inet_ntop(socket.AF_INET6, parsed.packed)
    return str(parsed)


class IPAddress(TypeDecorator[str]):
    """An IP address column (Nova's ``IPAddress`` type): every write, ORM or core, stores
    :func:`canonical_ip` of the value, so that the spelling a client sent (upper case, an
    uncompressed run of zeros, a 45-character ``0:0:0:0:0:ffff:1.2.3.4``) never reaches
    the 39-character column, on any backend."""

    impl = String(39)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return canonical_ip(value) if value else value


class UTCTimeText(TypeDecorator[Any]):
    """For reading a :class:`UTCDateTime` column when only its text is wanted (a listing
    of a thousand rows): SQLite's stored UTC text (``YYYY-MM-DD HH:MM:SS[.ffffff]``) as it
    is, with no datetime made; other databases, whose drivers return datetimes anyway, an
    aware UTC datetime as :class:`UTCDateTime` does. Use with ``type_coerce`` in selects;
    :func:`utc_text` formats either."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return UTCDateTime().load_dialect_impl(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name == "sqlite":
            return None
        return UTCDateTime().result_processor(dialect, coltype)


def utc_text(value: datetime | str, *, fraction: bool) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` (``.ffffff`` too with ``fraction``) in UTC, from a datetime
    or from the text :class:`UTCTimeText` reads on SQLite."""
    if isinstance(value, str):
        if not fraction:
            return f"{value[:10]}T{value[11:19]}"
        return f"{value[:10]}T{value[11:19]}{value[19:26] or '.000000'}"
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.isoformat(timespec="microseconds" if fraction else "seconds")
    return text[:-6] if value.tzinfo is not None else text      # less "+00:00"


class CachedJSON(TypeDecorator[Any]):
    """For reading a JSON column whose documents repeat across rows (the flavor copied
    into every server of that flavor): each distinct text is decoded once, and rows share
    the result, which callers must therefore not modify. Use with ``type_coerce``."""

    impl = Text
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        return _decoded

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        raise TypeError("CachedJSON is for reading only")


@functools.lru_cache(maxsize=1024)
def _decoded_text(text: str) -> Any:
    return json.loads(text)


def _decoded(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    return _decoded_text(value)


def new_id() -> str:
    """Keystone-style ids: 32 lowercase hex characters."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def id_column_type() -> String:
    return String(64)


def datetime_type() -> TypeEngine[datetime]:
    """The column type migrations use for UTCDateTime columns (microseconds everywhere)."""
    return DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
