"""readiness standards, registers and assessments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

七有/五有: the registers that prove readiness (teams, supplies, shelters, plans and drills, command
equipment, call trees, organisation documents) and dated assessments.
"""

from __future__ import annotations

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
