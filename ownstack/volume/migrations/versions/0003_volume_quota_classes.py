"""quota classes: os-quota-class-sets' limits; the default class's override
volume.quota.* (decision 62)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'volume_quota_classes',
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=300), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('class_name', 'resource', name=op.f('pk_volume_quota_classes')),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table('volume_quota_classes')
