"""console auth tokens: the one-time tokens of console URLs, stored hashed

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-05 12:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'compute_console_auth_tokens',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('console_type', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('internal_access_path', sa.String(length=255), nullable=True),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('access_url_base', sa.String(length=255), nullable=True),
        sa.Column('expires', sa.Integer(), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_console_auth_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_compute_console_auth_tokens_token_hash')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('compute_console_auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_console_auth_tokens_expires'),
                              ['expires'], unique=False)
        batch_op.create_index(batch_op.f('ix_compute_console_auth_tokens_instance_uuid'),
                              ['instance_uuid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_console_auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compute_console_auth_tokens_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_compute_console_auth_tokens_expires'))
    op.drop_table('compute_console_auth_tokens')
