"""hazard ledger indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

The ledger lists every live hazard of the township newest first (year, seq, id). Indexes in that order
let SQLite read the ids straight from an index instead of sorting 100k rows each time the ledger opens
or is filtered by sector; without them (and without ANALYZE statistics) it walked a one-column index and
sorted everything in a temporary B-tree.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_hazard_ledger', 'hazard', ['township_id', 'deleted', 'year', 'seq', 'id'], unique=False)
    op.create_index('ix_hazard_sector_ledger', 'hazard',
                    ['township_id', 'deleted', 'sector_code', 'year', 'seq', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_hazard_sector_ledger', table_name='hazard')
    op.drop_index('ix_hazard_ledger', table_name='hazard')
