"""identity domain-specific configuration and application credential access rules
(decision 72)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 05:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ownstack.common.db.base import TABLE_OPTIONS

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'identity_domain_config',
        sa.Column('domain_id', sa.String(length=64), nullable=False),
        sa.Column('group', sa.String(length=16), nullable=False),
        sa.Column('option', sa.String(length=64), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('sensitive', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ['domain_id'], ['identity_domain.id'],
            name=op.f('fk_identity_domain_config_domain_id_identity_domain'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('domain_id', 'group', 'option',
                                name=op.f('pk_identity_domain_config')),
        **TABLE_OPTIONS,
    )
    op.create_table(
        'identity_access_rule',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.String(length=64), nullable=False),
        sa.Column('service', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=225), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['identity_user.id'],
            name=op.f('fk_identity_access_rule_user_id_identity_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_access_rule')),
        sa.UniqueConstraint('user_id', 'service', 'path', 'method',
                            name=op.f('uq_identity_access_rule_user_id_service_path_method')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_access_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_access_rule_user_id'), ['user_id'],
                              unique=False)
    op.create_table(
        'identity_application_credential_access_rule',
        sa.Column('application_credential_id', sa.String(length=64), nullable=False),
        sa.Column('access_rule_id', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ['access_rule_id'], ['identity_access_rule.id'],
            name=op.f('fk_identity_application_credential_access_rule_access_rule_id_identity_access_rule')),
        sa.ForeignKeyConstraint(
            ['application_credential_id'], ['identity_application_credential.id'],
            name=op.f('fk_identity_application_credential_access_rule_application_credential_id_identity_application_credential'),
            ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('application_credential_id', 'access_rule_id',
                                name=op.f('pk_identity_application_credential_access_rule')),
        **TABLE_OPTIONS,
    )
    with op.batch_alter_table('identity_application_credential_access_rule',
                              schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_identity_application_credential_access_rule_access_rule_id'),
            ['access_rule_id'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; MariaDB refuses to drop first an index that a
    # foreign key needs.
    op.drop_table('identity_application_credential_access_rule')
    op.drop_table('identity_access_rule')
    op.drop_table('identity_domain_config')
