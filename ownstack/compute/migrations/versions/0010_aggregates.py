"""host aggregates: os-aggregates, their hosts and metadata; an aggregate's
availability_zone metadata is its hosts' zone (decision 65)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 02:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'compute_aggregates',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_aggregates')),
        sa.UniqueConstraint('name', name=op.f('uq_compute_aggregates_name')),
        sa.UniqueConstraint('uuid', name=op.f('uq_compute_aggregates_uuid')),
        **TABLE_OPTIONS,
    )
    for table, column, length in (('compute_aggregate_hosts', 'host', 255),
                                  ('compute_aggregate_metadata', 'key', 255)):
        extra = [sa.Column('value', sa.String(length=255), nullable=False)] \
            if column == 'key' else []
        op.create_table(
            table,
            sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
            sa.Column('aggregate_id', sa.Integer(), nullable=False),
            sa.Column(column, sa.String(length=length), nullable=False),
            *extra,
            sa.ForeignKeyConstraint(['aggregate_id'], ['compute_aggregates.id'],
                                    name=op.f(f'fk_{table}_aggregate_id_compute_aggregates'),
                                    ondelete='CASCADE'),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
            sa.UniqueConstraint('aggregate_id', column,
                                name=op.f(f'uq_{table}_aggregate_id_{column}')),
            **TABLE_OPTIONS,
        )
        op.create_index(op.f(f'ix_{table}_aggregate_id'), table, ['aggregate_id'],
                        unique=False)
    op.create_index(op.f('ix_compute_aggregate_hosts_host'), 'compute_aggregate_hosts',
                    ['host'], unique=False)


def downgrade() -> None:
    op.drop_table('compute_aggregate_metadata')
    op.drop_table('compute_aggregate_hosts')
    op.drop_table('compute_aggregates')
