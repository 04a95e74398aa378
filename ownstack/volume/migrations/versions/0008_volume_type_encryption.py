"""volume type encryption: a type's encryption provider, cipher, key size and control
location (Cinder's ``encryption`` table; decision 73)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'volume_type_encryption',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('type_id', sa.String(length=36), nullable=False),
        sa.Column('provider', sa.String(length=255), nullable=False),
        sa.Column('cipher', sa.String(length=255), nullable=True),
        sa.Column('key_size', sa.Integer(), nullable=True),
        sa.Column('control_location', sa.String(length=16), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.Column('updated_at', datetime_type(), nullable=True),
        sa.ForeignKeyConstraint(['type_id'], ['volume_types.id'],
                                name=op.f('fk_volume_type_encryption_type_id_volume_types'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_type_encryption')),
        sa.UniqueConstraint('type_id', name='uq_volume_type_encryption_type'),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table('volume_type_encryption')
