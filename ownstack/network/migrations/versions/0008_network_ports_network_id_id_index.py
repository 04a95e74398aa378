"""network ports: the index on network_id becomes one on (network_id, id), so that a
network's ports are read in the order of their ids without a sort

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:30:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new index first: MariaDB keeps an index for the foreign key on network_id.
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.create_index('ix_network_ports_network_id_id', ['network_id', 'id'],
                              unique=False)
        batch_op.drop_index(batch_op.f('ix_network_ports_network_id'))


def downgrade() -> None:
    with op.batch_alter_table('network_ports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_network_ports_network_id'), ['network_id'],
                              unique=False)
        batch_op.drop_index('ix_network_ports_network_id_id')
