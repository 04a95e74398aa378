"""instances: the resolved network request, security groups and the network info cache

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 02:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('compute_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('network_requests', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('security_groups', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('network_info', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('network_status', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_compute_instances_deleted_network_status',
                              ['deleted', 'network_status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_compute_instances_deleted_network_status')
        batch_op.drop_column('network_status')
        batch_op.drop_column('network_info')
        batch_op.drop_column('security_groups')
        batch_op.drop_column('network_requests')
