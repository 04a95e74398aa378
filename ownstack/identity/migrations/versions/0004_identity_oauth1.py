"""identity OS-OAUTH1: consumers, request and access tokens, nonces (decision 76)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 05:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'identity_oauth1_consumer',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('extra', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_oauth1_consumer')),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'identity_oauth1_request_token',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('consumer_id', sa.String(length=64), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('authorizing_user_id', sa.String(length=64), nullable=True),
        sa.Column('verifier', sa.String(length=64), nullable=True),
        sa.Column('role_ids', sa.JSON(), nullable=True),
        sa.Column('expires_at', datetime_type(), nullable=True),
        sa.ForeignKeyConstraint(
            ['consumer_id'], ['identity_oauth1_consumer.id'],
            name=op.f('fk_identity_oauth1_request_token_consumer_id_identity_oauth1_consumer'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_oauth1_request_token')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_oauth1_request_token', schema=None) as batch_op:
        for column in ('consumer_id', 'project_id', 'authorizing_user_id'):
            batch_op.create_index(batch_op.f(f'ix_identity_oauth1_request_token_{column}'),
                                  [column], unique=False)
    op.create_table(
        'identity_oauth1_access_token',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('consumer_id', sa.String(length=64), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('project_id', sa.String(length=64), nullable=False),
        sa.Column('role_ids', sa.JSON(), nullable=False),
        sa.Column('expires_at', datetime_type(), nullable=True),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.ForeignKeyConstraint(
            ['consumer_id'], ['identity_oauth1_consumer.id'],
            name=op.f('fk_identity_oauth1_access_token_consumer_id_identity_oauth1_consumer'),
            ondelete='CASCADE'),
        sa.ForeignKeyConstraint(
            ['user_id'], ['identity_user.id'],
            name=op.f('fk_identity_oauth1_access_token_user_id_identity_user'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_oauth1_access_token')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_oauth1_access_token', schema=None) as batch_op:
        for column in ('consumer_id', 'user_id', 'project_id'):
            batch_op.create_index(batch_op.f(f'ix_identity_oauth1_access_token_{column}'),
                                  [column], unique=False)
    op.create_table(
        'identity_oauth1_nonce',
        sa.Column('consumer_id', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('seen_at', datetime_type(), nullable=False),
        sa.PrimaryKeyConstraint('consumer_id', 'nonce', name=op.f('pk_identity_oauth1_nonce')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_oauth1_nonce', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_oauth1_nonce_seen_at'), ['seen_at'],
                              unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; the tokens first, for their foreign keys.
    op.drop_table('identity_oauth1_nonce')
    op.drop_table('identity_oauth1_access_token')
    op.drop_table('identity_oauth1_request_token')
    op.drop_table('identity_oauth1_consumer')
