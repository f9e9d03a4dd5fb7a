"""The demo township's 七有/五有 registers: teams and members, supplies, shelters, plans and drills,
command equipment and tests, call trees and organisation documents with scans and photos.

The township meets its 七有 standard; villages follow a fixed pattern (in division-code order) so that
most are 达标 and the others fail for one clear reason each — a team of 7, three expired supplies, a
plan past its revision date. Random choices (names, numbers, dates) come from the demo's seeded stream,
drawn after everything else, so the rest of the demo is unchanged by them.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.models import (
    Attachment,
    CallTreeEntry,
    CommandEquipment,
    CommTest,
    Contact,
    Drill,
    EmergencyPlan,
    OrgDocument,
    RescueTeam,
    Shelter,
    Supply,
    TeamMember,
    Village,
    new_id,
)
from app.models.base import SyncedMixin
from app.services.context import Scope
from app.storage import Database
from app.storage.attachments import AttachmentStore, StoredFile

# What goes wrong in a village, by its position in division-code order (repeats every six).
GOOD, SMALL_TEAM, EXPIRED_SUPPLIES, PLAN_OVERDUE = "good", "small_team", "expired_supplies", "plan_overdue"
VILLAGE_PATTERN = (GOOD, SMALL_TEAM, GOOD, EXPIRED_SUPPLIES, GOOD, PLAN_OVERDUE)
SKILLS = ("水上救援", "医疗急救", "驾驶", "电工", "通信", "搜索救援", "消防", "机械操作", "心理疏导", "")
TOWNSHIP_PLANS = ("防汛抗旱", "地质灾害", "森林防火", "地震", "气象灾害", "安全生产事故", "突发公共卫生事件")
TOWNSHIP_DOCUMENTS = (
    ("机构设立文件", "关于成立{town}应急管理办公室的通知", "发〔2024〕12号"),
    ("工作制度", "{town}应急管理工作制度", "发〔2024〕15号"),
    ("值班制度", "{town}24小时应急值班值守制度", "发〔2024〕16号"),
    ("信息报告制度", "{town}突发事件信息报告制度", "发〔2024〕17号"),
    ("应急处置制度", "{town}突发事件先期处置制度", "发〔2024〕18号"),
    ("档案管理制度", "{town}应急管理档案管理制度", "发〔2024〕19号"),
    ("职责上墙", "{town}应急管理办公室职责和工作流程（上墙）", ""),
)


@dataclass(frozen=True)
class _Files:
    scan: StoredFile
    photo: StoredFile


def _stored_files(db: Database) -> _Files:
    """A small 'scanned page' and a 'photo' (stored once each, by hash) for the demo's attachments.
    Drawn with paste() only: the installer leaves out ImageDraw's font machinery."""
    from PIL import Image

    store = AttachmentStore(db.attachments_dir)
    with tempfile.TemporaryDirectory() as tmp:
        scan_path = Path(tmp) / "文件扫描件.png"
        page = Image.new("L", (210, 297), 255)
        for y in range(40, 260, 12):
            page.paste(120, (25, y, 186, y + 1))
        page.save(scan_path)
        photo_path = Path(tmp) / "现场照片.jpg"
        picture = Image.new("RGB", (320, 240), (120, 170, 210))
        picture.paste((90, 140, 80), (0, 150, 320, 240))
        picture.save(photo_path, "JPEG")
        return _Files(store.put(scan_path, images_only=True, field="file", label="扫描件"),
                      store.put(photo_path, images_only=True, field="file", label="照片"))


