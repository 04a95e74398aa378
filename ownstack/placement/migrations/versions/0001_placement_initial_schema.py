"""placement initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 01:30:57.841819
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
    op.create_table('placement_consumer_types',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_consumer_types')),
    sa.UniqueConstraint('name', name=op.f('uq_placement_consumer_types_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('placement_resource_classes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_resource_classes')),
    sa.UniqueConstraint('name', name=op.f('uq_placement_resource_classes_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('placement_resource_providers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('root_provider_id', sa.Integer(), nullable=True),
    sa.Column('parent_provider_id', sa.Integer(), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.ForeignKeyConstraint(['parent_provider_id'], ['placement_resource_providers.id'], name='fk_placement_rp_parent'),
    sa.ForeignKeyConstraint(['root_provider_id'], ['placement_resource_providers.id'], name='fk_placement_rp_root'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_resource_providers')),
    sa.UniqueConstraint('name', name=op.f('uq_placement_resource_providers_name')),
    sa.UniqueConstraint('uuid', name=op.f('uq_placement_resource_providers_uuid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_resource_providers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_resource_providers_parent_provider_id'), ['parent_provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_resource_providers_root_provider_id'), ['root_provider_id'], unique=False)

    op.create_table('placement_traits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_traits')),
    sa.UniqueConstraint('name', name=op.f('uq_placement_traits_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('placement_allocations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_provider_id', sa.Integer(), nullable=False),
    sa.Column('consumer_id', sa.String(length=36), nullable=False),
    sa.Column('resource_class_id', sa.Integer(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.ForeignKeyConstraint(['resource_class_id'], ['placement_resource_classes.id'], name='fk_placement_alloc_rc'),
    sa.ForeignKeyConstraint(['resource_provider_id'], ['placement_resource_providers.id'], name='fk_placement_alloc_rp'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_allocations')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_allocations_consumer_id'), ['consumer_id'], unique=False)
        batch_op.create_index('ix_placement_allocations_usage', ['resource_provider_id', 'resource_class_id', 'used'], unique=False)

    op.create_table('placement_consumers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('consumer_type_id', sa.Integer(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.ForeignKeyConstraint(['consumer_type_id'], ['placement_consumer_types.id'], name='fk_placement_consumer_type'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_consumers')),
    sa.UniqueConstraint('uuid', name=op.f('uq_placement_consumers_uuid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_consumers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_consumers_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_consumers_user_id'), ['user_id'], unique=False)

    op.create_table('placement_inventories',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('resource_provider_id', sa.Integer(), nullable=False),
    sa.Column('resource_class_id', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('min_unit', sa.Integer(), nullable=False),
    sa.Column('max_unit', sa.Integer(), nullable=False),
    sa.Column('step_size', sa.Integer(), nullable=False),
    sa.Column('allocation_ratio', sa.Float(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.ForeignKeyConstraint(['resource_class_id'], ['placement_resource_classes.id'], name='fk_placement_inv_rc'),
    sa.ForeignKeyConstraint(['resource_provider_id'], ['placement_resource_providers.id'], name='fk_placement_inv_rp'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement_inventories')),
    sa.UniqueConstraint('resource_provider_id', 'resource_class_id', name='uq_placement_inv_rp_rc'),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_inventories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_inventories_resource_class_id'), ['resource_class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_placement_inventories_resource_provider_id'), ['resource_provider_id'], unique=False)

    op.create_table('placement_resource_provider_aggregates',
    sa.Column('resource_provider_id', sa.Integer(), nullable=False),
    sa.Column('aggregate_uuid', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['resource_provider_id'], ['placement_resource_providers.id'], name='fk_placement_rp_agg_rp'),
    sa.PrimaryKeyConstraint('resource_provider_id', 'aggregate_uuid', name=op.f('pk_placement_resource_provider_aggregates')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_resource_provider_aggregates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_resource_provider_aggregates_aggregate_uuid'), ['aggregate_uuid'], unique=False)

    op.create_table('placement_resource_provider_traits',
    sa.Column('resource_provider_id', sa.Integer(), nullable=False),
    sa.Column('trait_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resource_provider_id'], ['placement_resource_providers.id'], name='fk_placement_rp_trait_rp'),
    sa.ForeignKeyConstraint(['trait_id'], ['placement_traits.id'], name='fk_placement_rp_trait_trait'),
    sa.PrimaryKeyConstraint('resource_provider_id', 'trait_id', name=op.f('pk_placement_resource_provider_traits')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('placement_resource_provider_traits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_placement_resource_provider_traits_trait_id'), ['trait_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('placement_resource_provider_traits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_resource_provider_traits_trait_id'))

    op.drop_table('placement_resource_provider_traits')
    with op.batch_alter_table('placement_resource_provider_aggregates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_resource_provider_aggregates_aggregate_uuid'))

    op.drop_table('placement_resource_provider_aggregates')
    with op.batch_alter_table('placement_inventories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_inventories_resource_provider_id'))
        batch_op.drop_index(batch_op.f('ix_placement_inventories_resource_class_id'))

    op.drop_table('placement_inventories')
    with op.batch_alter_table('placement_consumers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_consumers_user_id'))
        batch_op.drop_index(batch_op.f('ix_placement_consumers_project_id'))

    op.drop_table('placement_consumers')
    with op.batch_alter_table('placement_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_placement_allocations_usage')
        batch_op.drop_index(batch_op.f('ix_placement_allocations_consumer_id'))

    op.drop_table('placement_allocations')
    op.drop_table('placement_traits')
    with op.batch_alter_table('placement_resource_providers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_placement_resource_providers_root_provider_id'))
        batch_op.drop_index(batch_op.f('ix_placement_resource_providers_parent_provider_id'))

    op.drop_table('placement_resource_providers')
    op.drop_table('placement_resource_classes')
    op.drop_table('placement_consumer_types')
