"""network DHCP agent bindings: which network agent serves a network's DHCP

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 06:00:00
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
    op.create_table('network_dhcp_agent_bindings',
    sa.Column('network_id', sa.String(length=36), nullable=False),
    sa.Column('agent_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['network_agents.id'], name=op.f('fk_network_dhcp_agent_bindings_agent_id_network_agents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['network_networks.id'], name=op.f('fk_network_dhcp_agent_bindings_network_id_network_networks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('network_id', name=op.f('pk_network_dhcp_agent_bindings')),
    **TABLE_OPTIONS,
    )
    op.create_index(op.f('ix_network_dhcp_agent_bindings_agent_id'), 'network_dhcp_agent_bindings', ['agent_id'], unique=False)


def downgrade() -> None:
    op.drop_table('network_dhcp_agent_bindings')
