"""compute initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 02:14:34.861296
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
    op.create_table('compute_flavors',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flavorid', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('memory_mb', sa.Integer(), nullable=False),
    sa.Column('vcpus', sa.Integer(), nullable=False),
    sa.Column('root_gb', sa.Integer(), nullable=False),
    sa.Column('ephemeral_gb', sa.Integer(), nullable=False),
    sa.Column('swap', sa.Integer(), nullable=False),
    sa.Column('rxtx_factor', sa.Float(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_flavors')),
    sa.UniqueConstraint('flavorid', name=op.f('uq_compute_flavors_flavorid')),
    sa.UniqueConstraint('name', name=op.f('uq_compute_flavors_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('compute_key_pairs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('public_key', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_key_pairs')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_compute_key_pairs_user_id_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('compute_flavor_extra_specs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['compute_flavors.id'], name=op.f('fk_compute_flavor_extra_specs_flavor_id_compute_flavors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_flavor_extra_specs')),
    sa.UniqueConstraint('flavor_id', 'key', name=op.f('uq_compute_flavor_extra_specs_flavor_id_key')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('compute_flavor_extra_specs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_flavor_extra_specs_flavor_id'), ['flavor_id'], unique=False)

    op.create_table('compute_flavor_projects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('flavor_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['flavor_id'], ['compute_flavors.id'], name=op.f('fk_compute_flavor_projects_flavor_id_compute_flavors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_flavor_projects')),
    sa.UniqueConstraint('flavor_id', 'project_id', name=op.f('uq_compute_flavor_projects_flavor_id_project_id')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('compute_flavor_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compute_flavor_projects_flavor_id'), ['flavor_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_flavor_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compute_flavor_projects_flavor_id'))

    op.drop_table('compute_flavor_projects')
    with op.batch_alter_table('compute_flavor_extra_specs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compute_flavor_extra_specs_flavor_id'))

    op.drop_table('compute_flavor_extra_specs')
    op.drop_table('compute_key_pairs')
    op.drop_table('compute_flavors')
