"""The 工作台 summary: figures, enterprises by sector, what needs attention, recent activity."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Enterprise, Township, Village
from app.models.validation import uscc_check_char
from app.services import Services
from app.services.accounts import AccountService
from app.services.dashboard import Attention


def _code(n: int) -> str:
    first17 = f"9136072600000{n:04d}"
    return first17 + uscc_check_char(first17)


def _attention(services: Services) -> dict[str, Attention]:
    return {a.text.split(" ", 1)[1]: a for a in services.dashboard.summary().attention}


def test_empty_township(services: Services) -> None:
    summary = services.dashboard.summary()
    assert summary.township_name == "青山镇"
    assert (summary.villages, summary.communities, summary.population, summary.households) == (0, 0, 0, 0)
    assert (summary.enterprises, summary.units, summary.contacts) == (0, 0, 0)
    assert summary.enterprises_by_sector == []
    assert summary.attention == []


def test_counts_and_totals(services: Services) -> None:
    v = services.register("villages")
    v.save({"name": "青山村", "population": "1200", "households": "300"})
    v.save({"name": "绿水村", "population": "800"})  # households unknown
    v.save({"name": "城东社区", "kind": "社区", "population": "5000", "households": "1800"})
    gone = v.save({"name": "已撤并村", "population": "999", "households": "99"})
    v.delete(gone)
    services.register("units").save({"name": "派出所"})
    services.register("units").save({"name": "卫生院"})
    services.register("contacts").save({"name": "张三", "mobile": "13800138000"})
    e = services.register("enterprises")
    e.save({"name": "甲厂"})
    e.delete(e.save({"name": "乙厂"}))
    summary = services.dashboard.summary()
    assert summary.villages == 2
    assert summary.communities == 1
    assert summary.population == 1200 + 800 + 5000
    assert summary.households == 300 + 1800
    assert summary.enterprises == 1
    assert summary.units == 2
    assert summary.contacts == 1


def test_enterprises_by_sector_uses_names(services: Services) -> None:
    e = services.register("enterprises")
    for i in range(3):
        e.save({"name": f"化工{i}", "sector": "危险化学品"})
    for i in range(2):
        e.save({"name": f"矿{i}", "sector": "矿山"})
    e.save({"name": "无行业"})
    e.delete(e.save({"name": "已删除的化工厂", "sector": "危险化学品"}))
    assert services.dashboard.summary().enterprises_by_sector == [("危险化学品", 3), ("矿山", 2), ("未分类", 1)]


def test_attention_items_appear_and_disappear(services: Services) -> None:
    v = services.register("villages")
    vid = v.save({"name": "青山村"})
    items = _attention(services)
    assert items["个村/社区未填负责人电话"].count == 1
    assert items["个村/社区未填人口数"].area == "organisation"
    assert items["个村/社区未填人口数"].text == "1 个村/社区未填人口数"
    v.save({"name": "青山村", "population": "100"}, vid)
    items = _attention(services)
    assert "个村/社区未填人口数" not in items
    assert "个村/社区未填负责人电话" in items
    v.save({"name": "青山村", "population": "100", "head_phone": "13800138000"}, vid)
    assert _attention(services) == {}

    e = services.register("enterprises")
    eids = [e.save({"name": "甲厂"}), e.save({"name": "乙厂"})]
    items = _attention(services)
    assert items["家企业未填统一社会信用代码"].count == 2
    assert items["家企业未指定行业领域"].count == 2
    assert items["家企业未填安全管理人员"].text == "2 家企业未填安全管理人员"
    for n, eid in enumerate(eids):
        e.save({"name": f"厂{n}", "credit_code": _code(n), "sector": "工贸", "safety_officer": "赵六"}, eid)
    assert _attention(services) == {}

    c = services.register("contacts")
    cid = c.save({"name": "张三"})
    assert _attention(services)["位联系人没有任何电话"].count == 1
    c.save({"name": "张三", "office_phone": "0797-8123456"}, cid)  # an office phone is enough
    assert _attention(services) == {}
    c.delete(c.save({"name": "李四"}))  # deleted rows never need attention
    assert _attention(services) == {}


def test_recent_activity_excludes_logins_newest_first(services: Services) -> None:
    accounts = AccountService(services.db)
    accounts.create_first_admin("admin", "Qingshan2024")
    accounts.authenticate("admin", "Qingshan2024")
    v = services.register("villages")
    vid = v.save({"name": "青山村"})
    accounts.authenticate("admin", "Qingshan2024")
    v.save({"name": "青山村", "population": "5"}, vid)
    recent = services.dashboard.summary().recent
    summaries = [a.summary for a in recent]
    assert summaries[:2] == ["修改村/社区「青山村」", "新增村/社区「青山村」"]
    assert not any("登录" in s for s in summaries)
    assert "新增账号「admin」（管理员）" in summaries
    assert all(a.username == "admin" for a in recent[:2])
    assert recent[0].at >= recent[1].at


def test_recent_activity_limit(services: Services) -> None:
    v = services.register("villages")
    for i in range(12):
        v.save({"name": f"村{i}"})
    recent = services.dashboard.summary(recent_limit=5).recent
    assert [a.summary for a in recent] == [f"新增村/社区「村{i}」" for i in range(11, 6, -1)]
    assert len(services.dashboard.summary().recent) == 8


def test_other_townships_rows_are_not_counted(services: Services) -> None:
    services.register("villages").save({"name": "青山村", "population": "10"})
    with services.db.session() as session:
        other = Township(name="外镇", partition="twp:other")
        session.add(other)
        session.flush()
        session.add(Village(township_id=other.id, partition=f"twp:{other.id}", name="外村", population=99))
        session.add(Enterprise(township_id=other.id, partition=f"twp:{other.id}", name="外厂"))
    summary = services.dashboard.summary()
    assert (summary.villages, summary.population, summary.enterprises) == (1, 10, 0)
    assert summary.enterprises_by_sector == []
    with services.db.session() as session:
        assert len(session.scalars(select(Village)).all()) == 2
