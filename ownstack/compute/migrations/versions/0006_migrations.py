"""migrations: resize and cold migration records (Nova's migrations table)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 12:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compute_migrations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('source_compute', sa.String(length=255), nullable=True),
    sa.Column('source_node', sa.String(length=255), nullable=True),
    sa.Column('dest_compute', sa.String(length=255), nullable=True),
    sa.Column('dest_node', sa.String(length=255), nullable=True),
    sa.Column('dest_host', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('migration_type', sa.String(length=32), nullable=False),
    sa.Column('old_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('new_instance_type_id', sa.Integer(), nullable=True),
    sa.Column('old_flavor', sa.JSON(), nullable=False),
    sa.Column('new_flavor', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_migrations')),
    sa.UniqueConstraint('uuid', name=op.f('uq_compute_migrations_uuid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('compute_migrations', schema=None) as batch_op:
        batch_op.create_index('ix_compute_migrations_instance_status',
                              ['instance_uuid', 'status'], unique=False)
        batch_op.create_index('ix_compute_migrations_status_updated',
                              ['status', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_migrations', schema=None) as batch_op:
        batch_op.drop_index('ix_compute_migrations_status_updated')
        batch_op.drop_index('ix_compute_migrations_instance_status')
    op.drop_table('compute_migrations')
