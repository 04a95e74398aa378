"""network provisioning blocks: what a port waits for before it goes ACTIVE

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS, datetime_type

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('network_provisioning_blocks',
    sa.Column('port_id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('created_at', datetime_type(), nullable=False),
    sa.ForeignKeyConstraint(['port_id'], ['network_ports.id'], name=op.f('fk_network_provisioning_blocks_port_id_network_ports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('port_id', 'entity', name=op.f('pk_network_provisioning_blocks')),
    **TABLE_OPTIONS,
    )


def downgrade() -> None:
    op.drop_table('network_provisioning_blocks')
