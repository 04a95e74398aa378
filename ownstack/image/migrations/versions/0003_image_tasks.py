"""image tasks: Glance's /v2/tasks and its import task (decision 74)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 05:15:00.000000
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
    op.create_table('image_task',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=30), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('input', sa.JSON(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('user_id', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('expires_at', datetime_type(), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_task')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_task_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_task_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_task_expires_at'), ['expires_at'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('image_task')
