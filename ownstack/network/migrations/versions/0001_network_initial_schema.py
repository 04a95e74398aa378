"""network initial schema: networks, subnets, subnet pools, ports and their addresses,
security groups and rules, tags and quotas

Revision ID: 0001
Revises:
Create Date: 2026-12-05 02:40:00
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
    op.create_table('network_networks',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('external', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('mtu', sa.Integer(), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('network_type', sa.String(length=32), nullable=False),
    sa.Column('physical_network', sa.String(length=64), nullable=True),
    sa.Column('segmentation_id', sa.Integer(), nullable=True),
    sa.Column('availability_zone_hints', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_networks')),
    sa.UniqueConstraint('network_type', 'segmentation_id', name='uq_network_networks_segment'),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_networks_project_id'), 'network_networks', ['project_id'], unique=False)
    op.create_table('network_quotas',
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('resource', sa.String(length=64), nullable=False),
    sa.Column('limit', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('project_id', 'resource', name=op.f('pk_network_quotas')),
    **TABLE_OPTIONS,
    )
    op.create_table('network_security_groups',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('stateful', sa.Boolean(), nullable=False),
    sa.Column('default_marker', sa.Boolean(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_security_groups')),
    sa.UniqueConstraint('project_id', 'default_marker', name='uq_network_security_groups_default'),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_security_groups_project_id'), 'network_security_groups', ['project_id'], unique=False)
    op.create_table('network_subnetpools',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('prefixes', sa.JSON(), nullable=False),
    sa.Column('default_prefixlen', sa.Integer(), nullable=False),
    sa.Column('min_prefixlen', sa.Integer(), nullable=False),
    sa.Column('max_prefixlen', sa.Integer(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('default_quota', sa.Integer(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_subnetpools')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_subnetpools_project_id'), 'network_subnetpools', ['project_id'], unique=False)
    op.create_table('network_tags',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('resource_type', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('resource_id', 'tag', name=op.f('pk_network_tags')),
    **TABLE_OPTIONS,
    )
    op.create_table('network_ports',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('mac_address', sa.String(length=32), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('device_id', sa.String(length=255), nullable=False),
    sa.Column('device_owner', sa.String(length=255), nullable=False),
    sa.Column('port_security_enabled', sa.Boolean(), nullable=False),
    sa.Column('allowed_address_pairs', sa.JSON(), nullable=False),
    sa.Column('binding_host_id', sa.String(length=255), nullable=False),
    sa.Column('binding_vnic_type', sa.String(length=64), nullable=False),
    sa.Column('binding_vif_type', sa.String(length=64), nullable=False),
    sa.Column('binding_vif_details', sa.JSON(), nullable=False),
    sa.Column('binding_profile', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], name=op.f('fk_network_ports_network_id_network_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_ports')),
    sa.UniqueConstraint('network_id', 'mac_address', name='uq_network_ports_mac'),
    **TABLE_OPTIONS,
    )
    op.create_index('ix_network_ports_device_id', 'network_ports', ['device_id'], unique=False)
    op.create_index(op.f('ix_network_ports_network_id'), 'network_ports', ['network_id'], unique=False)
    op.create_index(op.f('ix_network_ports_project_id'), 'network_ports', ['project_id'], unique=False)
    op.create_table('network_security_group_rules',
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('ethertype', sa.String(length=16), nullable=False),
    sa.Column('protocol', sa.String(length=40), nullable=True),
    sa.Column('port_range_min', sa.Integer(), nullable=True),
    sa.Column('port_range_max', sa.Integer(), nullable=True),
    sa.Column('remote_ip_prefix', sa.String(length=64), nullable=True),
    sa.Column('remote_group_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['remote_group_id'], ['network_security_groups.id'], name=op.f('fk_network_security_group_rules_remote_group_id_network_security_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['network_security_groups.id'], name=op.f('fk_network_security_group_rules_security_group_id_network_security_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_security_group_rules')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_security_group_rules_project_id'), 'network_security_group_rules', ['project_id'], unique=False)
    op.create_index(op.f('ix_network_security_group_rules_remote_group_id'), 'network_security_group_rules', ['remote_group_id'], unique=False)
    op.create_index(op.f('ix_network_security_group_rules_security_group_id'), 'network_security_group_rules', ['security_group_id'], unique=False)
    op.create_table('network_subnets',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('ip_version', sa.Integer(), nullable=False),
    sa.Column('cidr', sa.String(length=64), nullable=False),
    sa.Column('gateway_ip', sa.String(length=64), nullable=True),
    sa.Column('enable_dhcp', sa.Boolean(), nullable=False),
    sa.Column('ipv6_ra_mode', sa.String(length=32), nullable=True),
    sa.Column('ipv6_address_mode', sa.String(length=32), nullable=True),
    sa.Column('allocation_pools', sa.JSON(), nullable=False),
    sa.Column('dns_nameservers', sa.JSON(), nullable=False),
    sa.Column('host_routes', sa.JSON(), nullable=False),
    sa.Column('subnetpool_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], name=op.f('fk_network_subnets_network_id_network_networks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnetpool_id'], ['network_subnetpools.id'], name=op.f('fk_network_subnets_subnetpool_id_network_subnetpools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_subnets')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_subnets_network_id'), 'network_subnets', ['network_id'], unique=False)
    op.create_index(op.f('ix_network_subnets_project_id'), 'network_subnets', ['project_id'], unique=False)
    op.create_index(op.f('ix_network_subnets_subnetpool_id'), 'network_subnets', ['subnetpool_id'], unique=False)
    op.create_table('network_ip_allocations',
    sa.Column('subnet_id', sa.String(length=36), nullable=False),
    sa.Column('ip_address', sa.String(length=64), nullable=False),
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['network_ports.id'], name=op.f('fk_network_ip_allocations_port_id_network_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subnet_id'], ['network_subnets.id'], name=op.f('fk_network_ip_allocations_subnet_id_network_subnets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('subnet_id', 'ip_address', name=op.f('pk_network_ip_allocations')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_ip_allocations_network_id'), 'network_ip_allocations', ['network_id'], unique=False)
    op.create_index(op.f('ix_network_ip_allocations_port_id'), 'network_ip_allocations', ['port_id'], unique=False)
    op.create_table('network_port_security_groups',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('security_group_id', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['network_ports.id'], name=op.f('fk_network_port_security_groups_port_id_network_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['security_group_id'], ['network_security_groups.id'], name=op.f('fk_network_port_security_groups_security_group_id_network_security_groups')),
    sa.PrimaryKeyConstraint('port_id', 'security_group_id', name=op.f('pk_network_port_security_groups')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_port_security_groups_security_group_id'), 'network_port_security_groups', ['security_group_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    for table in ('network_port_security_groups', 'network_ip_allocations',
                  'network_security_group_rules', 'network_ports', 'network_subnets',
                  'network_tags', 'network_security_groups', 'network_quotas',
                  'network_subnetpools', 'network_networks'):
        op.drop_table(table)
