"""sync core: outbox, ledger, cursors, peers and conflicts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24

SYNC.md: change capture into an outbox, the bundle ledger, cursors in both directions, enrolled peers
and their keys, and the conflict table for the two-PC case.
"""

from __future__ import annotations

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