class _Maker:
    """Builds the rows; ``rows`` collects them in an order that satisfies the foreign keys."""

    def __init__(self, scope: Scope, rng: random.Random, name: Callable[[float], str], mobile: Callable[[], str],
                 files: _Files, today: date) -> None:
        self.scope, self.rng, self.name, self.mobile, self.files, self.today = scope, rng, name, mobile, files, today
        self.parents: list[SyncedMixin] = []  # teams and plans: referenced by members and drills
        self.rows: list[SyncedMixin] = []

    def owned(self, village: Village | None, **values: Any) -> dict[str, Any]:
        return {"id": new_id(), "township_id": self.scope.township_id, "partition": self.scope.partition,
                "village_id": village.id if village else None, **values}

    def attach(self, row: Any, files: StoredFile, role: str) -> None:
        self.rows.append(Attachment(
            township_id=self.scope.township_id, partition=self.scope.partition, owner_table=row.__tablename__,
            owner_id=row.id, role=role, sha256=files.sha256, file_name=files.file_name, media_type=files.media_type,
            size=files.size))

    def day(self, low: int, high: int) -> date:
        return self.today + timedelta(days=self.rng.randint(low, high))

    # -- registers ---------------------------------------------------------------------------------
    def team(self, village: Village | None, name: str, kind: str, size: int) -> None:
        leader, phone = self.name(0.1), self.mobile()
        team = RescueTeam(**self.owned(village, name=name, kind=kind, leader_name=leader, leader_phone=phone,
                                       established_on=self.day(-1500, -400)))
        self.parents.append(team)
        for n in range(size):
            role = "队长" if n == 0 else "副队长" if n == 1 else "队员"
            owned = self.owned(None, team_id=team.id, name=leader if n == 0 else self.name(0.15),
                               phone=phone if n == 0 else self.mobile(), role=role,
                               skills=self.rng.choice(SKILLS), insurance_until=self.day(40, 330))
            owned.pop("village_id")
            self.rows.append(TeamMember(**owned))

    def supplies(self, village: Village | None, lines: Sequence[tuple[str, str, int, str, int | None]],
                 location: str, custodian: str) -> None:
        """``lines``: (name, category, quantity, unit, days until expiry or None)."""
        for name, category, quantity, unit, expires_in in lines:
            expires = self.today + timedelta(days=expires_in) if expires_in is not None else None
            produced = (expires - timedelta(days=730)) if expires else self.day(-900, -60)
            self.rows.append(Supply(**self.owned(
                village, name=name, category=category, quantity=quantity, unit=unit, location=location,
                custodian=custodian, produced_on=produced, expires_on=expires)))

    def plan(self, village: Village | None, name: str, plan_type: str, overdue: bool = False) -> EmergencyPlan:
        approved = self.day(-900, -200) if not overdue else self.day(-1300, -1100)
        revision = approved + timedelta(days=1095)  # revised every three years
        plan = EmergencyPlan(**self.owned(village, name=name, plan_type=plan_type, plan_version=f"{approved.year}版",
                                          approved_on=approved, next_revision_on=revision))
        self.parents.append(plan)
        self.attach(plan, self.files.scan, "scan")
        return plan

    def drill(self, village: Village | None, name: str, plan: EmergencyPlan | None, days_ago: int,
              participants: int) -> None:
        drill = Drill(**self.owned(village, name=name, plan_id=plan.id if plan else None, kind="实战演练",
                                   held_on=self.today - timedelta(days=days_ago), participants=participants,
                                   evaluation="演练组织有序，转移路线清晰；个别群众响应较慢，已纳入下一次演练重点。"))
        self.rows.append(drill)
        self.attach(drill, self.files.photo, "photo")

    def document(self, village: Village | None, kind: str, name: str, number: str, issued: date,
                 photo: bool = False) -> None:
        doc = OrgDocument(**self.owned(village, name=name, kind=kind, doc_number=number, issued_on=issued))
        self.rows.append(doc)
        self.attach(doc, self.files.photo if photo else self.files.scan, "photo" if photo else "scan")

    def call(self, village: Village | None, level: str, person: tuple[str, str], duty: str, role: str,
             order: int, called_by: str) -> None:
        self.rows.append(CallTreeEntry(**self.owned(village, name=person[0], phone=person[1], level=level, duty=duty,
                                                    role=role, call_order=order, called_by=called_by)))

    def equipment(self, village: Village | None, name: str, kind: str, quantity: int, location: str) -> None:
        self.rows.append(CommandEquipment(**self.owned(village, name=name, kind=kind, quantity=quantity,
                                                       location=location, status="正常")))


