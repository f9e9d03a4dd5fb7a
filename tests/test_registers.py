"""The four organisation registers and the township profile, through the services the UI calls."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import NotFound, PermissionDenied, ValidationError, XiangAnError
from app.models import AuditEntry, Contact, Enterprise, Role, Township, TownshipUnit, Village
from app.models.validation import uscc_check_char
from app.services import Services
from app.services.context import Actor
from app.services.organisation import REGISTERS
from app.services.registers import TOWNSHIP_LEVEL, ListQuery, RegisterService
from app.storage import Database

CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK)
READER = Actor(username="reader", display_name="只读", role=Role.READONLY)


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


CODE_A = uscc("91360726MA35ABCDE")
CODE_B = uscc("91360726MA35FGHJK")


def raw_rows(db: Database, table: str, where: str = "1=1") -> list[sqlite3.Row]:
    conn = sqlite3.connect(db.path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(f"SELECT * FROM {table} WHERE {where}").fetchall()
    finally:
        conn.close()


def audit_count(db: Database) -> int:
    return len(raw_rows(db, "audit_log"))


def reg(services: Services, kind: str) -> RegisterService:
    return services.register(kind)


@pytest.fixture
def village(services: Services) -> str:
    return reg(services, "villages").save({"name": "青山村", "population": "1200", "head_phone": "13800138000"})


# ── villages ─────────────────────────────────────────────────────────────────────────────────────


def test_village_create_get_update_delete(services: Services) -> None:
    villages = reg(services, "villages")
    vid = villages.save({
        "name": " 青山村 ", "kind": "", "code": "360726100201", "population": "1,200人",
        "households": "350户", "grid_count": "３", "head_name": "张三", "head_phone": "+86 138-0013-8000",
        "remarks": "  山区村  ",
    })
    row = villages.get(vid)
    assert row == {
        "id": vid, "name": "青山村", "kind": "行政村", "code": "360726100201", "population": 1200,
        "households": 350, "grid_count": 3, "head_name": "张三", "head_phone": "13800138000", "remarks": "山区村",
    }
    villages.save({**row, "kind": "社区", "population": "1300"}, vid)
    updated = villages.get(vid)
    assert (updated["kind"], updated["population"], updated["name"]) == ("社区", 1300, "青山村")
    assert villages.query_ids() == [vid]
    villages.delete(vid)
    assert villages.query_ids() == []
    assert villages.count() == 0
    with pytest.raises(NotFound, match="村/社区记录不存在或已被删除"):
        villages.get(vid)
    (stored,) = raw_rows(services.db, "village", f"id = '{vid}'")
    assert stored["deleted"] == 1
    assert stored["name"] == "青山村"
    with pytest.raises(NotFound):
        villages.save({"name": "青山村"}, vid)
    with pytest.raises(NotFound):
        villages.delete(vid)


def test_village_blank_choice_gets_default_and_bad_choice_is_refused(services: Services) -> None:
    villages = reg(services, "villages")
    assert villages.get(villages.save({"name": "甲村"}))["kind"] == "行政村"
    assert villages.get(villages.save({"name": "乙社区", "kind": "社区"}))["kind"] == "社区"
    with pytest.raises(ValidationError) as info:
        villages.save({"name": "丙村", "kind": "街道"})
    assert info.value.errors == {"kind": "应为以下之一：行政村、社区"}
    assert str(info.value) == "类型：应为以下之一：行政村、社区"


def test_village_validation_names_every_field_with_chinese_labels(services: Services) -> None:
    villages = reg(services, "villages")
    before = audit_count(services.db)
    with pytest.raises(ValidationError) as info:
        villages.save({"name": "  ", "population": "-5", "households": "1.5", "code": "3607",
                       "head_phone": "12345", "head_name": "名" * 33})
    err = info.value
    assert set(err.errors) == {"name", "population", "households", "code", "head_phone", "head_name"}
    assert err.errors["name"] == "必填，不能为空"
    message = str(err)
    for fragment in ("名称：必填，不能为空", "人口：应为不小于0的整数", "户数：应为不小于0的整数",
                     "区划代码：区划代码应为12位数字，当前为4位", "负责人电话：", "负责人：不能超过32个字"):
        assert fragment in message
    assert villages.count() == 0
    assert audit_count(services.db) == before


def test_duplicate_village_name_refused_until_deleted(services: Services, village: str) -> None:
    villages = reg(services, "villages")
    with pytest.raises(ValidationError) as info:
        villages.save({"name": "青山村"})
    assert info.value.errors == {"name": "已有名称相同的村/社区「青山村」"}
    villages.save({"name": "青山村", "population": "5"}, village)  # saving itself is not a duplicate
    other = villages.save({"name": "绿水村"})
    with pytest.raises(ValidationError, match="已有名称相同"):
        villages.save({"name": "青山村"}, other)  # renaming onto another village
    villages.delete(village)
    again = villages.save({"name": "青山村"})
    assert again != village
    assert len(raw_rows(services.db, "village", "name = '青山村'")) == 2


def test_village_delete_guard(services: Services, village: str) -> None:
    villages = reg(services, "villages")
    eid = reg(services, "enterprises").save({"name": "青山石材厂", "village": "青山村"})
    cid = reg(services, "contacts").save({"name": "李四", "organisation": "青山村", "mobile": "13900139000"})
    with pytest.raises(ValidationError) as info:
        villages.delete(village)
    assert "「青山村」下还有1家企业、1位联系人" in str(info.value)
    reg(services, "enterprises").delete(eid)
    with pytest.raises(ValidationError, match="「青山村」下还有1位联系人，"):
        villages.delete(village)
    reg(services, "contacts").save({"name": "李四", "organisation": "", "mobile": "13900139000"}, cid)
    villages.delete(village)
    assert villages.count() == 0


# ── enterprises ──────────────────────────────────────────────────────────────────────────────────


def test_enterprise_create_get_update_delete(services: Services, village: str) -> None:
    enterprises = reg(services, "enterprises")
    eid = enterprises.save({
        "name": "青山化工有限公司", "credit_code": CODE_A.lower(), "sector": "危险化学品", "village": "青山村",
        "legal_rep": "王五", "safety_officer": "赵六", "phone": "0797-8123456转12", "address": "青山村1号",
        "employees": "120人",
    })
    row = enterprises.get(eid)
    assert row["credit_code"] == CODE_A
    assert row["sector"] == "危险化学品"
    assert row["village"] == "青山村"
    assert row["phone"] == "0797-8123456-12"
    assert row["employees"] == 120
    stored = raw_rows(services.db, "enterprise", f"id = '{eid}'")[0]
    assert stored["sector_code"] == "hazchem"
    assert stored["village_id"] == village
    enterprises.save({**row, "sector": "hazchem", "village": ""}, eid)  # a sector code works too
    updated = enterprises.get(eid)
    assert (updated["sector"], updated["village"]) == ("危险化学品", "")
    enterprises.delete(eid)
    assert enterprises.query_ids() == []
    assert raw_rows(services.db, "enterprise", f"id = '{eid}'")[0]["deleted"] == 1


def test_duplicate_credit_code_refused_but_deleted_code_reusable(services: Services) -> None:
    enterprises = reg(services, "enterprises")
    first = enterprises.save({"name": "甲公司", "credit_code": CODE_A})
    with pytest.raises(ValidationError) as info:
        enterprises.save({"name": "乙公司", "credit_code": f" {CODE_A[:9]} {CODE_A[9:]} "})
    assert info.value.errors == {"credit_code": "已有统一社会信用代码相同的企业「甲公司」"}
    assert "统一社会信用代码：已有" in str(info.value)
    enterprises.save({"name": "甲公司（更名）", "credit_code": CODE_A}, first)
    enterprises.delete(first)
    second = enterprises.save({"name": "乙公司", "credit_code": CODE_A})
    assert enterprises.get(second)["credit_code"] == CODE_A
    assert enterprises.count() == 1


def test_enterprises_without_credit_code_do_not_collide(services: Services) -> None:
    enterprises = reg(services, "enterprises")
    a = enterprises.save({"name": "甲作坊"})
    b = enterprises.save({"name": "乙作坊", "credit_code": "  "})
    assert enterprises.count() == 2
    assert {enterprises.get(a)["credit_code"], enterprises.get(b)["credit_code"]} == {""}
    assert [r["credit_code"] for r in raw_rows(services.db, "enterprise")] == [None, None]


def test_bad_credit_code_is_reported_on_its_field(services: Services) -> None:
    wrong = CODE_A[:17] + ("0" if CODE_A[17] != "0" else "1")
    with pytest.raises(ValidationError) as info:
        reg(services, "enterprises").save({"name": "甲公司", "credit_code": wrong})
    assert list(info.value.errors) == ["credit_code"]
    assert f"统一社会信用代码：校验位错误（最后一位应为{CODE_A[17]}）" in str(info.value)


def test_unknown_references_are_reported(services: Services, village: str) -> None:
    before = audit_count(services.db)
    with pytest.raises(ValidationError) as info:
        reg(services, "enterprises").save({"name": "甲公司", "sector": "航天", "village": "白云村"})
    errors = info.value.errors
    assert set(errors) == {"sector", "village"}
    assert errors["village"] == "找不到名为「白云村」的村/社区，请先在「村/社区」中添加"
    assert errors["sector"].startswith("「航天」不在县里下发的行业代码表中，可选：道路交通、")
    assert "所在村/社区：找不到" in str(info.value)
    assert "行业领域：「航天」" in str(info.value)
    with pytest.raises(ValidationError) as contact_err:
        reg(services, "contacts").save({"name": "张三", "organisation": "不存在的单位"})
    assert contact_err.value.errors == {"organisation": "找不到名为「不存在的单位」的村/社区、站所或企业"}
    assert reg(services, "enterprises").count() == 0
    assert reg(services, "contacts").count() == 0
    assert audit_count(services.db) == before


def test_deleted_village_cannot_be_referenced(services: Services, village: str) -> None:
    villages = reg(services, "villages")
    villages.delete(village)
    with pytest.raises(ValidationError, match="找不到名为「青山村」的村/社区"):
        reg(services, "enterprises").save({"name": "甲公司", "village": "青山村"})


# ── township units ───────────────────────────────────────────────────────────────────────────────


def test_unit_create_get_update_delete(services: Services) -> None:
    units = reg(services, "units")
    uid = units.save({"name": "青山派出所", "kind": "派出所", "head_name": "陈所长", "phone": "07978123456"})
    row = units.get(uid)
    assert row == {"id": uid, "name": "青山派出所", "kind": "派出所", "head_name": "陈所长",
                   "phone": "0797-8123456", "address": "", "remarks": ""}
    other = units.save({"name": "农技站"})
    assert units.get(other)["kind"] == "其他"
    with pytest.raises(ValidationError, match="已有名称相同的站所「青山派出所」"):
        units.save({"name": "青山派出所"})
    units.save({**row, "address": "镇政府东100米"}, uid)
    assert units.get(uid)["address"] == "镇政府东100米"
    units.delete(uid)
    assert units.query_ids() == [other]
    assert raw_rows(services.db, "township_unit", f"id = '{uid}'")[0]["deleted"] == 1
    units.save({"name": "青山派出所", "kind": "派出所"})  # name free again
    with pytest.raises(ValidationError) as info:
        units.save({"name": "某所", "kind": "不存在的类别"})
    assert list(info.value.errors) == ["kind"]
    assert str(info.value).startswith("类别：应为以下之一：派出所、卫生院")


# ── contacts ─────────────────────────────────────────────────────────────────────────────────────


def test_contact_create_get_update_delete(services: Services, village: str) -> None:
    contacts = reg(services, "contacts")
    cid = contacts.save({
        "name": "李四", "organisation": "青山村", "position": "村委委员", "roles": "网格员、安全员",
        "mobile": "139 0013 9000", "office_phone": "0797-8123456", "id_number": "11010519491231002x",
    })
    row = contacts.get(cid)
    assert row["organisation"] == "青山村"
    assert row["roles"] == "网格员、安全员"
    assert row["mobile"] == "13900139000"
    assert row["id_number"] == "11010519491231002X"
    stored = raw_rows(services.db, "contact", f"id = '{cid}'")[0]
    assert (stored["org_kind"], stored["org_id"]) == ("village", village)
    with services.db.session() as session:
        assert session.get(Contact, cid).roles == ["网格员", "安全员"]
    contacts.save({**row, "organisation": "", "roles": ["值班员", "值班员", " 信息员 "]}, cid)
    updated = contacts.get(cid)
    assert updated["organisation"] == TOWNSHIP_LEVEL
    assert updated["roles"] == "值班员、信息员"
    stored = raw_rows(services.db, "contact", f"id = '{cid}'")[0]
    assert (stored["org_kind"], stored["org_id"]) == ("township", None)
    contacts.delete(cid)
    assert contacts.query_ids() == []
    assert raw_rows(services.db, "contact", f"id = '{cid}'")[0]["deleted"] == 1


@pytest.mark.parametrize("roles, expected", [
    ("网格员、安全员", ["网格员", "安全员"]),
    ("网格员,安全员；值班员", ["网格员", "安全员", "值班员"]),
    ("网格员 / 网格员", ["网格员"]),
    ("", []),
])
def test_contact_roles_parsing(services: Services, roles: str, expected: list[str]) -> None:
    cid = reg(services, "contacts").save({"name": "王五", "roles": roles})
    with services.db.session() as session:
        assert session.get(Contact, cid).roles == expected


def test_unknown_contact_role(services: Services) -> None:
    with pytest.raises(ValidationError) as info:
        reg(services, "contacts").save({"name": "王五", "roles": "网格员、队长、司机"})
    assert list(info.value.errors) == ["roles"]
    assert "应急角色：未知的角色「队长、司机」，可选：主要负责人" in str(info.value)


def test_contact_organisation_can_be_unit_or_enterprise(services: Services) -> None:
    uid = reg(services, "units").save({"name": "卫生院", "kind": "卫生院"})
    eid = reg(services, "enterprises").save({"name": "青山石材厂"})
    contacts = reg(services, "contacts")
    a = contacts.save({"name": "甲", "organisation": "卫生院"})
    b = contacts.save({"name": "乙", "organisation": "青山石材厂"})
    c = contacts.save({"name": "丙", "organisation": TOWNSHIP_LEVEL})
    stored = {r["id"]: (r["org_kind"], r["org_id"]) for r in raw_rows(services.db, "contact")}
    assert stored == {a: ("unit", uid), b: ("enterprise", eid), c: ("township", None)}
    reg(services, "units").save({"name": "青山卫生院", "kind": "卫生院"}, uid)
    assert contacts.get(a)["organisation"] == "青山卫生院"  # references follow renames


def test_contact_name_and_mobile_unique_together(services: Services) -> None:
    contacts = reg(services, "contacts")
    contacts.save({"name": "张三", "mobile": "13800138000"})
    with pytest.raises(ValidationError) as info:
        contacts.save({"name": "张三", "mobile": "138-0013-8000"})
    assert info.value.errors == {"mobile": "已有姓名和手机相同的联系人「张三」"}
    contacts.save({"name": "张三", "mobile": "13900139000"})  # a namesake with another phone
    contacts.save({"name": "张三"})
    contacts.save({"name": "张三"})  # blank mobile: not checked
    assert contacts.count() == 4


def test_contact_bad_id_number(services: Services) -> None:
    with pytest.raises(ValidationError) as info:
        reg(services, "contacts").save({"name": "张三", "id_number": "110105194902301234"})
    assert info.value.errors == {"id_number": "身份证号码中的出生日期无效"}
    assert str(info.value) == "身份证号码：身份证号码中的出生日期无效"


# ── roles and atomicity ──────────────────────────────────────────────────────────────────────────


SAMPLE: dict[str, dict[str, Any]] = {
    "villages": {"name": "青山村"},
    "enterprises": {"name": "青山石材厂"},
    "units": {"name": "青山派出所"},
    "contacts": {"name": "张三"},
}


@pytest.mark.parametrize("kind", list(SAMPLE))
def test_reader_is_refused_and_nothing_written(services: Services, kind: str) -> None:
    existing = reg(services, kind).save(SAMPLE[kind])
    before = audit_count(services.db)
    reader = Services(services.db, READER)
    service = reader.register(kind)
    with pytest.raises(PermissionDenied, match="只读账号，不能修改数据"):
        service.save({"name": "另一个"})
    with pytest.raises(PermissionDenied):
        service.save({**SAMPLE[kind], "remarks": "改"}, existing)
    with pytest.raises(PermissionDenied):
        service.delete(existing)
    assert audit_count(services.db) == before
    assert service.query_ids() == [existing]  # reading is allowed
    assert service.get(existing)["remarks"] == ""
    assert raw_rows(services.db, REGISTERS[kind].model.__tablename__, f"id = '{existing}'")[0]["version"] == 1


@pytest.mark.parametrize("kind", list(SAMPLE))
def test_clerk_can_write_and_is_audited(services: Services, kind: str) -> None:
    clerk = Services(services.db, CLERK)
    rid = clerk.register(kind).save(SAMPLE[kind])
    clerk.register(kind).delete(rid)
    with services.db.session() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == rid).order_by(AuditEntry.id)).all()
    assert [(e.action, e.username) for e in entries] == [("create", "clerk"), ("delete", "clerk")]


@pytest.mark.parametrize("kind", list(SAMPLE))
def test_failed_save_leaves_no_partial_row(services: Services, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = audit_count(services.db)
    table = REGISTERS[kind].model.__tablename__
    original = RegisterService.save_in

    def save_then_fail(self: RegisterService, *args: Any, **kwargs: Any) -> str:
        original(self, *args, **kwargs)  # the row and its audit entry are flushed…
        assert raw_rows(services.db, table) == []  # …but not visible outside the transaction
        raise RuntimeError("power cut")

    monkeypatch.setattr(RegisterService, "save_in", save_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        reg(services, kind).save(SAMPLE[kind])
    monkeypatch.undo()
    assert raw_rows(services.db, table) == []
    assert audit_count(services.db) == before
    reg(services, kind).save(SAMPLE[kind])  # nothing left behind that blocks a retry
    assert reg(services, kind).count() == 1


def test_failed_update_keeps_previous_values(services: Services, village: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    original = RegisterService.save_in

    def save_then_fail(self: RegisterService, *args: Any, **kwargs: Any) -> str:
        original(self, *args, **kwargs)
        raise RuntimeError("power cut")

    monkeypatch.setattr(RegisterService, "save_in", save_then_fail)
    with pytest.raises(RuntimeError):
        reg(services, "villages").save({"name": "改名村", "population": "1"}, village)
    monkeypatch.undo()
    row = reg(services, "villages").get(village)
    assert (row["name"], row["population"]) == ("青山村", 1200)
    assert raw_rows(services.db, "village")[0]["version"] == 1


def test_partition_is_the_township_on_every_row(services: Services, village: str) -> None:
    reg(services, "enterprises").save({"name": "甲公司", "village": "青山村"})
    reg(services, "units").save({"name": "派出所"})
    reg(services, "contacts").save({"name": "张三", "organisation": "派出所"})
    township_id = services.scope.township_id
    expected = f"twp:{township_id}"
    assert services.scope.partition == expected
    for table in ("township", "village", "enterprise", "township_unit", "contact"):
        rows = raw_rows(services.db, table)
        assert rows, table
        assert {r["partition"] for r in rows} == {expected}, table
        if table != "township":
            assert {r["township_id"] for r in rows} == {township_id}, table


# ── lists: search, filters, sort, lazy fetch ─────────────────────────────────────────────────────


@pytest.fixture
def enterprises(services: Services) -> dict[str, str]:
    v = reg(services, "villages")
    v.save({"name": "青山村"})
    v.save({"name": "绿水村"})
    e = reg(services, "enterprises")
    return {
        "化工": e.save({"name": "青山化工厂", "sector": "危险化学品", "village": "青山村", "credit_code": CODE_A,
                        "legal_rep": "王五", "employees": "50"}),
        "石材": e.save({"name": "绿水石材厂", "sector": "矿山", "village": "绿水村", "employees": "20"}),
        "烟花": e.save({"name": "安远烟花店", "sector": "烟花爆竹", "village": "青山村", "address": "绿水路8号",
                        "employees": "5"}),
        "无": e.save({"name": "无名作坊", "credit_code": CODE_B}),
    }


def _names(service: RegisterService, query: ListQuery) -> list[str]:
    return [row["name"] for row in service.rows(query)]


def test_search(services: Services, enterprises: dict[str, str]) -> None:
    e = reg(services, "enterprises")
    assert sorted(_names(e, ListQuery(search="青山"))) == ["青山化工厂"]
    assert sorted(_names(e, ListQuery(search="绿水"))) == ["安远烟花店", "绿水石材厂"]  # name or address
    assert _names(e, ListQuery(search=CODE_B[12:])) == ["无名作坊"]
    assert _names(e, ListQuery(search="王五")) == ["青山化工厂"]
    assert _names(e, ListQuery(search="  ")) == _names(e, ListQuery())
    assert _names(e, ListQuery(search="不存在")) == []


def test_filters_by_sector_name_and_village(services: Services, enterprises: dict[str, str]) -> None:
    e = reg(services, "enterprises")
    assert _names(e, ListQuery(filters={"sector": "危险化学品"})) == ["青山化工厂"]
    assert _names(e, ListQuery(filters={"sector": "mining"})) == ["绿水石材厂"]
    assert sorted(_names(e, ListQuery(filters={"village": "青山村"}))) == ["安远烟花店", "青山化工厂"]
    assert _names(e, ListQuery(filters={"village": "青山村", "sector": "烟花爆竹"})) == ["安远烟花店"]
    assert _names(e, ListQuery(search="化工", filters={"village": "绿水村"})) == []
    assert len(_names(e, ListQuery(filters={"village": "", "sector": ""}))) == 4  # blank = no filter


def test_filters_with_unknown_values_match_nothing(services: Services, enterprises: dict[str, str]) -> None:
    """An unknown sector or village must not fall back to 'rows without a sector/village'."""
    e = reg(services, "enterprises")
    assert _names(e, ListQuery(filters={"sector": "航天"})) == []
    assert _names(e, ListQuery(filters={"village": "白云村"})) == []


def test_contacts_filter_by_organisation(services: Services) -> None:
    reg(services, "villages").save({"name": "青山村"})
    c = reg(services, "contacts")
    c.save({"name": "甲", "organisation": "青山村"})
    c.save({"name": "乙"})
    assert _names(c, ListQuery(filters={"organisation": "青山村"})) == ["甲"]
    assert _names(c, ListQuery(filters={"organisation": TOWNSHIP_LEVEL})) == ["乙"]


def test_sort_ascending_and_descending(services: Services, enterprises: dict[str, str]) -> None:
    e = reg(services, "enterprises")
    by_staff = _names(e, ListQuery(sort="employees", descending=True))
    assert by_staff[:3] == ["青山化工厂", "绿水石材厂", "安远烟花店"]
    assert _names(e, ListQuery(sort="employees"))[-3:] == ["安远烟花店", "绿水石材厂", "青山化工厂"]
    ascending = _names(e, ListQuery(sort="name"))
    assert _names(e, ListQuery(sort="name", descending=True)) == list(reversed(ascending))
    assert ascending == sorted(ascending)


def test_village_list_sorted_by_population(services: Services) -> None:
    v = reg(services, "villages")
    for name, pop in (("甲村", "300"), ("乙村", "1000"), ("丙村", "20")):
        v.save({"name": name, "population": pop})
    assert _names(v, ListQuery(sort="population", descending=True)) == ["乙村", "甲村", "丙村"]
    assert _names(v, ListQuery(sort="population")) == ["丙村", "甲村", "乙村"]


def test_fetch_rows_beyond_500_ids(services: Services) -> None:
    villages = reg(services, "villages")
    with services.db.session("admin") as session:
        ids = [villages.save_in(session, {"name": f"村{i:04d}", "population": str(i)}, None) for i in range(620)]
    listed = villages.query_ids()
    assert len(listed) == 620
    assert set(listed) == set(ids)
    fetched = villages.fetch_rows(listed)
    assert len(fetched) == 620
    assert fetched[ids[555]]["name"] == "村0555"
    assert fetched[ids[555]]["population"] == 555
    rows = villages.rows(ListQuery(sort="population", descending=True))
    assert [r["population"] for r in rows[:3]] == [619, 618, 617]
    assert villages.count() == 620


def test_fetch_rows_leaves_out_deleted_and_unknown_ids(services: Services, village: str) -> None:
    villages = reg(services, "villages")
    other = villages.save({"name": "绿水村"})
    villages.delete(other)
    assert set(villages.fetch_rows([village, other, "no-such-id"])) == {village}


def test_choices(services: Services, enterprises: dict[str, str]) -> None:
    e = reg(services, "enterprises")
    assert e.choices("village") == sorted(["青山村", "绿水村"])
    assert "危险化学品" in e.choices("sector")
    reg(services, "units").save({"name": "派出所"})
    orgs = reg(services, "contacts").choices("organisation")
    assert orgs[0] == TOWNSHIP_LEVEL
    assert {"青山村", "绿水村", "派出所", "青山化工厂"} <= set(orgs)
    assert reg(services, "villages").choices("kind") == ["行政村", "社区"]
    assert reg(services, "villages").choices("name") == []


# ── township profile ─────────────────────────────────────────────────────────────────────────────


def test_services_need_a_township_first(db: Database) -> None:
    services = Services(db, Actor("admin", "", Role.ADMIN))
    with pytest.raises(XiangAnError, match="尚未填写乡镇信息"):
        services.register("villages")
    assert services.township.profile() == {}


def test_township_profile_save_and_update(services: Services) -> None:
    profile = services.township.profile()
    assert profile["name"] == "青山镇"
    assert profile["county_name"] == "安远县"
    assert profile["code"] == "360726100"
    scope = services.township.save_profile({**profile, "office_phone": "0797 812 3456", "code": "360726100000"})
    assert scope.township_id == services.scope.township_id
    updated = services.township.profile()
    assert updated["office_phone"] == "0797-8123456"
    assert updated["code"] == "360726100000"
    with services.db.session() as session:
        townships = session.scalars(select(Township)).all()
    assert len(townships) == 1
    assert townships[0].version == 2
    services.township.save_profile(services.township.profile())  # unchanged: no new version
    with services.db.session() as session:
        assert session.scalars(select(Township)).one().version == 2


@pytest.mark.parametrize(
    "values, field, problem",
    [
        ({"code": "360726"}, "code", "区划代码应为9、12位数字，当前为6位"),
        ({"code": "36072610"}, "code", "区划代码应为9、12位数字，当前为8位"),  # 6 is not offered for a township
        ({"code": "3607ab100"}, "code", "区划代码只能由数字组成"),
        ({"county_code": "360726100"}, "county_code", "区划代码应为6、12位数字，当前为9位"),
        ({"county_name": " "}, "county_name", "必填，不能为空"),
        ({"name": ""}, "name", "必填，不能为空"),
        ({"leader_phone": "12"}, "leader_phone", "「12」不是有效的电话号码（手机11位，座机需带区号）"),
    ],
)
def test_township_profile_validation(services: Services, values: dict[str, str], field: str, problem: str) -> None:
    base = {"name": "青山镇", "county_name": "安远县", "code": "360726100"}
    before = services.township.profile()
    with pytest.raises(ValidationError) as info:
        services.township.save_profile({**base, **values})
    assert info.value.errors == {field: problem}
    label = {"code": "区划代码", "county_code": "县（区）区划代码", "county_name": "所属县（区）",
             "name": "乡镇（街道）名称", "leader_phone": "分管领导电话"}[field]
    assert str(info.value) == f"{label}：{problem}"
    assert services.township.profile() == before


def test_township_profile_county_code_lengths(services: Services) -> None:
    services.township.save_profile({"name": "青山镇", "county_name": "安远县", "county_code": "360726"})
    assert services.township.profile()["county_code"] == "360726"
    services.township.save_profile({"name": "青山镇", "county_name": "安远县", "county_code": "360726000000"})
    assert services.township.profile()["county_code"] == "360726000000"


@pytest.mark.parametrize("code, ok", [("360726100201", True), ("360726100", False), ("360726", False)])
def test_village_code_is_twelve_digits(services: Services, code: str, ok: bool) -> None:
    villages = reg(services, "villages")
    if ok:
        assert villages.get(villages.save({"name": "青山村", "code": code}))["code"] == code
    else:
        with pytest.raises(ValidationError) as info:
            villages.save({"name": "青山村", "code": code})
        assert info.value.errors == {"code": f"区划代码应为12位数字，当前为{len(code)}位"}


def test_reader_cannot_save_township_profile(services: Services) -> None:
    reader = Services(services.db, READER)
    with pytest.raises(PermissionDenied):
        reader.township.save_profile({"name": "别的镇", "county_name": "别的县"})
    assert services.township.profile()["name"] == "青山镇"


def test_first_profile_creates_the_scope(db: Database) -> None:
    services = Services(db, Actor("admin", "", Role.ADMIN))
    scope = services.township.save_profile({"name": "绿水乡", "county_name": "安远县"})
    assert scope.township_name == "绿水乡"
    assert services.scope == scope
    (row,) = raw_rows(db, "township")
    assert row["id"] == scope.township_id
    assert row["partition"] == f"twp:{scope.township_id}"


def test_registers_are_scoped_to_the_township(services: Services, village: str) -> None:
    """Rows of another township (e.g. received via sync) never show up in this one's lists."""
    with services.db.session() as session:
        other = Township(name="外镇", partition="twp:other")
        session.add(other)
        session.flush()
        session.add(Village(township_id=other.id, partition=f"twp:{other.id}", name="外村"))
        session.add(Enterprise(township_id=other.id, partition=f"twp:{other.id}", name="外厂"))
        session.add(TownshipUnit(township_id=other.id, partition=f"twp:{other.id}", name="外所"))
    assert reg(services, "villages").query_ids() == [village]
    assert reg(services, "enterprises").count() == 0
    assert reg(services, "units").count() == 0
    with services.db.session() as session:
        foreign = session.scalars(select(Village).where(Village.name == "外村")).one().id
    with pytest.raises(NotFound):
        reg(services, "villages").save({"name": "外村"}, foreign)
    with pytest.raises(NotFound):
        reg(services, "villages").delete(foreign)
    assert reg(services, "villages").save({"name": "外村"})  # its name is free here


