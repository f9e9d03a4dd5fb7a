"""The township and what it is made of: villages/communities, enterprises, township units, contacts."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, SyncedMixin

VILLAGE_KINDS = ("行政村", "社区")
UNIT_KINDS = (
    "派出所", "卫生院", "学校", "幼儿园", "供电所", "水利站", "农业服务中心", "林业站",
    "市场监管所", "自然资源所", "财政所", "综合执法队", "消防站", "养老机构", "其他",
)
CONTACT_ROLES = (
    "主要负责人", "分管负责人", "应急管理员", "应急联络员", "网格员", "安全员",
    "值班员", "民兵", "志愿者", "村（居）民小组长", "信息员",
)
ORG_KINDS = {"township": "乡镇", "village": "村/社区", "enterprise": "企业", "unit": "站所"}


def live_unique(name: str, *cols: str) -> Index:
    """Unique among rows that are not tombstoned (a deleted name can be used again)."""
    return Index(
        name, *cols, unique=True,
        sqlite_where=text("deleted = 0"), postgresql_where=text("deleted = false"),
    )


class Township(SyncedMixin, Base):
    __tablename__ = "township"
    __audit_label__ = "乡镇信息"

    name: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(12), default="")
    county_name: Mapped[str] = mapped_column(String(64), default="")
    county_code: Mapped[str] = mapped_column(String(12), default="")
    office_name: Mapped[str] = mapped_column(String(64), default="")
    office_phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    leader_name: Mapped[str] = mapped_column(String(32), default="")
    leader_phone: Mapped[str] = mapped_column(String(32), default="")


class Village(SyncedMixin, Base):
    __tablename__ = "village"
    __audit_label__ = "村/社区"
    __table_args__ = (live_unique("uq_village_live_name", "township_id", "name"),)

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="行政村")
    code: Mapped[str] = mapped_column(String(12), default="")
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    households: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grid_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    head_name: Mapped[str] = mapped_column(String(32), default="")
    head_phone: Mapped[str] = mapped_column(String(32), default="")
    remarks: Mapped[str] = mapped_column(Text, default="")


class Enterprise(SyncedMixin, Base):
    __tablename__ = "enterprise"
    __audit_label__ = "企业"
    __table_args__ = (live_unique("uq_enterprise_live_credit_code", "township_id", "credit_code"),)

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    sector_code: Mapped[str] = mapped_column(String(32), default="", index=True)
    village_id: Mapped[str | None] = mapped_column(ForeignKey("village.id"), nullable=True, index=True)
    legal_rep: Mapped[str] = mapped_column(String(32), default="")
    safety_officer: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    employees: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remarks: Mapped[str] = mapped_column(Text, default="")


class TownshipUnit(SyncedMixin, Base):
    __tablename__ = "township_unit"
    __audit_label__ = "站所"
    __table_args__ = (live_unique("uq_township_unit_live_name", "township_id", "name"),)

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="其他")
    head_name: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    remarks: Mapped[str] = mapped_column(Text, default="")


class Contact(SyncedMixin, Base):
    """A person in the township's contacts directory, used by teams, letters and call trees."""

    __tablename__ = "contact"
    __audit_label__ = "联系人"

    township_id: Mapped[str] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(32), index=True)
    org_kind: Mapped[str] = mapped_column(String(16), default="township")
    org_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    position: Mapped[str] = mapped_column(String(64), default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    mobile: Mapped[str] = mapped_column(String(32), default="", index=True)
    office_phone: Mapped[str] = mapped_column(String(32), default="")
    id_number: Mapped[str] = mapped_column(String(18), default="")
    remarks: Mapped[str] = mapped_column(Text, default="")
