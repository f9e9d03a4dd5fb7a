"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Also makes the audit log append-only with triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('entity', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.String(length=36), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_entity_id'), ['entity_id'], unique=False)

    op.create_table('config_document',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('doc_version', sa.String(length=32), nullable=False),
    sa.Column('issuer', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_document'))
    )
    with op.batch_alter_table('config_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_config_document_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_config_document_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_config_document_partition'), ['partition'], unique=False)

    op.create_table('local_setting',
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_local_setting'))
    )
    op.create_table('township',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('county_name', sa.String(length=64), nullable=False),
    sa.Column('county_code', sa.String(length=12), nullable=False),
    sa.Column('office_name', sa.String(length=64), nullable=False),
    sa.Column('office_phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('leader_name', sa.String(length=32), nullable=False),
    sa.Column('leader_phone', sa.String(length=32), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_township'))
    )
    with op.batch_alter_table('township', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_township_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_township_partition'), ['partition'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    op.create_table('contact',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('org_kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.String(length=36), nullable=True),
    sa.Column('position', sa.String(length=64), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('mobile', sa.String(length=32), nullable=False),
    sa.Column('office_phone', sa.String(length=32), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_contact_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact'))
    )
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_mobile'), ['mobile'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_township_id'), ['township_id'], unique=False)

    op.create_table('township_unit',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('head_name', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_township_unit_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_township_unit'))
    )
    with op.batch_alter_table('township_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_township_unit_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_township_unit_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_township_unit_township_id'), ['township_id'], unique=False)
        batch_op.create_index('uq_township_unit_live_name', ['township_id', 'name'], unique=True, sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))

    op.create_table('village',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('households', sa.Integer(), nullable=True),
    sa.Column('grid_count', sa.Integer(), nullable=True),
    sa.Column('head_name', sa.String(length=32), nullable=False),
    sa.Column('head_phone', sa.String(length=32), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_village_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_village'))
    )
    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_village_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_village_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_village_township_id'), ['township_id'], unique=False)
        batch_op.create_index('uq_village_live_name', ['township_id', 'name'], unique=True, sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))

    op.create_table('enterprise',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('sector_code', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('legal_rep', sa.String(length=32), nullable=False),
    sa.Column('safety_officer', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_enterprise_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_enterprise_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise'))
    )
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_sector_code'), ['sector_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprise_village_id'), ['village_id'], unique=False)
        batch_op.create_index('uq_enterprise_live_credit_code', ['township_id', 'credit_code'], unique=True, sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))
    if op.get_bind().dialect.name != "sqlite":
        return  # the county server's PostgreSQL gets its own rules with the server
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table('enterprise', schema=None) as batch_op:
        batch_op.drop_index('uq_enterprise_live_credit_code', sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))
        batch_op.drop_index(batch_op.f('ix_enterprise_village_id'))
        batch_op.drop_index(batch_op.f('ix_enterprise_township_id'))
        batch_op.drop_index(batch_op.f('ix_enterprise_sector_code'))
        batch_op.drop_index(batch_op.f('ix_enterprise_partition'))
        batch_op.drop_index(batch_op.f('ix_enterprise_name'))
        batch_op.drop_index(batch_op.f('ix_enterprise_deleted'))

    op.drop_table('enterprise')
    with op.batch_alter_table('village', schema=None) as batch_op:
        batch_op.drop_index('uq_village_live_name', sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))
        batch_op.drop_index(batch_op.f('ix_village_township_id'))
        batch_op.drop_index(batch_op.f('ix_village_partition'))
        batch_op.drop_index(batch_op.f('ix_village_deleted'))

    op.drop_table('village')
    with op.batch_alter_table('township_unit', schema=None) as batch_op:
        batch_op.drop_index('uq_township_unit_live_name', sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))
        batch_op.drop_index(batch_op.f('ix_township_unit_township_id'))
        batch_op.drop_index(batch_op.f('ix_township_unit_partition'))
        batch_op.drop_index(batch_op.f('ix_township_unit_deleted'))

    op.drop_table('township_unit')
    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_township_id'))
        batch_op.drop_index(batch_op.f('ix_contact_partition'))
        batch_op.drop_index(batch_op.f('ix_contact_org_id'))
        batch_op.drop_index(batch_op.f('ix_contact_name'))
        batch_op.drop_index(batch_op.f('ix_contact_mobile'))
        batch_op.drop_index(batch_op.f('ix_contact_deleted'))

    op.drop_table('contact')
    op.drop_table('user_account')
    with op.batch_alter_table('township', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_township_partition'))
        batch_op.drop_index(batch_op.f('ix_township_deleted'))

    op.drop_table('township')
    op.drop_table('local_setting')
    with op.batch_alter_table('config_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_config_document_partition'))
        batch_op.drop_index(batch_op.f('ix_config_document_kind'))
        batch_op.drop_index(batch_op.f('ix_config_document_deleted'))

    op.drop_table('config_document')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_entity_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
