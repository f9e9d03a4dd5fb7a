"""The township profile, the county's sector list, and the four organisation registers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import ValidationError
from app.models import Contact, Enterprise, Township, TownshipUnit, Village, new_id
from app.models.config_data import Sector, active_document, parse_sectors
from app.models.organisation import CONTACT_ROLES, UNIT_KINDS, VILLAGE_KINDS
from app.paths import resource
from app.services.context import Actor, Scope
from app.services.fields import Field, RegisterSpec, normalise
from app.services.readiness_registers import READINESS_REGISTERS
from app.storage import Database


def _count(session: Session, model: type, column: Any, row_id: str) -> int:
    return session.scalar(
        select(func.count()).select_from(model).where(column == row_id, model.deleted.is_(False))  # type: ignore[attr-defined]
    ) or 0


def _org_in_use(session: Session, row: Village | Enterprise | TownshipUnit) -> str | None:
    """An organisation others still point at cannot go: they would silently lose the link."""
    contacts = _count(session, Contact, Contact.org_id, row.id)
    enterprises = _count(session, Enterprise, Enterprise.village_id, row.id) if isinstance(row, Village) else 0
    if not (contacts or enterprises):
        return None
    parts = ([f"{enterprises}家企业"] if enterprises else []) + ([f"{contacts}位联系人"] if contacts else [])
    return f"「{row.name}」下还有{'、'.join(parts)}，请先把它们调整到其他单位后再删除。"


VILLAGES = RegisterSpec(
    kind="villages",
    title="村/社区",
    model=Village,
    fields=(
        Field("name", "名称", required=True, aliases=("村（社区）名称", "村名", "社区名称", "村/社区", "村（社区）")),
        Field("kind", "类型", "choice", choices=VILLAGE_KINDS, aliases=("村/社区类型",), width=70, default="行政村"),
        Field("code", "区划代码", "division_code", aliases=("统计用区划代码", "行政区划代码", "代码"), width=120,
              hint="12位统计用区划代码", lengths=(12,)),
        Field("population", "人口", "int", aliases=("户籍人口", "常住人口", "人口数", "总人口"), width=70),
        Field("households", "户数", "int", aliases=("总户数", "户籍户数"), width=70),
        Field("grid_count", "网格数", "int", aliases=("网格数量", "网格"), width=70),
        Field("head_name", "负责人", max_length=32,
              aliases=("村（居）委会主任", "书记", "村支书", "主任", "负责人姓名", "村书记")),
        Field("head_phone", "负责人电话", "phone", aliases=("联系电话", "电话", "手机", "手机号码", "联系方式"), width=120),
        Field("remarks", "备注", "multiline", in_table=False, aliases=("说明",)),
    ),
    unique_keys=(("name",),),
    search=("name", "head_name", "code"),
    delete_guard=_org_in_use,
)

ENTERPRISES = RegisterSpec(
    kind="enterprises",
    title="企业",
    model=Enterprise,
    fields=(
        Field("name", "企业名称", required=True, max_length=128, width=220,
              aliases=("单位名称", "企业（单位）名称", "名称", "生产经营单位名称", "企业全称")),
        Field("credit_code", "统一社会信用代码", "credit_code", width=170,
              aliases=("信用代码", "社会信用代码", "统一信用代码", "组织机构代码")),
        Field("sector", "行业领域", "sector", width=100, aliases=("行业", "所属行业", "行业类别", "行业类型")),
        Field("village", "所在村/社区", "village", width=100,
              aliases=("所属村", "所在村", "村（社区）", "所属村（社区）", "村/社区")),
        Field("legal_rep", "法定代表人", max_length=32, width=80, aliases=("法人", "法人代表", "负责人")),
        Field("safety_officer", "安全管理人员", max_length=32, width=90,
              aliases=("安全员", "安全负责人", "安全管理员", "安全生产管理人员")),
        Field("phone", "联系电话", "phone", width=120, aliases=("电话", "手机", "手机号码", "联系方式")),
        Field("address", "地址", max_length=200, width=200, aliases=("经营地址", "详细地址", "生产经营地址", "住所")),
        Field("employees", "从业人数", "int", width=70, aliases=("职工人数", "员工人数", "从业人员")),
        Field("remarks", "备注", "multiline", in_table=False),
    ),
    unique_keys=(("credit_code",),),
    match_keys=(("name",),),
    search=("name", "credit_code", "legal_rep", "address"),
    delete_guard=_org_in_use,
)

UNITS = RegisterSpec(
    kind="units",
    title="站所",
    model=TownshipUnit,
    fields=(
        Field("name", "名称", required=True, width=180, aliases=("单位名称", "站所名称")),
        Field("kind", "类别", "choice", choices=UNIT_KINDS, width=100, aliases=("类型", "单位类别"), default="其他"),
        Field("head_name", "负责人", max_length=32, aliases=("站（所）长", "负责人姓名")),
        Field("phone", "联系电话", "phone", width=120, aliases=("电话", "手机", "联系方式")),
        Field("address", "地址", max_length=200, width=200),
        Field("remarks", "备注", "multiline", in_table=False),
    ),
    unique_keys=(("name",),),
    search=("name", "head_name"),
    delete_guard=_org_in_use,
)

CONTACTS = RegisterSpec(
    kind="contacts",
    title="联系人",
    model=Contact,
    fields=(
        Field("name", "姓名", required=True, max_length=32, width=80),
        Field("organisation", "所属单位", "org", width=160,
              aliases=("单位", "工作单位", "所在单位", "村（社区）", "所属村（社区）"),
              hint="留空表示乡镇本级；否则填写村/社区、站所或企业的名称"),
        Field("position", "职务", width=120, aliases=("职位", "职务/岗位", "岗位")),
        Field("roles", "应急角色", "roles", choices=CONTACT_ROLES, width=150, aliases=("角色", "应急职责"),
              hint="多个角色用顿号分隔"),
        Field("mobile", "手机", "phone", width=110, aliases=("手机号码", "手机号", "联系电话", "电话", "移动电话")),
        Field("office_phone", "办公电话", "phone", width=120, aliases=("座机", "固定电话")),
        Field("id_number", "身份证号码", "id_number", in_table=False, aliases=("身份证号", "公民身份号码")),
        Field("remarks", "备注", "multiline", in_table=False),
    ),
    unique_keys=(("name", "mobile"),),
    match_keys=(("name", "organisation"),),
    search=("name", "position", "mobile"),
)

ORGANISATION_KINDS: tuple[str, ...] = ("villages", "enterprises", "units", "contacts")  # the 组织机构 tabs
# Every register the generic services serve: the organisation's four, then the 七有/五有 registers.
REGISTERS: dict[str, RegisterSpec] = {
    **{s.kind: s for s in (VILLAGES, ENTERPRISES, UNITS, CONTACTS)},
    **READINESS_REGISTERS,
}

TOWNSHIP_FIELDS = RegisterSpec(
    kind="township",
    title="乡镇信息",
    model=Township,
    fields=(
        Field("name", "乡镇（街道）名称", required=True),
        Field("code", "区划代码", "division_code", hint="9位或12位统计用区划代码", lengths=(9, 12)),
        Field("county_name", "所属县（区）", required=True),
        Field("county_code", "县（区）区划代码", "division_code", hint="6位或12位", lengths=(6, 12)),
        Field("office_name", "应急机构名称", max_length=64, hint="如：XX镇应急管理办公室"),
        Field("office_phone", "值班电话", "phone"),
        Field("leader_name", "分管领导", max_length=32),
        Field("leader_phone", "分管领导电话", "phone"),
        Field("address", "办公地址", max_length=200),
    ),
    unique_keys=(),
)


def load_sectors(session: Session) -> list[Sector]:
    return parse_sectors(active_document(session, "sector_codes", resource("config", "sector_codes.json")))


def current_scope(db: Database) -> Scope | None:
    with db.session() as session:
        township = session.scalars(select(Township).where(Township.deleted.is_(False))).first()
        return Scope(township.id, township.name) if township else None


class TownshipService:
    def __init__(self, db: Database, actor: Actor) -> None:
        self.db = db
        self.actor = actor

    def profile(self) -> dict[str, Any]:
        with self.db.session() as session:
            township = session.scalars(select(Township).where(Township.deleted.is_(False))).first()
            if township is None:
                return {}
            return {f.name: getattr(township, f.name) for f in TOWNSHIP_FIELDS.fields}

    def save_profile(self, values: dict[str, Any]) -> Scope:
        """Create the township on first run, or update it. Returns the scope of its data."""
        self.actor.require_write()
        clean, errors = normalise(TOWNSHIP_FIELDS, values)
        if errors:
            raise ValidationError(errors, TOWNSHIP_FIELDS.labels)
        with self.db.session(self.actor.username) as session:
            township = session.scalars(select(Township).where(Township.deleted.is_(False))).first()
            if township is None:
                township_id = new_id()
                township = Township(id=township_id, partition=Scope(township_id, "").partition)
                session.add(township)
            for name, value in clean.items():
                setattr(township, name, value)
            return Scope(township.id, township.name)

    def sectors(self) -> list[Sector]:
        with self.db.session() as session:
            return load_sectors(session)
