"""Readable logs that carry the request id of the API call they belong to."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import TextIO

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def setup_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log duplicates ours, which carries the request id.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO; services' calls to each other are already in the
    # access log of the service called, under the same request id.
    for noisy in ("aiosqlite", "asyncio", "sqlalchemy.engine.Engine",
                  "alembic.runtime.migration", "httpx", "aio_pika", "aiormq", "qemu.qmp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
