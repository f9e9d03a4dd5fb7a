"""readiness standards, registers and assessments

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

七有/五有: the registers that prove readiness (teams, supplies, shelters, plans and drills, command
equipment, call trees, organisation documents) and dated assessments.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_tree_entry',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('duty', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=4), nullable=False),
    sa.Column('call_order', sa.Integer(), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('backup_phone', sa.String(length=32), nullable=False),
    sa.Column('called_by', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_call_tree_entry_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_call_tree_entry_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_tree_entry'))
    )
    with op.batch_alter_table('call_tree_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_tree_entry_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_tree_entry_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_tree_entry_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_tree_entry_village_id'), ['village_id'], unique=False)

    op.create_table('comm_test',
    sa.Column('tested_on', sa.Date(), nullable=True),
    sa.Column('equipment', sa.String(length=64), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('tester', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_comm_test_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_comm_test_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comm_test'))
    )
    with op.batch_alter_table('comm_test', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comm_test_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_comm_test_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_comm_test_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_comm_test_village_id'), ['village_id'], unique=False)

    op.create_table('command_equipment',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=128), nullable=False),
    sa.Column('custodian', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_command_equipment_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_command_equipment_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_command_equipment'))
    )
    with op.batch_alter_table('command_equipment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_command_equipment_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_command_equipment_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_command_equipment_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_command_equipment_village_id'), ['village_id'], unique=False)

    op.create_table('emergency_plan',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('plan_type', sa.String(length=16), nullable=False),
    sa.Column('plan_version', sa.String(length=32), nullable=False),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('next_revision_on', sa.Date(), nullable=True),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_emergency_plan_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_emergency_plan_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergency_plan'))
    )
    with op.batch_alter_table('emergency_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emergency_plan_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_plan_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_plan_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_emergency_plan_village_id'), ['village_id'], unique=False)

    op.create_table('org_document',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('doc_number', sa.String(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_org_document_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_org_document_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_document'))
    )
    with op.batch_alter_table('org_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_document_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_document_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_document_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_document_village_id'), ['village_id'], unique=False)

    op.create_table('readiness_assessment',
    sa.Column('township_id', sa.String(length=36), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('unit_name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('assessor', sa.String(length=64), nullable=False),
    sa.Column('standard_name', sa.String(length=64), nullable=False),
    sa.Column('standard_version', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('max_score', sa.Float(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('partition', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('version_replica', sa.String(length=36), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('hlc', sa.String(length=64), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_readiness_assessment_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_readiness_assessment_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_readiness_assessment'))
    )
    with op.batch_alter_table('readiness_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_readiness_assessment_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_readiness_assessment_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_readiness_assessment_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_readiness_assessment_village_id'), ['village_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_readiness_assessment_year'), ['year'], unique=False)

    op.create_table('rescue_team',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('leader_name', sa.String(length=32), nullable=False),
    sa.Column('leader_phone', sa.String(length=32), nullable=False),
    sa.Column('established_on', sa.Date(), nullable=True),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_rescue_team_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_rescue_team_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rescue_team'))
    )
    with op.batch_alter_table('rescue_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rescue_team_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_rescue_team_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_rescue_team_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rescue_team_village_id'), ['village_id'], unique=False)

    op.create_table('shelter',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('duration_class', sa.String(length=16), nullable=False),
    sa.Column('hazards', sa.String(length=128), nullable=False),
    sa.Column('effective_area', sa.Integer(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('service_radius', sa.Integer(), nullable=True),
    sa.Column('facilities', sa.String(length=200), nullable=False),
    sa.Column('signage', sa.String(length=4), nullable=False),
    sa.Column('manager', sa.String(length=32), nullable=False),
    sa.Column('manager_phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('coordinates', sa.String(length=48), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_shelter_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_shelter_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shelter'))
    )
    with op.batch_alter_table('shelter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shelter_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_shelter_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_shelter_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shelter_village_id'), ['village_id'], unique=False)

    op.create_table('supply',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=8), nullable=False),
    sa.Column('min_quantity', sa.Integer(), nullable=True),
    sa.Column('location', sa.String(length=128), nullable=False),
    sa.Column('custodian', sa.String(length=32), nullable=False),
    sa.Column('custodian_phone', sa.String(length=32), nullable=False),
    sa.Column('produced_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_supply_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_supply_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply'))
    )
    with op.batch_alter_table('supply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_expires_on'), ['expires_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_village_id'), ['village_id'], unique=False)

    op.create_table('drill',
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('plan_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.Column('participants', sa.Integer(), nullable=True),
    sa.Column('evaluation', sa.Text(), nullable=False),
    sa.Column('village_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['plan_id'], ['emergency_plan.id'], name=op.f('fk_drill_plan_id_emergency_plan')),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_drill_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_drill_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill'))
    )
    with op.batch_alter_table('drill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_plan_id'), ['plan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_township_id'), ['township_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_village_id'), ['village_id'], unique=False)

    op.create_table('team_member',
    sa.Column('team_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('skills', sa.String(length=200), nullable=False),
    sa.Column('insurance_until', sa.Date(), nullable=True),
    sa.Column('contact_id', sa.String(length=36), nullable=True),
    sa.Column('township_id', sa.String(length=36), nullable=False),
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
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_team_member_contact_id_contact')),
    sa.ForeignKeyConstraint(['team_id'], ['rescue_team.id'], name=op.f('fk_team_member_team_id_rescue_team')),
    sa.ForeignKeyConstraint(['township_id'], ['township.id'], name=op.f('fk_team_member_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_member'))
    )
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_member_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_deleted'), ['deleted'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_partition'), ['partition'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_member_township_id'), ['township_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_member_township_id'))
        batch_op.drop_index(batch_op.f('ix_team_member_team_id'))
        batch_op.drop_index(batch_op.f('ix_team_member_partition'))
        batch_op.drop_index(batch_op.f('ix_team_member_deleted'))
        batch_op.drop_index(batch_op.f('ix_team_member_contact_id'))

    op.drop_table('team_member')
    with op.batch_alter_table('drill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_village_id'))
        batch_op.drop_index(batch_op.f('ix_drill_township_id'))
        batch_op.drop_index(batch_op.f('ix_drill_plan_id'))
        batch_op.drop_index(batch_op.f('ix_drill_partition'))
        batch_op.drop_index(batch_op.f('ix_drill_deleted'))

    op.drop_table('drill')
    with op.batch_alter_table('supply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_village_id'))
        batch_op.drop_index(batch_op.f('ix_supply_township_id'))
        batch_op.drop_index(batch_op.f('ix_supply_partition'))
        batch_op.drop_index(batch_op.f('ix_supply_expires_on'))
        batch_op.drop_index(batch_op.f('ix_supply_deleted'))

    op.drop_table('supply')
    with op.batch_alter_table('shelter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shelter_village_id'))
        batch_op.drop_index(batch_op.f('ix_shelter_township_id'))
        batch_op.drop_index(batch_op.f('ix_shelter_partition'))
        batch_op.drop_index(batch_op.f('ix_shelter_deleted'))

    op.drop_table('shelter')
    with op.batch_alter_table('rescue_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rescue_team_village_id'))
        batch_op.drop_index(batch_op.f('ix_rescue_team_township_id'))
        batch_op.drop_index(batch_op.f('ix_rescue_team_partition'))
        batch_op.drop_index(batch_op.f('ix_rescue_team_deleted'))

    op.drop_table('rescue_team')
    with op.batch_alter_table('readiness_assessment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_readiness_assessment_year'))
        batch_op.drop_index(batch_op.f('ix_readiness_assessment_village_id'))
        batch_op.drop_index(batch_op.f('ix_readiness_assessment_township_id'))
        batch_op.drop_index(batch_op.f('ix_readiness_assessment_partition'))
        batch_op.drop_index(batch_op.f('ix_readiness_assessment_deleted'))

    op.drop_table('readiness_assessment')
    with op.batch_alter_table('org_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_document_village_id'))
        batch_op.drop_index(batch_op.f('ix_org_document_township_id'))
        batch_op.drop_index(batch_op.f('ix_org_document_partition'))
        batch_op.drop_index(batch_op.f('ix_org_document_deleted'))

    op.drop_table('org_document')
    with op.batch_alter_table('emergency_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emergency_plan_village_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_plan_township_id'))
        batch_op.drop_index(batch_op.f('ix_emergency_plan_partition'))
        batch_op.drop_index(batch_op.f('ix_emergency_plan_deleted'))

    op.drop_table('emergency_plan')
    with op.batch_alter_table('command_equipment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_command_equipment_village_id'))
        batch_op.drop_index(batch_op.f('ix_command_equipment_township_id'))
        batch_op.drop_index(batch_op.f('ix_command_equipment_partition'))
        batch_op.drop_index(batch_op.f('ix_command_equipment_deleted'))

    op.drop_table('command_equipment')
    with op.batch_alter_table('comm_test', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comm_test_village_id'))
        batch_op.drop_index(batch_op.f('ix_comm_test_township_id'))
        batch_op.drop_index(batch_op.f('ix_comm_test_partition'))
        batch_op.drop_index(batch_op.f('ix_comm_test_deleted'))

    op.drop_table('comm_test')
    with op.batch_alter_table('call_tree_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_tree_entry_village_id'))
        batch_op.drop_index(batch_op.f('ix_call_tree_entry_township_id'))
        batch_op.drop_index(batch_op.f('ix_call_tree_entry_partition'))
        batch_op.drop_index(batch_op.f('ix_call_tree_entry_deleted'))

    op.drop_table('call_tree_entry')
