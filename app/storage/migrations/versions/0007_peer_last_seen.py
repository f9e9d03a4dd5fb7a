"""sync peer last contact: when a township PC last reached the county server

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24

The county web pages show each township's last contact. A PC that is online but has nothing to upload
only makes the cheap state call and leaves no bundle behind, so the time has to be kept per PC.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('sync_peer', sa.Column('last_seen_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sync_peer') as batch_op:
        batch_op.drop_column('last_seen_at')
