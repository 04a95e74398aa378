"""The body of every service's Alembic ``env.py``: migrate on the connection we pass in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from ownstack.common.db.migrate import version_table


def run(metadata: MetaData) -> None:
    config = context.config
    service = config.attributes["service"]
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("ownstack migrations run through ownstack.common.db.migrate.upgrade")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table(service),
        render_as_batch=True,  # SQLite needs batch mode to alter tables
        # Each service sees only its own tables, so one service's autogenerate never
        # proposes to drop another's.
        include_name=lambda name, kind, _parents: kind != "table" or (
            name is not None and name.startswith(f"{service}_")),
    )
    with context.begin_transaction():
        context.run_migrations()
