"""image initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 01:05:57.132676
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('image_image',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('visibility', sa.String(length=20), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('os_hidden', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=True),
    sa.Column('disk_format', sa.String(length=20), nullable=True),
    sa.Column('container_format', sa.String(length=20), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('virtual_size', sa.BigInteger(), nullable=True),
    sa.Column('checksum', sa.String(length=32), nullable=True),
    sa.Column('os_hash_algo', sa.String(length=64), nullable=True),
    sa.Column('os_hash_value', sa.String(length=128), nullable=True),
    sa.Column('min_disk', sa.Integer(), nullable=False),
    sa.Column('min_ram', sa.Integer(), nullable=False),
    sa.Column('detected_format', sa.String(length=20), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_image')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_image_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_image_owner'), ['owner'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_image_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_image_visibility'), ['visibility'], unique=False)

    op.create_table('image_member',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image_image.id'], name=op.f('fk_image_member_image_id_image_image'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'member_id', name=op.f('pk_image_member')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_member_member_id'), ['member_id'], unique=False)

    op.create_table('image_tag',
    sa.Column('image_id', sa.String(length=36), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image_image.id'], name=op.f('fk_image_tag_image_id_image_image'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('image_id', 'value', name=op.f('pk_image_tag')),
    **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table('image_tag')
    with op.batch_alter_table('image_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_member_member_id'))

    op.drop_table('image_member')
    with op.batch_alter_table('image_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_image_visibility'))
        batch_op.drop_index(batch_op.f('ix_image_image_status'))
        batch_op.drop_index(batch_op.f('ix_image_image_owner'))
        batch_op.drop_index(batch_op.f('ix_image_image_name'))

    op.drop_table('image_image')
