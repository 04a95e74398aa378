"""The body of every service's Alembic ``env.py``: migrate on the connection we pass in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from ownstack.common.db.migrate import version_table


def run(metadata: MetaData) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("ownstack migrations run through ownstack.common.db.migrate.upgrade")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table(config.attributes["service"]),
        render_as_batch=True,  # SQLite needs batch mode to alter tables
    )
    with context.begin_transaction():
        context.run_migrations()
