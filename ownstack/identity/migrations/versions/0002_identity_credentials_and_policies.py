"""identity credentials (blobs encrypted with the credential keys), the deprecated
policy store, and OS-EP-FILTER's endpoint groups and project associations (decision 66)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 01:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'identity_credential',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=True),
        sa.Column('type', sa.String(length=255), nullable=False),
        sa.Column('encrypted_blob', sa.Text(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_credential')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_credential_user_id'), ['user_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_identity_credential_project_id'),
                              ['project_id'], unique=False)
    op.create_table(
        'identity_policy',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('type', sa.String(length=255), nullable=False),
        sa.Column('blob', sa.Text(), nullable=False),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_policy')),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'identity_endpoint_group',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('filters', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_endpoint_group')),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'identity_project_endpoint_group',
        sa.Column('endpoint_group_id', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['endpoint_group_id'], ['identity_endpoint_group.id'],
            name=op.f('fk_identity_project_endpoint_group_endpoint_group_id_identity_endpoint_group'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('endpoint_group_id', 'project_id',
                                name=op.f('pk_identity_project_endpoint_group')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_project_endpoint_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_project_endpoint_group_project_id'),
                              ['project_id'], unique=False)
    op.create_table(
        'identity_project_endpoint',
        sa.Column('endpoint_id', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['endpoint_id'], ['identity_endpoint.id'],
            name=op.f('fk_identity_project_endpoint_endpoint_id_identity_endpoint'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('endpoint_id', 'project_id',
                                name=op.f('pk_identity_project_endpoint')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_project_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_project_endpoint_project_id'),
                              ['project_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_project_endpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_project_endpoint_project_id'))
    op.drop_table('identity_project_endpoint')
    with op.batch_alter_table('identity_project_endpoint_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_project_endpoint_group_project_id'))
    op.drop_table('identity_project_endpoint_group')
    op.drop_table('identity_endpoint_group')
    op.drop_table('identity_policy')
    with op.batch_alter_table('identity_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_credential_project_id'))
        batch_op.drop_index(batch_op.f('ix_identity_credential_user_id'))
    op.drop_table('identity_credential')
