"""The demo township generator: reproducible, valid by the registers' own rules, and quick."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import PermissionDenied, XiangAnError
from app.models import AuditEntry, Contact, Enterprise, Role, Township, TownshipUnit, Village
from app.models.organisation import CONTACT_ROLES
from app.models.validation import normalize_credit_code, normalize_division_code, normalize_phone
from app.services import Services
from app.services.context import Actor
from app.services.demo import MAX_SCALE, DemoResult, generate_demo
from app.storage import Database, open_database

ADMIN = Actor(username="admin", display_name="管理员", role=Role.ADMIN)
CLERK = Actor(username="clerk", display_name="录入员", role=Role.CLERK)
MODELS = (Township, Village, Enterprise, TownshipUnit, Contact)


def _fresh(tmp_path: Path, name: str) -> Database:
    folder = tmp_path / name
    folder.mkdir()
    return open_database(folder)


def _rows(db: Database, model: type) -> list[Any]:
    with db.session() as session:
        return list(session.scalars(select(model)))


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a seed decides (ids and timestamps excluded), in an order that ignores insertion order."""
    return {
        "township": sorted((t.name, t.code, t.county_code, t.office_phone, t.leader_name, t.leader_phone)
                           for t in _rows(db, Township)),
        "villages": sorted((v.name, v.code, v.population, v.head_name, v.head_phone) for v in _rows(db, Village)),
        "enterprises": sorted((e.name, e.credit_code, e.sector_code, e.phone, e.legal_rep)
                              for e in _rows(db, Enterprise)),
        "units": sorted((u.name, u.head_name, u.phone) for u in _rows(db, TownshipUnit)),
        "contacts": sorted((c.name, c.position, c.mobile, c.office_phone, tuple(c.roles))
                           for c in _rows(db, Contact)),
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, DemoResult]:
    """One scale-1 township shared by the read-only checks (generation is cheap, but migration is not)."""
    db = open_database(tmp_path_factory.mktemp("demo"))
    result = generate_demo(db, seed=2026)
    yield db, result
    db.dispose()


def test_same_seed_gives_the_same_township_and_another_seed_does_not(tmp_path: Path) -> None:
    dbs = [_fresh(tmp_path, name) for name in ("a", "b", "c")]
    try:
        generate_demo(dbs[0], seed=7)
        generate_demo(dbs[1], seed=7)
        generate_demo(dbs[2], seed=8)
        first, again, other = (_snapshot(db) for db in dbs)
        assert first == again
        assert first["enterprises"] != other["enterprises"]
        assert first["contacts"] != other["contacts"]
    finally:
        for db in dbs:
            db.dispose()


