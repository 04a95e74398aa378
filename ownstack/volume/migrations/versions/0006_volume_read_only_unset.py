"""a volume's read-only flag may be unset (NULL): Cinder shows `readonly` in a volume's
metadata once the flag was ever set, "False" too (decision 70)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 01:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.alter_column('read_only', existing_type=sa.Boolean(), nullable=True)
    # A flag that is false was, as far as anyone can tell, never set.
    op.execute(sa.text("UPDATE volume_volumes SET read_only = NULL WHERE read_only = :no")
               .bindparams(no=False))


def downgrade() -> None:
    op.execute(sa.text("UPDATE volume_volumes SET read_only = :no WHERE read_only IS NULL")
               .bindparams(no=False))
    with op.batch_alter_table('volume_volumes', schema=None) as batch_op:
        batch_op.alter_column('read_only', existing_type=sa.Boolean(), nullable=False)
