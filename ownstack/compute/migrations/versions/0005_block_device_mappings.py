"""block device mappings: volumes attached to servers (and, later, booted from)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compute_block_device_mappings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('source_type', sa.String(length=16), nullable=False),
    sa.Column('destination_type', sa.String(length=16), nullable=False),
    sa.Column('boot_index', sa.Integer(), nullable=True),
    sa.Column('device_name', sa.String(length=255), nullable=True),
    sa.Column('device_type', sa.String(length=16), nullable=True),
    sa.Column('disk_bus', sa.String(length=16), nullable=True),
    sa.Column('guest_format', sa.String(length=255), nullable=True),
    sa.Column('delete_on_termination', sa.Boolean(), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=True),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('volume_size', sa.Integer(), nullable=True),
    sa.Column('volume_type', sa.String(length=255), nullable=True),
    sa.Column('tag', sa.String(length=60), nullable=True),
    sa.Column('attachment_id', sa.String(length=36), nullable=True),
    sa.Column('connection_info', sa.JSON(), nullable=True),
    sa.Column('attach_state', sa.String(length=16), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=True),
    sa.Column('deleted_at', datetime_type(), nullable=True),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['instance_uuid'], ['compute_instances.uuid'],
                            name=op.f('fk_compute_block_device_mappings_instance_uuid_compute_instances'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_compute_block_device_mappings')),
    sa.UniqueConstraint('uuid', name=op.f('uq_compute_block_device_mappings_uuid')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('compute_block_device_mappings', schema=None) as batch_op:
        batch_op.create_index('ix_compute_bdm_instance_deleted',
                              ['instance_uuid', 'deleted'], unique=False)
        batch_op.create_index('ix_compute_bdm_volume_deleted',
                              ['volume_id', 'deleted'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('compute_block_device_mappings', schema=None) as batch_op:
        batch_op.drop_index('ix_compute_bdm_volume_deleted')
        batch_op.drop_index('ix_compute_bdm_instance_deleted')
    op.drop_table('compute_block_device_mappings')