def test_scale_one_counts(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    villages = _rows(db, Village)
    communities = [v for v in villages if v.kind == "社区"]
    assert result.counts["township"] == 1
    assert len(villages) == result.counts["village"] == 12
    assert 2 <= len(communities) <= 3
    assert 65 <= len(_rows(db, Enterprise)) == result.counts["enterprise"] <= 100
    assert len(_rows(db, TownshipUnit)) == result.counts["township_unit"] == 14
    assert len(_rows(db, Contact)) == result.counts["contact"]
    assert result.township_name in result.summary


def test_scale_three_counts(db: Database) -> None:
    result = generate_demo(db, seed=11, scale=3)
    villages = _rows(db, Village)
    assert len(villages) == 36
    assert 6 <= sum(v.kind == "社区" for v in villages) <= 9
    assert 3 * 65 <= result.counts["enterprise"] <= 3 * 100
    assert result.counts["township_unit"] == 14
    assert len({v.name for v in villages}) == 36


def test_township_is_plausible(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    (township,) = _rows(db, Township)
    assert township.name == result.township_name and township.name.endswith("镇")
    assert normalize_division_code(township.code, (9,)) == township.code
    assert normalize_division_code(township.county_code, (6,)) == township.county_code
    assert township.code.startswith(township.county_code)
    assert township.office_name == f"{township.name}应急管理办公室"
    assert "-" in township.office_phone  # the duty line is a landline with area code
    assert township.leader_name and township.leader_phone
    assert Services(db, ADMIN).township.profile()["name"] == township.name


def test_villages_have_unique_names_and_codes_under_the_township(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    (township,) = _rows(db, Township)
    villages = _rows(db, Village)
    assert len({v.name for v in villages}) == len(villages)
    assert len({v.code for v in villages}) == len(villages)
    for v in villages:
        assert len(v.code) == 12 and v.code.startswith(township.code)
        assert 800 <= v.population <= 4500
        assert abs(v.households - v.population / 3.2) <= v.population / 3.2 * 0.1
        assert 2 <= v.grid_count <= 8
        assert v.name.endswith("社区" if v.kind == "社区" else "村")


def test_credit_codes_are_valid_and_unique(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    (township,) = _rows(db, Township)
    codes = [e.credit_code for e in _rows(db, Enterprise)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert normalize_credit_code(code) == code
        assert code[:2] in {"91", "92", "93", "52", "12"}
        assert code[2:8] == township.county_code
    names = [e.name for e in _rows(db, Enterprise)]
    assert len(set(names)) == len(names)


def test_every_phone_is_already_normalised_and_mobiles_are_unique(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    (township,) = _rows(db, Township)
    contacts = _rows(db, Contact)
    phones = [township.office_phone, township.leader_phone]
    phones += [v.head_phone for v in _rows(db, Village)]
    phones += [e.phone for e in _rows(db, Enterprise)]
    phones += [u.phone for u in _rows(db, TownshipUnit)]
    phones += [c.mobile for c in contacts] + [c.office_phone for c in contacts if c.office_phone]
    assert all(phone and normalize_phone(phone) == phone for phone in phones)
    mobiles = [c.mobile for c in contacts]
    assert len(set(mobiles)) == len(mobiles)
    assert any(c.office_phone for c in contacts)


def test_contacts_cover_every_organisation_and_resolve(demo: tuple[Database, DemoResult]) -> None:
    db, _result = demo
    ids = {
        "village": {v.id for v in _rows(db, Village)},
        "unit": {u.id for u in _rows(db, TownshipUnit)},
        "enterprise": {e.id for e in _rows(db, Enterprise)},
    }
    contacts = _rows(db, Contact)
    for c in contacts:
        assert c.roles and set(c.roles) <= set(CONTACT_ROLES)
        if c.org_kind == "township":
            assert c.org_id is None
        else:
            assert c.org_id in ids[c.org_kind]
    per_village: dict[str, int] = {}
    for c in contacts:
        if c.org_kind == "village":
            per_village[c.org_id] = per_village.get(c.org_id, 0) + 1
    assert set(per_village) == ids["village"] and all(3 <= n <= 6 for n in per_village.values())
    assert {c.org_id for c in contacts if c.org_kind == "enterprise"} == ids["enterprise"]
    township_roles = {r for c in contacts if c.org_kind == "township" for r in c.roles}
    assert {"主要负责人", "分管负责人", "值班员"} <= township_roles
    # The register shows each contact's organisation by name; a blank would mean it did not resolve.
    shown = Services(db, ADMIN).register("contacts").rows()
    assert len(shown) == len(contacts) and all(row["organisation"] for row in shown)


def test_sync_columns_are_stamped_like_any_other_write(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    partition = f"twp:{result.township_id}"
    for model in MODELS:
        for row in _rows(db, model):
            assert row.version == 1 and row.partition == partition and not row.deleted
            assert row.version_replica == db.replica_id and row.hlc
            assert getattr(row, "township_id", result.township_id) == result.township_id


def test_one_audit_event_instead_of_one_per_row(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    entries = _rows(db, AuditEntry)
    assert len(entries) == 1
    assert entries[0].action == "system" and result.township_name in entries[0].summary


def test_rows_pass_the_registers_own_validation(db: Database) -> None:
    generate_demo(db, seed=3)
    services = Services(db, ADMIN)
    for kind, model in (("villages", Village), ("enterprises", Enterprise), ("units", TownshipUnit),
                        ("contacts", Contact)):
        register = services.register(kind)
        sample = register.query_ids()[::7]
        for record_id in sample:
            register.save(register.get(record_id), record_id=record_id)
        # Re-saving changed nothing (version still 1): the generated values were already canonical.
        with db.session() as session:
            assert all(session.get(model, i).version == 1 for i in sample)


def test_refuses_a_database_that_already_has_a_township(services: Services) -> None:
    with pytest.raises(XiangAnError, match="数据库中已有乡镇「青山镇」，演示数据只能在空数据库中生成"):
        generate_demo(services.db)
    assert services.register("villages").count() == 0


def test_refuses_a_second_run(demo: tuple[Database, DemoResult]) -> None:
    db, result = demo
    with pytest.raises(XiangAnError, match=f"已有乡镇「{result.township_name}」"):
        generate_demo(db)


def test_bad_scale_and_non_admin_are_refused(db: Database) -> None:
    for scale in (0, MAX_SCALE + 1, True):
        with pytest.raises(XiangAnError, match="演示数据规模"):
            generate_demo(db, scale=scale)
    with pytest.raises(PermissionDenied):
        generate_demo(db, actor=CLERK)
    assert _rows(db, Township) == []


def test_progress_reaches_the_total(db: Database) -> None:
    calls: list[tuple[int, int, str]] = []
    result = generate_demo(db, seed=5, scale=2, progress=lambda done, total, label: calls.append((done, total, label)))
    total = sum(result.counts.values())
    assert calls and calls[-1][:2] == (total, total)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.slow
def test_scale_ten_is_quick(db: Database) -> None:
    result = generate_demo(db, seed=1, scale=10)
    assert result.counts["village"] == 120 and result.seconds < 15
    assert len({e.credit_code for e in _rows(db, Enterprise)}) == result.counts["enterprise"]


def test_villages_stay_unique_when_the_name_pool_runs_out(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import app.services.demo as demo_module

    monkeypatch.setattr(demo_module, "_CURATED_PLACES", ("石桥", "枫树坪"))
    monkeypatch.setattr(demo_module, "_GENERATED_PLACES", ("陈家湾",))
    monkeypatch.setattr(demo_module, "_COMMUNITY_STEMS", ("城东",))
    generate_demo(db, seed=9, scale=2)
    names = [v.name for v in _rows(db, Village)]
    assert len(names) == 24 and len(set(names)) == 24
    assert {"石桥村", "石桥一村", "石桥二村"} <= set(names)
    services = Services(db, ADMIN)
    assert all(row["organisation"] for row in services.register("contacts").rows())
