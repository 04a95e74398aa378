"""network agents: one row per (agent type, host), upserted by its heartbeats

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_agents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('agent_type', sa.String(length=255), nullable=False),
    sa.Column('binary', sa.String(length=255), nullable=False),
    sa.Column('topic', sa.String(length=255), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=True),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('configurations', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('started_at', datetime_type(), nullable=False),
    sa.Column('heartbeat_timestamp', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_agents')),
    sa.UniqueConstraint('agent_type', 'host', name='uq_network_agents_type_host'),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_agents_host'), 'network_agents', ['host'], unique=False)


def downgrade() -> None:
    op.drop_table('network_agents')