def _township(m: _Maker, town: str, stem: str, contacts: Sequence[Contact]) -> None:
    office = f"{town}应急管理办公室"
    staff = [(c.name, c.mobile) for c in contacts if c.org_kind == "township"]
    for kind, title, number in TOWNSHIP_DOCUMENTS:
        m.document(None, kind, title.format(town=town), f"{stem}{number}" if number else "", m.day(-700, -300),
                   photo=kind == "职责上墙")
    m.team(None, f"{town}综合应急救援队", "综合应急救援队伍", 32)
    m.team(None, f"{town}民兵应急分队", "民兵应急分队", 20)
    overall = m.plan(None, f"{town}突发事件总体应急预案", "总体应急预案")
    plans = [m.plan(None, f"{town}{topic}专项应急预案", "专项应急预案") for topic in TOWNSHIP_PLANS]
    m.drill(None, f"{town}防汛抢险综合应急演练", plans[0], 75, 120)
    m.drill(None, f"{town}森林火灾扑救演练", plans[2], 230, 60)
    m.drill(None, f"{town}应急预案桌面推演", overall, 150, 35)
    m.supplies(None, (("救生衣", "防汛抗旱", 80, "件", None), ("编织袋", "防汛抗旱", 2000, "条", None),
                      ("帐篷", "生活保障", 15, "顶", None), ("强光手电", "通信照明", 30, "支", 600),
                      ("灭火器", "森林防火", 40, "具", 700), ("折叠床", "生活保障", 30, "张", None),
                      ("方便面", "生活保障", 200, "箱", 20), ("矿泉水", "生活保障", 150, "箱", 160)),
               f"{town}应急物资储备库", staff[3][0] if len(staff) > 3 else "")
    m.rows.append(Shelter(**m.owned(None, name=f"{town}中心小学应急避难场所", kind="室内外结合",
                                    duration_class="短期避难场所", hazards="洪涝、地震、地质灾害", effective_area=4800,
                                    capacity=1600, service_radius=1500, facilities="应急供水、供电、厕所、医疗点、物资储备点",
                                    signage="有", manager=staff[-1][0] if staff else "",
                                    manager_phone=staff[-1][1] if staff else "", address=f"{town}中心小学")))
    for name, kind, quantity in (("卫星电话", "卫星电话", 2), ("应急广播主机", "应急广播", 1), ("对讲机", "对讲机", 12),
                                 ("视频会商终端", "视频会商终端", 1), ("便携式发电机", "发电机", 2)):
        m.equipment(None, name, kind, quantity, office)
    for months_ago in range(6):
        m.rows.append(CommTest(**m.owned(None, tested_on=m.today - timedelta(days=30 * months_ago + 5),
                                         equipment="卫星电话", result="正常", tester=staff[3][0] if len(staff) > 3 else "")))
    for order, (person, duty, role) in enumerate(zip(staff[:4], ("党委书记", "镇长", "分管应急副镇长", "应急办主任"),
                                                    ("A角", "A角", "A角", "B角"), strict=False), start=1):
        m.call(None, "乡镇", (person[0], person[1] or m.mobile()), duty, role, order, "县应急管理局值班室")


