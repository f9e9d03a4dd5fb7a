"""村（社区）基本情况表 (PDF): fonts embedded, Chinese text extractable, A4, header and page numbers on every page.

Checked with poppler's pdffonts / pdftotext / pdfinfo (installed by ``make test``), i.e. as a reader sees it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.documents.roster_pdf import RosterHeader, VillageLine, render_village_roster, write_village_roster
from app.errors import XiangAnError
from app.models.audit import AuditEntry
from app.services.reports import ReportService
from tests.conftest import pdf_fonts, poppler

ROOT = Path(__file__).resolve().parent.parent
HEADER = RosterHeader(township="青山镇", county="安远县", office="青山镇应急管理办公室", office_phone="0797-3721001")


def assert_fonts_embedded(pdf: Path) -> None:
    fonts = pdf_fonts(pdf)
    assert fonts, "the PDF uses no font at all"
    assert all(f["emb"] == "yes" for f in fonts), fonts
    assert any("WenQuanYiMicroHei" in f["name"] for f in fonts), fonts


def page_count(pdfinfo: str) -> int:
    return int(next(line.split()[-1] for line in pdfinfo.splitlines() if line.startswith("Pages:")))


def squeezed(text: str) -> str:
    return "".join(text.split())  # pdftotext's spacing between words varies


def villages(count: int) -> list[VillageLine]:
    return [
        VillageLine(name=f"第{i}村", kind="行政村", code=f"360726100{i:03d}", population=1000 + i,
                    households=300 + i, grid_count=3, head_name="张三", head_phone=f"13800138{i:03d}")
        for i in range(1, count + 1)
    ]


def test_roster_is_a4_with_embedded_font_and_extractable_chinese(tmp_path):
    pdf = write_village_roster(tmp_path / "roster.pdf", HEADER, villages(3), date(2026, 3, 9))
    assert_fonts_embedded(pdf)
    info = poppler("pdfinfo", pdf)
    assert "(A4)" in info and page_count(info) == 1
    assert "青山镇村（社区）基本情况表" in info  # the document title, for file managers and printers
    text = poppler("pdftotext", "-layout", pdf, "-")
    assert "青山镇村（社区）基本情况表" in text
    for expected in ("安远县", "青山镇应急管理办公室", "2026年3月9日", "第2村", "13800138002", "1,002",
                     "合计", "3,006"):
        assert expected in text, expected
    assert "第1页共1页" in squeezed(text)


def test_long_roster_repeats_the_header_and_numbers_every_page(tmp_path):
    pdf = write_village_roster(tmp_path / "roster.pdf", HEADER, villages(80), date(2026, 3, 9))
    pages = page_count(poppler("pdfinfo", pdf))
    assert pages >= 2
    for page in range(1, pages + 1):
        text = poppler("pdftotext", "-layout", "-f", str(page), "-l", str(page), pdf, "-")
        assert "负责人电话" in text, page
        assert f"第{page}页共{pages}页" in squeezed(text), page
    assert "第80村" in poppler("pdftotext", pdf, "-")
    assert_fonts_embedded(pdf)


def test_unusual_text_is_printed_not_interpreted():
    data = render_village_roster(
        RosterHeader(township="A&B<镇>"),
        [VillageLine(name="<b>东村</b> & 西村", population=None, households=None)],
        date(2026, 1, 1),
    )
    assert data.startswith(b"%PDF")


def test_unknown_numbers_stay_blank_and_totals_count_the_known(tmp_path):
    lines = [VillageLine(name="东村", population=1200), VillageLine(name="西村", population=None)]
    text = poppler("pdftotext", "-layout", write_village_roster(tmp_path / "r.pdf", HEADER, lines), "-")
    total_line = next(line for line in text.splitlines() if "合计" in line)
    assert "1,200" in total_line and "2个" in total_line


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(XiangAnError, match="不存在"):
        write_village_roster(tmp_path / "nowhere" / "r.pdf", HEADER, villages(1))
    assert not list(tmp_path.iterdir())


def test_service_lists_live_villages_in_code_order_and_audits_the_export(services, tmp_path):
    villages_register = services.register("villages")
    villages_register.save({"name": "西村", "code": "360726100202", "population": "800", "head_phone": "13800138000"})
    villages_register.save({"name": "东村", "code": "360726100201", "population": "1200"})
    gone = villages_register.save({"name": "旧村"})
    villages_register.delete(gone)
    villages_register.save({"name": "新社区", "kind": "社区"})  # no code yet: listed last
    count = ReportService(services.db, services.actor, services.scope).village_roster(tmp_path / "r.pdf")
    assert count == 3
    text = poppler("pdftotext", "-layout", tmp_path / "r.pdf", "-")
    assert "青山镇村（社区）基本情况表" in text and "旧村" not in text
    assert text.index("东村") < text.index("西村") < text.index("新社区")
    assert "2,000" in text  # the total of the known populations
    with services.db.session() as session:
        summaries = list(session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "export")))
    assert any("村（社区）基本情况表" in s and "r.pdf" in s for s in summaries)


@pytest.mark.slow
def test_cli_report_roster(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    data = tmp_path / "data"

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", *map(str, args), "--data-dir", data], cwd=ROOT, env=env,
                              capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)

    assert run("demo").returncode == 0
    done = run("report", "roster", "--out", tmp_path / "roster.pdf")
    assert done.returncode == 0, done.stderr
    assert "12个村/社区" in done.stdout
    assert_fonts_embedded(tmp_path / "roster.pdf")
    failed = run("report", "roster", "--out", tmp_path / "no" / "roster.pdf")
    assert failed.returncode == 1 and failed.stderr.startswith("错误：")
