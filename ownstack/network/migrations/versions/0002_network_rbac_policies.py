"""network RBAC policies: networks shared with, or external for, other projects

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 02:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_rbac_policies',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target_project', sa.String(length=255), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_rbac_policies')),
    sa.UniqueConstraint('object_type', 'object_id', 'action', 'target_project',
                        name='uq_network_rbac_policies_grant'),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_rbac_policies_project_id'), 'network_rbac_policies',
                    ['project_id'], unique=False)
    op.create_index(op.f('ix_network_rbac_policies_object_id'), 'network_rbac_policies',
                    ['object_id'], unique=False)
    op.create_index(op.f('ix_network_rbac_policies_target_project'), 'network_rbac_policies',
                    ['target_project'], unique=False)


def downgrade() -> None:
    op.drop_table('network_rbac_policies')
