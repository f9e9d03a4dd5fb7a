"""sync core: outbox, ledger, cursors, peers, conflicts, county change sequence and supervision orders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

SYNC.md: change capture into an outbox, the bundle ledger, cursors in both directions, enrolled peers
and their keys, the conflict table for the two-PC case, the county's downstream change sequence and
督办 (supervision orders). The capture triggers are not created here: they are generated from the
models when a township PC enrols (app/sync/capture.py), so a new synced table joins by declaration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_order',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('hazard_id', sa.String(length=36), nullable=False),
    sa.Column('hazard_number', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_order'))
    )
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_order_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_order_hazard_id'), ['hazard_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_order_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_order_township_id'), ['township_id'], unique=False)

    op.create_table('sync_attachment_held',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_sync_attachment_held'))
    )
    op.create_table('sync_capture_pause',
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_sync_capture_pause'))
    )
    op.create_table('sync_change',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_change'))
    )
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.create_index('ix_sync_change_partition_seq', ['partition', 'seq'], unique=False)

    op.create_table('sync_conflict',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('loser_version', sa.Integer(), nullable=False),
    sa.Column('loser_replica', sa.String(length=36), nullable=False),
    sa.Column('loser_hlc', sa.String(length=64), nullable=False),
    sa.Column('loser', sa.JSON(), nullable=False),
    sa.Column('winner_version', sa.Integer(), nullable=False),
    sa.Column('winner_replica', sa.String(length=36), nullable=False),
    sa.Column('winner_hlc', sa.String(length=64), nullable=False),
    sa.Column('detected_at', sa.DateTime(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflict')),
    sa.UniqueConstraint('table_name', 'row_id', 'loser_version', 'loser_replica', 'loser_hlc', name='uq_sync_conflict_loser')
    )
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_conflict_row_id'), ['row_id'], unique=False)

    op.create_table('sync_cursor',
    sa.Column('peer', sa.String(length=100), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('peer', 'direction', name=op.f('pk_sync_cursor'))
    )
    op.create_table('sync_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('keys', sa.Text(), nullable=False),
    sa.Column('county_id', sa.String(length=100), nullable=False),
    sa.Column('county_name', sa.String(length=64), nullable=False),
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('township_code', sa.String(length=32), nullable=False),
    sa.Column('township_name', sa.String(length=64), nullable=False),
    sa.Column('enrolment_id', sa.String(length=36), nullable=False),
    sa.Column('enrolment_code', sa.String(length=64), nullable=False),
    sa.Column('retired', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_identity'))
    )
    op.create_table('sync_ledger',
    sa.Column('bundle_id', sa.String(length=36), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('peer', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('seq_from', sa.Integer(), nullable=False),
    sa.Column('seq_to', sa.Integer(), nullable=False),
    sa.Column('ack', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('bundle_id', name=op.f('pk_sync_ledger'))
    )
    with op.batch_alter_table('sync_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_ledger_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_ledger_peer'), ['peer'], unique=False)

    op.create_table('sync_ledger_part',
    sa.Column('bundle_id', sa.String(length=36), nullable=False),
    sa.Column('part', sa.String(length=100), nullable=False),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('conflicts', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bundle_id', 'part', name=op.f('pk_sync_ledger_part'))
    )
    op.create_table('sync_outbox',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('op', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_sync_outbox')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_sync_outbox_row', ['table_name', 'row_id'], unique=False)

    op.create_table('sync_peer',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('public_keys', sa.Text(), nullable=False),
    sa.Column('enrol_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(), nullable=True),
    sa.Column('issued_seq', sa.Integer(), nullable=False),
    sa.Column('issued_hlc', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_peer')),
    sa.UniqueConstraint('node_id', name=op.f('uq_sync_peer_node_id'))
    )
    with op.batch_alter_table('sync_peer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_peer_township_id'), ['township_id'], unique=False)

    op.create_table('sync_township',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('bound', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('township_id', name=op.f('pk_sync_township')),
    sa.UniqueConstraint('code', name=op.f('uq_sync_township_code'))
    )



def downgrade() -> None:
    op.drop_table('sync_township')
    with op.batch_alter_table('sync_peer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_peer_township_id'))

    op.drop_table('sync_peer')
    with op.batch_alter_table('sync_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_outbox_row')

    op.drop_table('sync_outbox')
    op.drop_table('sync_ledger_part')
    with op.batch_alter_table('sync_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_ledger_peer'))
        batch_op.drop_index(batch_op.f('ix_sync_ledger_at'))

    op.drop_table('sync_ledger')
    op.drop_table('sync_identity')
    op.drop_table('sync_cursor')
    with op.batch_alter_table('sync_conflict', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_conflict_row_id'))

    op.drop_table('sync_conflict')
    with op.batch_alter_table('sync_change', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_change_partition_seq')

    op.drop_table('sync_change')
    op.drop_table('sync_capture_pause')
    op.drop_table('sync_attachment_held')
    with op.batch_alter_table('supervision_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_order_township_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_order_partition'))
        batch_op.drop_index(batch_op.f('ix_supervision_order_hazard_id'))
        batch_op.drop_index(batch_op.f('ix_supervision_order_deleted'))

    op.drop_table('supervision_order')
