"""network ports: an index on binding_host_id, for the hosts a port change concerns

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_ports_binding_host_id'),
                              ['binding_host_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_network_ports_binding_host_id'))
