"""identity credentials (blobs encrypted with the credential keys) and the deprecated
policy store (decision 66)

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


def downgrade() -> None:
    op.drop_table('identity_policy')
    with op.batch_alter_table('identity_credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_credential_project_id'))
        batch_op.drop_index(batch_op.f('ix_identity_credential_user_id'))
    op.drop_table('identity_credential')