def test_sort_by_reference_columns_uses_the_names_shown(services: Services, enterprises: dict[str, str]) -> None:
    e = reg(services, "enterprises")
    rows = e.rows(ListQuery(sort="village"))
    shown = [row["village"] for row in rows]
    assert shown == sorted(shown)  # "" (no village) first, then 绿水村 < 青山村 by the names themselves
    sectors = [row["sector"] for row in e.rows(ListQuery(sort="sector", descending=True))]
    assert sectors == sorted(sectors, reverse=True)


def test_sort_contacts_by_organisation_name(services: Services) -> None:
    reg(services, "villages").save({"name": "B村"})
    reg(services, "units").save({"name": "A站"})
    c = reg(services, "contacts")
    c.save({"name": "甲", "organisation": "B村"})
    c.save({"name": "乙", "organisation": "A站"})
    c.save({"name": "丙"})
    assert [r["organisation"] for r in c.rows(ListQuery(sort="organisation"))] == [TOWNSHIP_LEVEL, "A站", "B村"]


def test_search_treats_percent_and_underscore_literally(services: Services) -> None:
    v = reg(services, "villages")
    v.save({"name": "一_村"})
    v.save({"name": "二村"})
    v.save({"name": "三%社区"})
    assert _names(v, ListQuery(search="_")) == ["一_村"]
    assert _names(v, ListQuery(search="%")) == ["三%社区"]


@pytest.mark.parametrize("kind", ["units", "enterprises"])
def test_organisation_with_contacts_cannot_be_deleted(services: Services, kind: str) -> None:
    org_id = reg(services, kind).save({"name": "青山供电所"})
    contact = reg(services, "contacts").save({"name": "赵六", "organisation": "青山供电所"})
    with pytest.raises(ValidationError, match="「青山供电所」下还有1位联系人"):
        reg(services, kind).delete(org_id)
    assert reg(services, "contacts").get(contact)["organisation"] == "青山供电所"
    reg(services, "contacts").delete(contact)
    reg(services, kind).delete(org_id)
    assert reg(services, kind).count() == 0
