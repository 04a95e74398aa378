"""quota classes: os-quota-class-sets' limits; the default class's override the configured
defaults (decision 62)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'compute_quota_classes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_quota_classes')),
        sa.UniqueConstraint('class_name', 'resource',
                            name=op.f('uq_compute_quota_classes_class_name_resource')),
        **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table('compute_quota_classes')
