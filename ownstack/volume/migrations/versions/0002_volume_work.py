"""volumes and snapshots: the work the API asked of the host's agent (decision 59)

A status alone no longer asks the agent for anything (an admin's reset-status writes
statuses only): rows already in a status an agent works on keep that work.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 19:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VOLUME_WORK = ('creating', 'deleting', 'extending', 'uploading', 'reverting')
SNAPSHOT_WORK = ('creating', 'deleting')


def upgrade() -> None:
    for table, statuses in (('volume_volumes', VOLUME_WORK),
                            ('volume_snapshots', SNAPSHOT_WORK)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('work', sa.String(length=32), nullable=True))
        rows = sa.table(table, sa.column('status', sa.String), sa.column('work', sa.String))
        op.execute(rows.update().where(rows.c.status.in_(statuses))
                   .values(work=rows.c.status))


def downgrade() -> None:
    for table in ('volume_snapshots', 'volume_volumes'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('work')