def _village(m: _Maker, village: Village, scenario: str, contacts: Sequence[Contact]) -> None:
    people = [(c.name, c.mobile) for c in contacts]
    head = (village.head_name, village.head_phone)
    community = village.kind == "社区"
    m.team(village, f"{village.name}应急队", "综合应急救援队伍", 7 if scenario == SMALL_TEAM else m.rng.randint(10, 16))
    plan = m.plan(village, f"{village.name}防汛防地质灾害应急预案", "村（社区）应急预案", overdue=scenario == PLAN_OVERDUE)
    m.drill(village, f"{village.name}汛期避险转移演练", plan, m.rng.randint(30, 300), m.rng.randint(25, 80))
    expired = scenario == EXPIRED_SUPPLIES
    m.supplies(village, (("救生衣", "防汛抗旱", m.rng.randint(12, 24), "件", None),
                         ("编织袋", "防汛抗旱", m.rng.choice((300, 400, 500)), "条", None),
                         ("强光手电", "通信照明", m.rng.randint(6, 12), "支", m.rng.randint(200, 700)),
                         ("铜锣", "通信照明", 2, "面", None),
                         ("方便面", "生活保障", m.rng.randint(10, 30), "箱", -40 if expired else m.rng.randint(60, 300)),
                         ("矿泉水", "生活保障", m.rng.randint(10, 30), "箱", -15 if expired else m.rng.randint(90, 360)),
                         ("常用药品箱", "医疗救护", 2, "个", -70 if expired else m.rng.randint(120, 500))),
               f"{village.name}{'社区服务中心' if community else '村委会'}仓库", head[0])
    population = village.population or 1000
    for site, share in (("社区服务中心广场" if community else "村委会广场", 0.2), ("文化活动中心", 0.15)):
        capacity = math.ceil(population * share)
        m.rows.append(Shelter(**m.owned(village, name=f"{village.name}{site}避难点", kind="室外避难场所",
                                        duration_class="紧急避难场所", hazards="洪涝、地震", effective_area=capacity * 2,
                                        capacity=capacity, service_radius=500, facilities="应急照明、饮用水、临时厕所",
                                        signage="有", manager=head[0], manager_phone=head[1],
                                        address=f"{village.name}{site}")))
    callers = [head, *[p for p in people if p != head]][:4]
    for order, (person, duty) in enumerate(zip(callers, ("主要负责人", "应急管理员", "网格员", "网格员"),
                                               strict=False), start=1):
        m.call(village, "村（社区）", person, duty, "A角" if order != 2 else "B角", order, "包村干部")
    m.document(village, "职责上墙", f"{village.name}应急宣传栏", "", m.day(-500, -60), photo=True)
    m.document(village, "其他", f"{village.name}防灾避险明白卡", "", m.day(-400, -60))
    m.equipment(village, "高音喇叭", "高音喇叭", m.rng.randint(2, 6), f"{village.name}各村民小组")


def add_demo_readiness(session: Session, db: Database, scope: Scope, villages: Sequence[Village],
                       contacts: Sequence[Contact], rng: random.Random, name: Callable[[float], str],
                       mobile: Callable[[], str], today: date) -> dict[str, int]:
    """Add the registers for the demo township already flushed in ``session``; returns row counts."""
    town = scope.township_name
    stem = town.removesuffix("镇").removesuffix("乡")
    m = _Maker(scope, rng, name, mobile, _stored_files(db), today)
    by_village: dict[str | None, list[Contact]] = {}
    for c in contacts:
        by_village.setdefault(c.org_id if c.org_kind == "village" else None, []).append(c)
    _township(m, town, stem, by_village.get(None, []))
    ordered = sorted(villages, key=lambda v: (v.code or "", v.name))
    for index, village in enumerate(ordered):
        _village(m, village, VILLAGE_PATTERN[index % len(VILLAGE_PATTERN)], by_village.get(village.id, []))
    counts: dict[str, int] = {}
    for batch in (m.parents, m.rows):  # teams and plans first: members and drills refer to them
        for start in range(0, len(batch), 1000):
            session.add_all(batch[start : start + 1000])
            session.flush()
        for row in batch:
            counts[row.__tablename__] = counts.get(row.__tablename__, 0) + 1
    return counts
