"""The readiness report PDF, the ``xiangan readiness`` commands and the demo township's registers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from app.cli import REGISTER_KINDS
from app.errors import XiangAnError
from app.services import Services
from app.services.demo import generate_demo
from app.services.readiness import ReadinessService
from app.services.readiness_registers import READINESS_KINDS
from app.storage import Database, open_database
from tests.conftest import ADMIN, pdf_fonts, poppler
from tests.test_cli import run

TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = open_database(tmp_path_factory.mktemp("demo"))
    generate_demo(db, seed=7, today=TODAY)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def demo_services(demo_db: Database) -> Services:
    return Services(demo_db, ADMIN)


def service(services: Services) -> ReadinessService:
    return ReadinessService(services.db, services.actor, services.scope, today=lambda: TODAY)


# -- the demo -----------------------------------------------------------------------------------------
def test_demo_township_passes_and_villages_fail_for_clear_reasons(demo_services: Services) -> None:
    summary = service(demo_services).summary()
    assert summary.township.passed
    failed = {v.name: v.gaps for v in summary.villages if not v.passed}
    passed = [v.name for v in summary.villages if v.passed]
    assert len(passed) == 6 and len(failed) == 6
    reasons = sorted(gap.split("：")[0] for gaps in failed.values() for gap in gaps)
    assert reasons == ["应急物资"] * 2 + ["应急预案"] * 2 + ["综合应急队伍 10 人以上"] * 2
    gaps = [gap for gaps in failed.values() for gap in gaps]
    assert "综合应急队伍 10 人以上：当前 7 人" in gaps and "应急物资：3 项已过期" in gaps
    assert any(gap.endswith("防汛防地质灾害应急预案超过修订期") for gap in gaps)


def test_demo_registers_are_deterministic_per_seed(demo_services: Services, tmp_path: Path) -> None:
    other = open_database(tmp_path / "again")
    try:
        generate_demo(other, seed=7, today=TODAY)
        again = service(Services(other, ADMIN)).summary_json()
    finally:
        other.dispose()
    first = service(demo_services).summary_json()

    def strip(document: dict) -> list:
        return [(u["name"], u["score"], u["passed"], [i["gaps"] for i in u["items"]])
                for u in (document["township"], *document["villages"])]

    assert strip(first) == strip(again)
    for kind in READINESS_KINDS:
        assert demo_services.register(kind).count() > 0, kind


def test_demo_at_scale_two(tmp_path: Path) -> None:
    db = open_database(tmp_path / "scaled")
    try:
        result = generate_demo(db, seed=3, scale=2, today=TODAY)
        summary = service(Services(db, ADMIN)).summary()
    finally:
        db.dispose()
    assert len(summary.villages) == 24 and result.counts["team_member"] > 24 * 7
    assert sum(v.passed for v in summary.villages) == 12


# -- the PDF ------------------------------------------------------------------------------------------
def test_report_pdf_lists_every_unit_and_item_with_embedded_fonts(demo_services: Services, tmp_path: Path) -> None:
    steps: list[tuple[int, int, str]] = []
    path = service(demo_services).write_report(tmp_path / "达标报告.pdf",
                                               progress=lambda d, t, name: steps.append((d, t, name)))
    assert all(font["emb"] == "yes" for font in pdf_fonts(path))
    info = poppler("pdfinfo", path)
    assert "595.276 x 841.89 pts (A4)" in info
    text = poppler("pdftotext", "-layout", path, "-").replace(" ", "")
    summary = service(demo_services).summary()
    for unit in summary.units:
        assert unit.name in text
        for item in unit.items:
            assert item.name in text
    assert "达标情况报告" in text and "综合应急队伍10人以上：当前7人" in text and "佐证材料" in text
    assert steps[-1][:2] == (len(summary.units), len(summary.units))


def test_cancelled_report_leaves_no_file(demo_services: Services, tmp_path: Path) -> None:
    path = tmp_path / "报告.pdf"
    with pytest.raises(XiangAnError, match="已取消"):
        service(demo_services).write_report(path, cancel=lambda: True)
    assert not path.exists() and list(tmp_path.iterdir()) == []


# -- the command line ---------------------------------------------------------------------------------
def test_cli_register_kinds_include_every_readiness_register() -> None:
    assert REGISTER_KINDS[4:] == READINESS_KINDS


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli") / "data"
    done = run("demo", "--data-dir", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_cli_summary_json(demo_dir: Path) -> None:
    done = run("readiness", "summary", "--json", "--data-dir", demo_dir)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    township = document["township"]
    assert set(township) >= {"name", "standard", "score", "passed", "items"}
    assert township["standard"] == "乡镇七有标准 2026.1"
    assert [set(i) >= {"name", "passed", "gaps"} for i in township["items"]] == [True] * 7
    assert len(document["villages"]) == 12
    assert all(set(v) >= {"name", "score", "passed", "items"} for v in document["villages"])
    assert any(not v["passed"] for v in document["villages"]) and any(v["passed"] for v in document["villages"])


def test_cli_summary_text_and_bad_date(demo_dir: Path) -> None:
    done = run("readiness", "summary", "--data-dir", demo_dir)
    assert done.returncode == 0 and "达标（" in done.stdout and "村（社区）12个" in done.stdout
    done = run("readiness", "summary", "--date", "2026-13-01", "--data-dir", demo_dir)
    assert done.returncode == 1 and done.stderr.strip() == "错误：评估日期「2026-13-01」无效：「2026-13-01」不是有效日期"


def test_cli_report(demo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    done = run("readiness", "report", "--out", out, "--data-dir", demo_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"已生成七有/五有达标情况报告：{out}"
    assert all(font["emb"] == "yes" for font in pdf_fonts(out))
    done = run("readiness", "report", "--out", tmp_path / "没有的文件夹" / "r.pdf", "--data-dir", demo_dir)
    assert done.returncode == 1 and "不存在" in done.stderr


def test_cli_help_is_chinese_and_export_works(demo_dir: Path, tmp_path: Path) -> None:
    done = run("readiness", "--help")
    assert "七有/五有达标" in done.stdout and "summary" in done.stdout and "report" in done.stdout
    done = run("readiness", "report", "--data-dir", demo_dir)
    assert done.returncode == 2 and "缺少必需的参数：--out" in done.stderr
    done = run("export", "supplies", "--out", tmp_path / "物资.xlsx", "--data-dir", demo_dir)
    assert done.returncode == 0 and done.stdout.startswith("已导出 ")


def test_cli_import_standard(demo_dir: Path, tmp_path: Path) -> None:
    import shutil

    from app.paths import resource

    demo_dir = Path(shutil.copytree(demo_dir, tmp_path / "data"))  # the shared demo keeps the default standard
    data = json.loads(resource("standards", "township_qiyou.json").read_text(encoding="utf-8"))
    data["version"] = "2027.1"
    good = tmp_path / "七有2027.json"
    good.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    done = run("readiness", "import-standard", good, "--data-dir", demo_dir)
    assert done.returncode == 0 and "已导入 2027.1 版达标标准" in done.stdout, done.stderr
    summary = json.loads(run("readiness", "summary", "--json", "--data-dir", demo_dir).stdout)
    assert summary["township"]["standard"] == "乡镇七有标准 2027.1"
    data["items"][0]["criteria"][0]["kind"] = "vote"
    data["version"] = "2027.2"
    bad = tmp_path / "坏.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    done = run("readiness", "import-standard", bad, "--data-dir", demo_dir)
    assert done.returncode == 1
    assert done.stderr.startswith("错误：坏.json：第1项：项目「有应急管理机构」：第1条标准：kind「vote」无效")
