"""user messages: what went wrong with an answered action (Cinder's messages, 3.3;
decision 70)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 01:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'volume_messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('request_id', sa.String(length=255), nullable=False),
        sa.Column('resource_type', sa.String(length=36), nullable=False),
        sa.Column('resource_uuid', sa.String(length=36), nullable=True),
        sa.Column('event_id', sa.String(length=255), nullable=False),
        sa.Column('action_id', sa.String(length=10), nullable=False),
        sa.Column('detail_id', sa.String(length=10), nullable=False),
        sa.Column('message_level', sa.String(length=255), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.Column('expires_at', datetime_type(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_messages')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_messages_project_id'), ['project_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_volume_messages_resource_uuid'),
                              ['resource_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_messages_expires_at'), ['expires_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('volume_messages')
