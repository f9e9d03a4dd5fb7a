"""hazard ledger and attachments

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Hazard events are evidence: the database refuses to change or delete them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attachment',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('owner_table', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_attachment_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_deleted'), ['deleted'], unique=False)
        batch_op.create_index('ix_attachment_owner', ['owner_table', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachment_township_id'), ['township_id'], unique=False)

    op.create_table('hazard',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('found_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('inspectors', sa.String(length=128), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('grid', sa.String(length=32), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=True),
    sa.Column('unit_name', sa.String(length=128), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('sector_code', sa.String(length=32), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=4), nullable=False),
    sa.Column('level_basis', sa.Text(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('responsible_unit', sa.String(length=128), nullable=False),
    sa.Column('responsible_person', sa.String(length=32), nullable=False),
    sa.Column('responsible_phone', sa.String(length=32), nullable=False),
    sa.Column('funds_fen', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('deadline_overridden', sa.Boolean(), nullable=False),
    sa.Column('emergency_plan', sa.Text(), nullable=False),
    sa.Column('temporary_measures', sa.Text(), nullable=False),
    sa.Column('notice_number', sa.String(length=64), nullable=False),
    sa.Column('notice_issued_on', sa.Date(), nullable=True),
    sa.Column('reported_upward_on', sa.Date(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('reviewer', sa.String(length=64), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('review_opinion', sa.Text(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('supervised', sa.Boolean(), nullable=False),
    sa.Column('supervision_level', sa.String(length=8), nullable=False),
    sa.Column('supervision_doc', sa.String(length=64), nullable=False),
    sa.Column('extension_requested_on', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=False),
    sa.Column('extended', sa.Boolean(), nullable=False),
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
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_hazard_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_hazard_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_hazard_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard'))
    )
    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index('ix_hazard_found_on', ['township_id', 'found_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_sector_code'), ['sector_code'], unique=False)
        batch_op.create_index('ix_hazard_status_deadline', ['township_id', 'status', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_supervised'), ['supervised'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_unit_name'), ['unit_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_village_id'), ['village_id'], unique=False)
        batch_op.create_index('uq_hazard_live_number', ['township_id', 'number'], unique=True, sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))

    op.create_table('hazard_event',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('hazard_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('from_status', sa.String(length=8), nullable=False),
    sa.Column('to_status', sa.String(length=8), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=True),
    sa.Column('doc_number', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hazard_id'], ['hazard.id'], name=op.f('fk_hazard_event_hazard_id_hazard')),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_hazard_event_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_event'))
    )
    with op.batch_alter_table('hazard_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hazard_event_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_event_hazard_id'), ['hazard_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_event_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_hazard_event_township_id'), ['township_id'], unique=False)
    if op.get_bind().dialect.name != "sqlite":
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER hazard_event_no_{verb.lower()} BEFORE {verb} ON hazard_event "
            "BEGIN SELECT RAISE(ABORT, 'hazard events are append-only'); END"
        )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS hazard_event_no_update")
    op.execute("DROP TRIGGER IF EXISTS hazard_event_no_delete")
    with op.batch_alter_table('hazard_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hazard_event_township_id'))
        batch_op.drop_index(batch_op.f('ix_hazard_event_partition'))
        batch_op.drop_index(batch_op.f('ix_hazard_event_hazard_id'))
        batch_op.drop_index(batch_op.f('ix_hazard_event_deleted'))

    op.drop_table('hazard_event')
    with op.batch_alter_table('hazard', schema=None) as batch_op:
        batch_op.drop_index('uq_hazard_live_number', sqlite_where=sa.text('deleted = 0'), postgresql_where=sa.text('deleted = false'))
        batch_op.drop_index(batch_op.f('ix_hazard_village_id'))
        batch_op.drop_index(batch_op.f('ix_hazard_unit_name'))
        batch_op.drop_index(batch_op.f('ix_hazard_township_id'))
        batch_op.drop_index(batch_op.f('ix_hazard_supervised'))
        batch_op.drop_index('ix_hazard_status_deadline')
        batch_op.drop_index(batch_op.f('ix_hazard_sector_code'))
        batch_op.drop_index(batch_op.f('ix_hazard_partition'))
        batch_op.drop_index(batch_op.f('ix_hazard_level'))
        batch_op.drop_index('ix_hazard_found_on')
        batch_op.drop_index(batch_op.f('ix_hazard_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_hazard_deleted'))

    op.drop_table('hazard')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_township_id'))
        batch_op.drop_index(batch_op.f('ix_attachment_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachment_partition'))
        batch_op.drop_index('ix_attachment_owner')
        batch_op.drop_index(batch_op.f('ix_attachment_deleted'))

    op.drop_table('attachment')
