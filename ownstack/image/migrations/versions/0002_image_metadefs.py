"""image metadefs: Glance's metadata definitions catalog, and the resource types
Glance's own definitions declare (decision 69)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 01:31:10.635167
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type, utcnow

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED_RESOURCE_TYPES = ('OS::Glance::Image', 'OS::Cinder::Volume', 'OS::Nova::Flavor',
                         'OS::Nova::Aggregate', 'OS::Nova::Server', 'OS::Trove::Instance')


def upgrade() -> None:
    op.create_table('image_metadef_namespace',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('visibility', sa.String(length=32), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_metadef_namespace')),
    sa.UniqueConstraint('namespace', name=op.f('uq_image_metadef_namespace_namespace')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_metadef_namespace', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_metadef_namespace_owner'), ['owner'], unique=False)

    op.create_table('image_metadef_resource_type',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('protected', sa.Boolean(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_metadef_resource_type')),
    sa.UniqueConstraint('name', name=op.f('uq_image_metadef_resource_type_name')),
    **TABLE_OPTIONS,
    )
    op.create_table('image_metadef_object',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('required', sa.JSON(), nullable=True),
    sa.Column('properties', sa.JSON(), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['image_metadef_namespace.id'], name=op.f('fk_image_metadef_object_namespace_id_image_metadef_namespace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_metadef_object')),
    sa.UniqueConstraint('namespace_id', 'name', name=op.f('uq_image_metadef_object_namespace_id_name')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_metadef_object', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_metadef_object_namespace_id'), ['namespace_id'], unique=False)

    op.create_table('image_metadef_property',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['image_metadef_namespace.id'], name=op.f('fk_image_metadef_property_namespace_id_image_metadef_namespace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_metadef_property')),
    sa.UniqueConstraint('namespace_id', 'name', name=op.f('uq_image_metadef_property_namespace_id_name')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_metadef_property', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_metadef_property_namespace_id'), ['namespace_id'], unique=False)

    op.create_table('image_metadef_resource_type_association',
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('resource_type_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=80), nullable=True),
    sa.Column('properties_target', sa.String(length=80), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['image_metadef_namespace.id'], name=op.f('fk_image_metadef_resource_type_association_namespace_id_image_metadef_namespace'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resource_type_id'], ['image_metadef_resource_type.id'], name=op.f('fk_image_metadef_resource_type_association_resource_type_id_image_metadef_resource_type'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('namespace_id', 'resource_type_id', name=op.f('pk_image_metadef_resource_type_association')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_metadef_resource_type_association', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_metadef_resource_type_association_resource_type_id'), ['resource_type_id'], unique=False)

    op.create_table('image_metadef_tag',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('namespace_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['namespace_id'], ['image_metadef_namespace.id'], name=op.f('fk_image_metadef_tag_namespace_id_image_metadef_namespace'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image_metadef_tag')),
    sa.UniqueConstraint('namespace_id', 'name', name=op.f('uq_image_metadef_tag_namespace_id_name')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('image_metadef_tag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_metadef_tag_namespace_id'), ['namespace_id'], unique=False)

    # The resource types of the definitions glance-manage db_load_metadefs loads
    # (etc/metadefs), protected as it makes them; the definitions themselves are not seeded.
    now = utcnow().replace(tzinfo=None)     # the column's naive UTC
    op.bulk_insert(sa.table('image_metadef_resource_type', sa.column('name', sa.String),
                            sa.column('protected', sa.Boolean),
                            sa.column('created_at', datetime_type()),
                            sa.column('updated_at', datetime_type())),
                   [{'name': name, 'protected': True, 'created_at': now, 'updated_at': now}
                    for name in SEEDED_RESOURCE_TYPES])


def downgrade() -> None:
    with op.batch_alter_table('image_metadef_tag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_metadef_tag_namespace_id'))

    op.drop_table('image_metadef_tag')
    with op.batch_alter_table('image_metadef_resource_type_association', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_metadef_resource_type_association_resource_type_id'))

    op.drop_table('image_metadef_resource_type_association')
    with op.batch_alter_table('image_metadef_property', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_metadef_property_namespace_id'))

    op.drop_table('image_metadef_property')
    with op.batch_alter_table('image_metadef_object', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_metadef_object_namespace_id'))

    op.drop_table('image_metadef_object')
    op.drop_table('image_metadef_resource_type')
    with op.batch_alter_table('image_metadef_namespace', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_metadef_namespace_owner'))

    op.drop_table('image_metadef_namespace')
