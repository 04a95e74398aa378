"""volume initial schema: volumes, snapshots, types, attachments, services, quotas

Revision ID: 0001
Revises:
Create Date: 2026-12-05 09:20:00
"""
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('volume_project_locks',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_volume_project_locks')),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_qos_specs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('consumer', sa.String(length=16), nullable=False),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_qos_specs')),
    sa.UniqueConstraint('name', name='uq_volume_qos_specs_name'),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_quotas',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('hard_limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_volume_quotas')),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_services',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('binary', sa.String(length=64), nullable=False),
    sa.Column('backend', sa.String(length=64), nullable=False),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.String(length=255), nullable=True),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.Column('last_seen', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_services')),
    sa.UniqueConstraint('host', 'binary', name='uq_volume_services_host'),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_types',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('qos_specs_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['qos_specs_id'], ['volume_qos_specs.id'], name=op.f('fk_volume_types_qos_specs_id_volume_qos_specs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_types')),
    sa.UniqueConstraint('name', name='uq_volume_types_name'),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_default_types',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('type_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['volume_types.id'], name=op.f('fk_volume_default_types_type_id_volume_types')),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_volume_default_types')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_default_types', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_default_types_type_id'), ['type_id'], unique=False)

    op.create_table('volume_type_extra_specs',
    sa.Column('type_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['volume_types.id'], name=op.f('fk_volume_type_extra_specs_type_id_volume_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('type_id', 'key', name=op.f('pk_volume_type_extra_specs')),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_type_projects',
    sa.Column('type_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['type_id'], ['volume_types.id'], name=op.f('fk_volume_type_projects_type_id_volume_types'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('type_id', 'project_id', name=op.f('pk_volume_type_projects')),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_volumes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('previous_status', sa.String(length=32), nullable=True),
    sa.Column('availability_zone', sa.String(length=255), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('backend', sa.String(length=64), nullable=True),
    sa.Column('type_id', sa.String(length=36), nullable=False),
    sa.Column('snapshot_id', sa.String(length=36), nullable=True),
    sa.Column('source_volid', sa.String(length=36), nullable=True),
    sa.Column('image_id', sa.String(length=36), nullable=True),
    sa.Column('bootable', sa.Boolean(), nullable=False),
    sa.Column('read_only', sa.Boolean(), nullable=False),
    sa.Column('multiattach', sa.Boolean(), nullable=False),
    sa.Column('provider_location', sa.String(length=1024), nullable=True),
    sa.Column('format', sa.String(length=16), nullable=True),
    sa.Column('task', sa.JSON(), nullable=False),
    sa.Column('image_metadata', sa.JSON(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.Column('status_at', datetime_type(), nullable=False),
    sa.Column('launched_at', datetime_type(), nullable=True),
    sa.ForeignKeyConstraint(['type_id'], ['volume_types.id'], name=op.f('fk_volume_volumes_type_id_volume_types')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_volumes')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_volumes_host'), ['host'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_volumes_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_volumes_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_volumes_type_id'), ['type_id'], unique=False)

    op.create_table('volume_attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('instance_uuid', sa.String(length=36), nullable=True),
    sa.Column('attached_host', sa.String(length=255), nullable=True),
    sa.Column('mountpoint', sa.String(length=255), nullable=True),
    sa.Column('attach_mode', sa.String(length=8), nullable=False),
    sa.Column('attach_status', sa.String(length=32), nullable=False),
    sa.Column('connector', sa.JSON(), nullable=True),
    sa.Column('connection_info', sa.JSON(), nullable=True),
    sa.Column('attach_time', datetime_type(), nullable=True),
    sa.Column('detach_time', datetime_type(), nullable=True),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volume_volumes.id'], name=op.f('fk_volume_attachments_volume_id_volume_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_attachments')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_attachments_instance_uuid'), ['instance_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_attachments_volume_id'), ['volume_id'], unique=False)

    op.create_table('volume_snapshots',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.String(length=255), nullable=False),
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('progress', sa.String(length=8), nullable=False),
    sa.Column('provider_location', sa.String(length=1024), nullable=True),
    sa.Column('task', sa.JSON(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.Column('status_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volume_volumes.id'], name=op.f('fk_volume_snapshots_volume_id_volume_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volume_snapshots')),
    **TABLE_OPTIONS,
    )
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_volume_snapshots_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_snapshots_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_volume_snapshots_volume_id'), ['volume_id'], unique=False)

    op.create_table('volume_volume_metadata',
    sa.Column('volume_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['volume_volumes.id'], name=op.f('fk_volume_volume_metadata_volume_id_volume_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_id', 'key', name=op.f('pk_volume_volume_metadata')),
    **TABLE_OPTIONS,
    )
    op.create_table('volume_snapshot_metadata',
    sa.Column('snapshot_id', sa.String(length=36), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['snapshot_id'], ['volume_snapshots.id'], name=op.f('fk_volume_snapshot_metadata_snapshot_id_volume_snapshots'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('snapshot_id', 'key', name=op.f('pk_volume_snapshot_metadata')),
    **TABLE_OPTIONS,
    )

    # Cinder's default volume type, which volumes that name none get (3.62 made every
    # volume have a type).
    types = sa.table("volume_types", sa.column("id", sa.String), sa.column("name", sa.String),
                     sa.column("description", sa.String), sa.column("is_public", sa.Boolean),
                     sa.column("created_at", datetime_type()),
                     sa.column("updated_at", datetime_type()))
    now = datetime.now(UTC).replace(tzinfo=None)
    op.bulk_insert(types, [{"id": str(uuid.uuid4()), "name": "__DEFAULT__",
                            "description": "Default Volume Type", "is_public": True,
                            "created_at": now, "updated_at": now}])


def downgrade() -> None:
    op.drop_table('volume_snapshot_metadata')
    op.drop_table('volume_volume_metadata')
    with op.batch_alter_table('volume_snapshots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_snapshots_volume_id'))
        batch_op.drop_index(batch_op.f('ix_volume_snapshots_status'))
        batch_op.drop_index(batch_op.f('ix_volume_snapshots_project_id'))

    op.drop_table('volume_snapshots')
    with op.batch_alter_table('volume_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_attachments_volume_id'))
        batch_op.drop_index(batch_op.f('ix_volume_attachments_project_id'))
        batch_op.drop_index(batch_op.f('ix_volume_attachments_instance_uuid'))

    op.drop_table('volume_attachments')
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_volumes_type_id'))
        batch_op.drop_index(batch_op.f('ix_volume_volumes_status'))
        batch_op.drop_index(batch_op.f('ix_volume_volumes_project_id'))
        batch_op.drop_index(batch_op.f('ix_volume_volumes_host'))

    op.drop_table('volume_volumes')
    op.drop_table('volume_type_projects')
    op.drop_table('volume_type_extra_specs')
    with op.batch_alter_table('volume_default_types', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_volume_default_types_type_id'))

    op.drop_table('volume_default_types')
    op.drop_table('volume_types')
    op.drop_table('volume_services')
    op.drop_table('volume_quotas')
    op.drop_table('volume_qos_specs')
    op.drop_table('volume_project_locks')
