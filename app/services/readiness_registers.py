"""The field lists of the 七有/五有 registers: one definition drives their forms, validation, Excel import
and export (see ``app.services.fields``). Each row belongs to a village/community or, with the village
left blank, to the township itself; team members belong to a team and drills may follow a plan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.registers import (
    CALL_LEVELS,
    CALL_ROLES,
    DRILL_KINDS,
    EQUIPMENT_KINDS,
    EQUIPMENT_STATES,
    MEMBER_ROLES,
    ORG_DOCUMENT_KINDS,
    PLAN_TYPES,
    SHELTER_DURATIONS,
    SHELTER_KINDS,
    SUPPLY_CATEGORIES,
    TEAM_KINDS,
    TEST_RESULTS,
    YES_NO,
    CallTreeEntry,
    CommandEquipment,
    CommTest,
    Drill,
    EmergencyPlan,
    OrgDocument,
    RescueTeam,
    Shelter,
    Supply,
    TeamMember,
)
from app.services.fields import Field, RegisterSpec, date_order

VILLAGE_HINT = "留空表示乡镇本级"


def _village(label: str = "所属村/社区") -> Field:
    return Field("village", label, "village", width=100, hint=VILLAGE_HINT,
                 aliases=("村（社区）", "所属村（社区）", "村/社区", "所在村", "所属村", "单位"))


def _remarks() -> Field:
    return Field("remarks", "备注", "multiline", in_table=False, aliases=("说明",))


def _still_used(session: Session, model: Any, column: Any, row_id: str) -> int:
    return session.scalar(select(func.count()).select_from(model).where(column == row_id, model.deleted.is_(False))) or 0


def _team_in_use(session: Session, row: RescueTeam) -> str | None:
    members = _still_used(session, TeamMember, TeamMember.team_id, row.id)
    return f"救援队伍「{row.name}」还有{members}名队员，请先删除或调整队员后再删除队伍。" if members else None


def _plan_in_use(session: Session, row: EmergencyPlan) -> str | None:
    drills = _still_used(session, Drill, Drill.plan_id, row.id)
    return f"应急预案「{row.name}」下还有{drills}条演练记录，请先调整这些记录后再删除预案。" if drills else None


TEAMS = RegisterSpec(
    kind="teams",
    title="救援队伍",
    model=RescueTeam,
    fields=(
        Field("name", "队伍名称", required=True, width=200, aliases=("名称", "队伍")),
        Field("kind", "队伍类型", "choice", choices=TEAM_KINDS, default="综合应急救援队伍", width=120,
              aliases=("类型", "类别")),
        _village(),
        Field("leader_name", "队长", max_length=32, width=80, aliases=("负责人", "队长姓名")),
        Field("leader_phone", "队长电话", "phone", width=110, aliases=("负责人电话", "联系电话", "电话")),
        Field("established_on", "成立日期", "date", width=90, aliases=("组建日期", "成立时间")),
        _remarks(),
    ),
    unique_keys=(("name",),),
    search=("name", "leader_name"),
    delete_guard=_team_in_use,
)

TEAM_MEMBERS = RegisterSpec(
    kind="team_members",
    title="队员",
    model=TeamMember,
    fields=(
        Field("name", "姓名", required=True, max_length=32, width=80),
        Field("team", "所属队伍", "team", required=True, width=180, aliases=("队伍", "队伍名称")),
        Field("role", "职务", "choice", choices=MEMBER_ROLES, default="队员", width=70, aliases=("队内职务", "角色")),
        Field("phone", "联系电话", "phone", width=110, aliases=("手机", "手机号码", "电话")),
        Field("skills", "专业技能", max_length=200, width=160, aliases=("技能", "特长", "专长")),
        Field("insurance_until", "意外险有效期至", "date", width=110,
              aliases=("保险有效期", "意外伤害保险有效期", "保险到期日")),
        Field("contact", "对应联系人", "contact", in_table=False, hint="可选：联系人名录中的姓名或“姓名（手机号）”"),
        _remarks(),
    ),
    unique_keys=(("team", "name"),),
    search=("name", "phone", "skills"),
)

SUPPLIES = RegisterSpec(
    kind="supplies",
    title="应急物资",
    model=Supply,
    fields=(
        Field("name", "物资名称", required=True, width=140, aliases=("名称", "品名", "物资")),
        Field("category", "类别", "choice", choices=SUPPLY_CATEGORIES, default="其他", width=80,
              aliases=("物资类别", "分类")),
        _village(),
        Field("quantity", "数量", "int", required=True, width=60, aliases=("库存数量", "现有数量", "储备数量")),
        Field("unit", "单位", max_length=8, width=50, aliases=("计量单位",)),
        Field("min_quantity", "最低储备", "int", width=70, aliases=("最低储备量", "储备标准", "应储数量")),
        Field("location", "存放地点", max_length=128, width=140, aliases=("存放位置", "储存地点", "仓库")),
        Field("custodian", "保管人", max_length=32, width=70, aliases=("管理人", "责任人")),
        Field("custodian_phone", "保管人电话", "phone", width=110, in_table=False, aliases=("联系电话", "电话")),
        Field("produced_on", "生产日期", "date", width=90, aliases=("出厂日期", "购置日期")),
        Field("expires_on", "有效期至", "date", width=90, aliases=("失效日期", "到期日期", "保质期至")),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("village", "name", "location"),),
    search=("name", "location", "custodian"),
    checks=(date_order("produced_on", "expires_on", "生产日期"),),
)

SHELTERS = RegisterSpec(
    kind="shelters",
    title="避难场所",
    model=Shelter,
    fields=(
        Field("name", "场所名称", required=True, width=180, aliases=("名称", "避难场所名称")),
        _village(),
        Field("kind", "场所类型", "choice", choices=SHELTER_KINDS, width=110, aliases=("类型",)),
        Field("duration_class", "避难时长类别", "choice", choices=SHELTER_DURATIONS, width=110,
              aliases=("级别", "避难期", "场所级别")),
        Field("hazards", "适用灾种", max_length=128, width=120, aliases=("灾种", "适用灾害类型"),
              hint="如：洪涝、地震、地质灾害"),
        Field("effective_area", "有效避难面积（㎡）", "int", width=100, aliases=("有效面积", "面积", "有效避难面积")),
        Field("capacity", "可容纳人数", "int", required=True, minimum=1, width=80,
              aliases=("容纳人数", "容量", "可容纳人数（人）")),
        Field("service_radius", "服务半径（米）", "int", width=90, aliases=("服务半径",)),
        Field("facilities", "配套设施", max_length=200, in_table=False,
              aliases=("设施", "配套设施设备"), hint="如：应急供水、供电、厕所、医疗点"),
        Field("signage", "标识标牌", "choice", choices=YES_NO, width=60, aliases=("标识", "是否设置标识")),
        Field("manager", "管理人", max_length=32, width=70, aliases=("负责人", "管理责任人")),
        Field("manager_phone", "管理人电话", "phone", width=110, aliases=("联系电话", "电话")),
        Field("address", "地址", max_length=200, width=180, aliases=("位置", "详细地址")),
        Field("coordinates", "经纬度", "coordinates", in_table=False, aliases=("坐标", "GPS"),
              hint="如：115.4123,25.1367"),
        _remarks(),
    ),
    unique_keys=(("name",),),
    search=("name", "address", "manager"),
)

PLANS = RegisterSpec(
    kind="plans",
    title="应急预案",
    model=EmergencyPlan,
    fields=(
        Field("name", "预案名称", required=True, max_length=128, width=220, aliases=("名称",)),
        Field("plan_type", "预案类型", "choice", choices=PLAN_TYPES, default="专项应急预案", width=110,
              aliases=("类型", "类别")),
        _village(),
        Field("plan_version", "版本", max_length=32, width=70, aliases=("版本号",)),
        Field("approved_on", "印发日期", "date", width=90, aliases=("批准日期", "发布日期", "审批日期")),
        Field("next_revision_on", "下次修订日期", "date", width=100, aliases=("修订日期", "应修订日期")),
        _remarks(),
    ),
    unique_keys=(("name",),),
    search=("name",),
    delete_guard=_plan_in_use,
    checks=(date_order("approved_on", "next_revision_on", "印发日期"),),
)

DRILLS = RegisterSpec(
    kind="drills",
    title="演练记录",
    model=Drill,
    fields=(
        Field("name", "演练（培训）名称", required=True, max_length=128, width=220, aliases=("名称", "演练名称", "主题")),
        Field("plan", "依据预案", "plan", width=180, aliases=("预案", "演练预案")),
        _village(),
        Field("kind", "形式", "choice", choices=DRILL_KINDS, default="实战演练", width=70, aliases=("演练形式", "类型")),
        Field("held_on", "日期", "date", required=True, width=90, aliases=("演练日期", "时间", "开展日期")),
        Field("participants", "参加人数", "int", width=70, aliases=("参演人数", "人数")),
        Field("evaluation", "评估总结", "multiline", in_table=False, aliases=("总结", "评估", "演练评估")),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("name", "held_on"),),
    search=("name", "evaluation"),
)

EQUIPMENT = RegisterSpec(
    kind="equipment",
    title="指挥平台设备",
    model=CommandEquipment,
    fields=(
        Field("name", "设备名称", required=True, width=160, aliases=("名称", "设备")),
        Field("kind", "设备类型", "choice", choices=EQUIPMENT_KINDS, default="其他", width=100, aliases=("类型",)),
        _village(),
        Field("quantity", "数量", "int", width=50),
        Field("location", "存放位置", max_length=128, width=140, aliases=("位置", "安装位置")),
        Field("custodian", "保管人", max_length=32, width=70, aliases=("管理人", "责任人")),
        Field("status", "状态", "choice", choices=EQUIPMENT_STATES, default="正常", width=60, aliases=("设备状态",)),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("village", "name", "location"),),
    search=("name", "location"),
)

COMM_TESTS = RegisterSpec(
    kind="comm_tests",
    title="通信测试",
    model=CommTest,
    fields=(
        Field("tested_on", "测试日期", "date", required=True, width=90, aliases=("日期", "时间")),
        Field("equipment", "测试设备", required=True, width=160, aliases=("设备", "设备名称", "测试内容")),
        _village(),
        Field("result", "结果", "choice", choices=TEST_RESULTS, default="正常", width=60, aliases=("测试结果",)),
        Field("tester", "测试人", max_length=32, width=70, aliases=("测试人员",)),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("tested_on", "equipment"),),
    search=("equipment", "tester"),
)

CALL_TREES = RegisterSpec(
    kind="call_trees",
    title="叫应名单",
    model=CallTreeEntry,
    fields=(
        Field("name", "姓名", required=True, max_length=32, width=80),
        _village(),
        Field("level", "层级", "choice", choices=CALL_LEVELS, default="村（社区）", width=80),
        Field("duty", "职责", max_length=64, width=140, aliases=("职务", "责任", "岗位")),
        Field("role", "A/B角", "choice", choices=CALL_ROLES, default="A角", width=60, aliases=("AB角", "角色")),
        Field("call_order", "叫应顺序", "int", width=70, aliases=("顺序", "序号")),
        Field("phone", "手机", "phone", required=True, width=110, aliases=("联系电话", "电话", "手机号码")),
        Field("backup_phone", "备用电话", "phone", width=110, aliases=("座机", "其他电话")),
        Field("called_by", "由谁叫应", max_length=32, width=80, aliases=("上级叫应人", "叫应人", "上级")),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("name", "phone"),),
    search=("name", "duty", "phone"),
)

ORG_DOCUMENTS = RegisterSpec(
    kind="org_documents",
    title="机构制度文件",
    model=OrgDocument,
    fields=(
        Field("name", "文件名称", required=True, max_length=128, width=240, aliases=("名称", "文件", "标题")),
        Field("kind", "文件类别", "choice", choices=ORG_DOCUMENT_KINDS, default="工作制度", width=110,
              aliases=("类别", "类型")),
        _village(),
        Field("doc_number", "文号", max_length=64, width=140, aliases=("发文字号", "文件编号")),
        Field("issued_on", "印发日期", "date", width=90, aliases=("发文日期", "日期")),
        _remarks(),
    ),
    unique_keys=(),
    match_keys=(("village", "name"),),
    search=("name", "doc_number"),
)

READINESS_REGISTERS: dict[str, RegisterSpec] = {s.kind: s for s in (
    TEAMS, TEAM_MEMBERS, SUPPLIES, SHELTERS, PLANS, DRILLS, EQUIPMENT, COMM_TESTS, CALL_TREES, ORG_DOCUMENTS,
)}
READINESS_KINDS: tuple[str, ...] = tuple(READINESS_REGISTERS)
