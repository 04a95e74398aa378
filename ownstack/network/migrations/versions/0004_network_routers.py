"""network routers (their interfaces and gateways) and floating IPs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 02:50:00
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
    op.create_table('network_routers',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('admin_state_up', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('gw_network_id', sa.String(length=36), nullable=True),
    sa.Column('gw_port_id', sa.String(length=36), nullable=True),
    sa.Column('enable_snat', sa.Boolean(), nullable=False),
    sa.Column('routes', sa.JSON(), nullable=False),
    sa.Column('availability_zone_hints', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['gw_network_id'], ['network_networks.id'], name=op.f('fk_network_routers_gw_network_id_network_networks')),
    sa.ForeignKeyConstraint(['gw_port_id'], ['network_ports.id'], name=op.f('fk_network_routers_gw_port_id_network_ports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_routers')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_routers_gw_network_id'), 'network_routers', ['gw_network_id'], unique=False)
    op.create_index(op.f('ix_network_routers_project_id'), 'network_routers', ['project_id'], unique=False)
    op.create_table('network_floating_ips',
    sa.Column('floating_network_id', sa.String(length=36), nullable=False),
    sa.Column('floating_port_id', sa.String(length=36), nullable=False),
    sa.Column('floating_ip_address', sa.String(length=64), nullable=False),
    sa.Column('fixed_port_id', sa.String(length=36), nullable=True),
    sa.Column('fixed_ip_address', sa.String(length=64), nullable=True),
    sa.Column('router_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('project_id', sa.String(length=255), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=False),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.Column('updated_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['fixed_port_id'], ['network_ports.id'], name=op.f('fk_network_floating_ips_fixed_port_id_network_ports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['floating_network_id'], ['network_networks.id'], name=op.f('fk_network_floating_ips_floating_network_id_network_networks')),
    sa.ForeignKeyConstraint(['floating_port_id'], ['network_ports.id'], name=op.f('fk_network_floating_ips_floating_port_id_network_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['network_routers.id'], name=op.f('fk_network_floating_ips_router_id_network_routers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_network_floating_ips')),
    sa.UniqueConstraint('floating_network_id', 'fixed_port_id', 'fixed_ip_address', name='uq_network_floating_ips_fixed'),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_floating_ips_fixed_port_id'), 'network_floating_ips', ['fixed_port_id'], unique=False)
    op.create_index(op.f('ix_network_floating_ips_floating_network_id'), 'network_floating_ips', ['floating_network_id'], unique=False)
    op.create_index(op.f('ix_network_floating_ips_floating_port_id'), 'network_floating_ips', ['floating_port_id'], unique=False)
    op.create_index(op.f('ix_network_floating_ips_project_id'), 'network_floating_ips', ['project_id'], unique=False)
    op.create_index(op.f('ix_network_floating_ips_router_id'), 'network_floating_ips', ['router_id'], unique=False)
    op.create_table('network_router_ports',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('router_id', sa.String(length=36), nullable=False),
    sa.Column('port_type', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['network_ports.id'], name=op.f('fk_network_router_ports_port_id_network_ports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['network_routers.id'], name=op.f('fk_network_router_ports_router_id_network_routers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', name=op.f('pk_network_router_ports')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_router_ports_router_id'), 'network_router_ports', ['router_id'], unique=False)


def downgrade() -> None:
    op.drop_table('network_router_ports')
    op.drop_table('network_floating_ips')
    op.drop_table('network_routers')
