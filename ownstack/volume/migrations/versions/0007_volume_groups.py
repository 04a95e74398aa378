"""generic volume groups: group types and their specs, groups, group snapshots, and a
volume's group and a snapshot's group snapshot (Cinder's groups, 3.11-3.20; decision 71)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 05:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'volume_group_types',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('is_public', sa.Boolean(), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.Column('updated_at', datetime_type(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_group_types')),
        sa.UniqueConstraint('name', name='uq_volume_group_types_name'),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'volume_group_type_specs',
        sa.Column('group_type_id', sa.String(length=36), nullable=False),
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('value', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['group_type_id'], ['volume_group_types.id'],
            name=op.f('fk_volume_group_type_specs_group_type_id_volume_group_types'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('group_type_id', 'key',
                                name=op.f('pk_volume_group_type_specs')),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'volume_groups',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('availability_zone', sa.String(length=255), nullable=False),
        sa.Column('group_type_id', sa.String(length=36), nullable=False),
        sa.Column('volume_type_ids', sa.JSON(), nullable=False),
        sa.Column('group_snapshot_id', sa.String(length=36), nullable=True),
        sa.Column('source_group_id', sa.String(length=36), nullable=True),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.Column('updated_at', datetime_type(), nullable=False),
        sa.ForeignKeyConstraint(['group_type_id'], ['volume_group_types.id'],
                                name=op.f('fk_volume_groups_group_type_id_volume_group_types')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_groups')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_groups_project_id'), ['project_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_volume_groups_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_groups_group_type_id'), ['group_type_id'],
                              unique=False)
    op.create_table(
        'volume_group_snapshots',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('project_id', sa.String(length=255), nullable=False),
        sa.Column('user_id', sa.String(length=255), nullable=False),
        sa.Column('group_id', sa.String(length=36), nullable=False),
        sa.Column('group_type_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('description', sa.String(length=255), nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('created_at', datetime_type(), nullable=False),
        sa.Column('updated_at', datetime_type(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['volume_groups.id'],
                                name=op.f('fk_volume_group_snapshots_group_id_volume_groups')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_group_snapshots')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_group_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_group_snapshots_project_id'),
                              ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_group_snapshots_group_id'), ['group_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_volume_group_snapshots_status'), ['status'],
                              unique=False)
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_volume_volumes_group_id'), ['group_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_volume_volumes_group_id_volume_groups'),
                                    'volume_groups', ['group_id'], ['id'])
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_snapshot_id', sa.String(length=36),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_volume_snapshots_group_snapshot_id'),
                              ['group_snapshot_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_volume_snapshots_group_snapshot_id_volume_group_snapshots'),
            'volume_group_snapshots', ['group_snapshot_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_volume_snapshots_group_snapshot_id_volume_group_snapshots'),
            type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_volume_snapshots_group_snapshot_id'))
        batch_op.drop_column('group_snapshot_id')
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_volume_volumes_group_id_volume_groups'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_volume_volumes_group_id'))
        batch_op.drop_column('group_id')
    op.drop_table('volume_group_snapshots')
    op.drop_table('volume_groups')
    op.drop_table('volume_group_type_specs')
    op.drop_table('volume_group_types')
