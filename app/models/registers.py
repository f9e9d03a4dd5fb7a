"""The registers that prove 七有/五有 readiness: teams and members, supplies, shelters, plans and drills,
command equipment and communication tests, 叫应 call trees and the organisation's documents.

Every row belongs to the township (``township_id``) and, when ``village_id`` is set, to one village or
community; a blank village means the township itself. Scans, photos and plan texts are attachments
(``app.models.attachments``) pointing at the row by table name and id.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SyncedMixin

TEAM_KINDS = ("综合应急救援队伍", "民兵应急分队", "专业救援队伍", "志愿者队伍", "其他")
MEMBER_ROLES = ("队长", "副队长", "队员")
SUPPLY_CATEGORIES = ("防汛抗旱", "森林防火", "地质灾害", "抗震救灾", "生活保障", "医疗救护", "通信照明", "其他")
SHELTER_KINDS = ("室内避难场所", "室外避难场所", "室内外结合")
# GB/T 44013-2024 classes shelters by how long people stay: 紧急 (≤1 d), 短期 (≤15 d), 中期 (≤30 d), 长期.
SHELTER_DURATIONS = ("紧急避难场所", "短期避难场所", "中期避难场所", "长期避难场所")
PLAN_TYPES = ("总体应急预案", "专项应急预案", "部门应急预案", "现场处置方案", "村（社区）应急预案")
DRILL_KINDS = ("实战演练", "桌面推演", "培训")
EQUIPMENT_KINDS = ("固定电话", "卫星电话", "对讲机", "应急广播", "高音喇叭", "监控大屏", "视频会商终端",
                   "无人机", "发电机", "其他")
EQUIPMENT_STATES = ("正常", "故障", "报废")
TEST_RESULTS = ("正常", "异常")
CALL_LEVELS = ("县级", "乡镇", "村（社区）", "村民小组", "重点户")
CALL_ROLES = ("A角", "B角")
ORG_DOCUMENT_KINDS = ("机构设立文件", "工作制度", "值班制度", "信息报告制度", "应急处置制度", "档案管理制度",
                      "培训制度", "应急备用金制度", "职责上墙", "其他")
YES_NO = ("有", "无")


class _Owned(SyncedMixin):
    """Columns every readiness register row has: whose it is, where, and free remarks."""

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    remarks: Mapped[str] = mapped_column(Text, default="")


class _InVillage(_Owned):
    village_id: Mapped[str | None] = mapped_column(ForeignKey("village.id"), nullable=True, index=True)


class RescueTeam(_InVillage, Base):
    __tablename__ = "rescue_team"
    __audit_label__ = "救援队伍"

    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="综合应急救援队伍")
    leader_name: Mapped[str] = mapped_column(String(32), default="")
    leader_phone: Mapped[str] = mapped_column(String(32), default="")
    established_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class TeamMember(_Owned, Base):
    __tablename__ = "team_member"
    __audit_label__ = "队员"

    team_id: Mapped[str] = mapped_column(ForeignKey("rescue_team.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(8), default="队员")
    phone: Mapped[str] = mapped_column(String(32), default="")
    skills: Mapped[str] = mapped_column(String(200), default="")
    insurance_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("contact.id"), nullable=True, index=True)


class Supply(_InVillage, Base):
    __tablename__ = "supply"
    __audit_label__ = "应急物资"

    name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16), default="其他")
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unit: Mapped[str] = mapped_column(String(8), default="")
    min_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str] = mapped_column(String(128), default="")
    custodian: Mapped[str] = mapped_column(String(32), default="")
    custodian_phone: Mapped[str] = mapped_column(String(32), default="")
    produced_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)


class Shelter(_InVillage, Base):
    """An emergency shelter with the attributes GB/T 44013-2024 (and GB/T 45290-2025 for rural ones) use."""

    __tablename__ = "shelter"
    __audit_label__ = "避难场所"

    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="")
    duration_class: Mapped[str] = mapped_column(String(16), default="")
    hazards: Mapped[str] = mapped_column(String(128), default="")
    effective_area: Mapped[int | None] = mapped_column(Integer, nullable=True)  # m²
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)  # people
    service_radius: Mapped[int | None] = mapped_column(Integer, nullable=True)  # m
    facilities: Mapped[str] = mapped_column(String(200), default="")
    signage: Mapped[str] = mapped_column(String(4), default="")
    manager: Mapped[str] = mapped_column(String(32), default="")
    manager_phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    coordinates: Mapped[str] = mapped_column(String(48), default="")


class EmergencyPlan(_InVillage, Base):
    __tablename__ = "emergency_plan"
    __audit_label__ = "应急预案"

    name: Mapped[str] = mapped_column(String(128))
    plan_type: Mapped[str] = mapped_column(String(16), default="专项应急预案")
    plan_version: Mapped[str] = mapped_column(String(32), default="")
    approved_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_revision_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Drill(_InVillage, Base):
    __tablename__ = "drill"
    __audit_label__ = "演练记录"

    name: Mapped[str] = mapped_column(String(128))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("emergency_plan.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(8), default="实战演练")
    held_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    participants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evaluation: Mapped[str] = mapped_column(Text, default="")


class CommandEquipment(_InVillage, Base):
    __tablename__ = "command_equipment"
    __audit_label__ = "指挥平台设备"

    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="其他")
    quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    location: Mapped[str] = mapped_column(String(128), default="")
    custodian: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(8), default="正常")


class CommTest(_InVillage, Base):
    __tablename__ = "comm_test"
    __audit_label__ = "通信测试"

    tested_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    equipment: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(8), default="正常")
    tester: Mapped[str] = mapped_column(String(32), default="")

    @property
    def name(self) -> str:  # audit summaries and uniqueness messages name a row by this
        return f"{self.tested_on or ''} {self.equipment}".strip()


class CallTreeEntry(_InVillage, Base):
    """One person in a 叫应 chain: who they are, at which level, A or B role, in which order to call,
    and who calls them."""

    __tablename__ = "call_tree_entry"
    __audit_label__ = "叫应名单"

    name: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8), default="村（社区）")
    duty: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(4), default="A角")
    call_order: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    backup_phone: Mapped[str] = mapped_column(String(32), default="")
    called_by: Mapped[str] = mapped_column(String(32), default="")


class OrgDocument(_InVillage, Base):
    __tablename__ = "org_document"
    __audit_label__ = "机构制度文件"

    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16), default="工作制度")
    doc_number: Mapped[str] = mapped_column(String(64), default="")
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
