"""隐患排查治理 PDFs (通知书, 复查验收意见书, 台账, 重大隐患月报) from a real hazard walked through HazardService.

Checked as a reader sees them, with poppler's pdffonts / pdftotext / pdfinfo: every font embedded, the
Chinese text extractable, A4 in the right orientation, headers and page numbers on every ledger page.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from app.documents import pdf_base
from app.documents.hazard_pdfs import (
    monthly_summary,
    write_ledger,
    write_monthly_report,
    write_notice,
    write_review,
)
from app.documents.pdf_base import prepare_photo, register_fonts, write_atomic
from app.errors import XiangAnError
from app.models.hazards import HazardAction
from app.services import Services
from app.services.hazards import HazardDetail, HazardService
from tests.conftest import pdf_fonts, poppler

A = HazardAction
TODAY = date(2026, 11, 24)
NOTICE_NUMBER = "青山安监整改〔2026〕17号"
UNIT = "青山石材厂"


# ── poppler ──────────────────────────────────────────────────────────────────────────────────────
def assert_fonts_embedded(pdf: Path, *expected: str) -> None:
    fonts = pdf_fonts(pdf)
    assert fonts, "the PDF uses no font at all"
    assert all(f["emb"] == "yes" for f in fonts), fonts
    assert not any("Type 3" in f["type"] for f in fonts), fonts
    assert not any("Helvetica" in f["name"] or "Times" in f["name"] for f in fonts), fonts
    for name in expected:
        assert any(name in f["name"] for f in fonts), (name, fonts)


def page_info(pdf: Path) -> tuple[int, str]:
    info = poppler("pdfinfo", pdf)
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    size = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Page size:"))
    return pages, size


def text_of(pdf: Path, page: int | None = None) -> str:
    """pdftotext -layout output without whitespace (its spacing between CJK words varies)."""
    pages = ("-f", str(page), "-l", str(page)) if page else ()
    return "".join(poppler("pdftotext", "-layout", *pages, pdf, "-").split())


# ── a real hazard ────────────────────────────────────────────────────────────────────────────────
def make_photo(path: Path, label: str, colour: tuple[int, int, int], size: tuple[int, int] = (3000, 2250),
               orientation: int | None = None) -> Path:
    """A phone-sized JPEG with shapes on it (and an EXIF orientation flag if asked)."""
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((w // 10, h // 10, w // 2, h // 2), fill=(250, 250, 250), outline=(0, 0, 0), width=12)
    draw.ellipse((w // 2, h // 2, w - w // 10, h - h // 10), fill=(30, 30, 30))
    draw.line((0, h - 1, w // 3, 0), fill=(255, 0, 0), width=20)  # marks the bottom-left corner
    draw.text((w // 8, h // 8), label, fill=(0, 0, 0))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


@dataclasses.dataclass
class Scenario:
    hz: HazardService
    hazard_id: str
    township: dict[str, Any]

    def detail(self) -> HazardDetail:
        return self.hz.get(self.hazard_id)


@pytest.fixture
def scenario(services: Services, tmp_path: Path) -> Scenario:
    return build_scenario(services, tmp_path)


def build_scenario(services: Services, folder: Path) -> Scenario:
    """A major hazard with photos, taken from 登记 through 挂牌督办 to 验收通过."""
    services.township.save_profile({
        "name": "青山镇", "county_name": "安远县", "code": "360726100", "office_name": "青山镇应急管理办公室",
        "office_phone": "0797-3721001", "leader_name": "刘军", "address": "青山镇人民路1号",
    })
    services.register("villages").save({"name": "青山村"})
    hz = HazardService(services.db, services.actor, services.scope, today=lambda: TODAY)
    shots = folder / "shots"
    shots.mkdir()
    before = [make_photo(shots / "b1.jpg", "before 1", (200, 80, 60)),
              make_photo(shots / "b2.jpg", "before 2", (190, 120, 40), orientation=6),
              make_photo(shots / "b3.png", "before 3", (160, 60, 90), size=(1200, 900))]
    after = [make_photo(shots / "a1.jpg", "after 1", (60, 160, 90)),
             make_photo(shots / "a2.jpg", "after 2", (50, 120, 170))]
    hazard_id = hz.register({
        "found_on": "2026-11-01", "unit_name": UNIT, "location": "切割车间东侧配电房", "village": "青山村",
        "sector": "消防", "inspectors": "张三、李四",
        "description": "配电箱无漏电保护，电缆敷设于地面且有破损，车间内堆放大量可燃包装材料，疏散通道被占用。",
        "level": "重大", "level_basis": "工贸企业重大事故隐患判定标准第三条",
        "temporary_measures": "停用切割机，设置警戒区，专人值守",
    }, photos=before)
    hz.act(hazard_id, A.ASSIGN, {"notice_number": NOTICE_NUMBER, "notice_issued_on": "2026-11-02"})
    hz.act(hazard_id, A.SUPERVISE, {"supervision_level": "县级", "supervision_doc": "安远安委督〔2026〕3号",
                                     "event_date": "2026-11-05"})
    hz.act(hazard_id, A.START, {
        "measures": "更换带漏电保护的配电箱；电缆穿管架空敷设；清理可燃物，恢复疏散通道。",
        "responsible_unit": UNIT, "responsible_person": "王强", "responsible_phone": "13800138000",
        "funds": "15000", "deadline": "2027-01-30", "emergency_plan": "现场处置方案",
        "temporary_measures": "停用切割机，设置警戒区，专人值守",
    })
    hz.act(hazard_id, A.REQUEST_ACCEPTANCE, {"completed_on": "2026-11-20", "note": "已整改"}, files=after)
    hz.act(hazard_id, A.ACCEPT, {"reviewer": "李明、赵刚", "reviewed_on": "2026-11-22",
                                 "review_opinion": "配电箱已更换，电缆已穿管架空，可燃物已清理，疏散通道畅通，整改到位。"})
    return Scenario(hz, hazard_id, services.township.profile())


def ledger_rows(scenario: Scenario, count: int) -> list[dict[str, Any]]:
    """The real hazard's row plus ``count - 1`` varied copies, as HazardService.fetch_rows gives them."""
    real = scenario.hz.fetch_rows([scenario.hazard_id])[scenario.hazard_id]
    rows = [real]
    for i in range(2, count + 1):
        rows.append({**real, "number": f"2026-{i:04d}", "unit_name": f"第{i}号经营户",
                     "level": "一般" if i % 5 else "重大", "closed_on": "" if i % 3 else "2026-11-15",
                     "status_text": "整改中" if i % 3 else "已销号",
                     "description": "灭火器过期" if i % 2 else "电动自行车在楼道内充电，" * (1 + i % 4)})
    return rows


# ── the documents ────────────────────────────────────────────────────────────────────────────────
def test_fonts_register_once_and_are_the_bundled_faces() -> None:
    assert register_fonts() == ("ARPLUMingCN", "WenQuanYiMicroHei")
    assert register_fonts() is register_fonts()  # cached: the 21 MB collection is parsed once per process
    from reportlab.pdfbase import pdfmetrics

    assert pdfmetrics.getFont("ARPLUMingCN").face.familyName == b"AR PL UMing CN"


def test_notice(scenario: Scenario, tmp_path: Path) -> None:
    pdf = write_notice(scenario.detail(), scenario.township, tmp_path / "notice.pdf")
    assert_fonts_embedded(pdf, "UMingCN", "WenQuanYiMicroHei")
    assert page_info(pdf) == (1, "595.276 x 841.89 pts (A4)")
    text = text_of(pdf)
    for expected in ("隐患整改通知书", "责令限期整改", NOTICE_NUMBER, f"{UNIT}：", "经检查，你单位存在以下事故隐患",
                     "切割车间东侧配电房", "配电箱无漏电保护", "《中华人民共和国安全生产法》第六十五条",
                     "于2027年1月30日前整改完毕", "停用切割机", "更换带漏电保护的配电箱", "青山镇应急管理办公室（盖章）",
                     "2026年11月2日", "签收人（签字）", "一式两份", "第1页共1页"):
        assert expected in text, expected
    assert "判定依据" in text  # a major hazard names the rule it was judged by


def test_notice_without_number_or_optional_fields(scenario: Scenario, tmp_path: Path) -> None:
    detail = scenario.detail()
    values = {**detail.values, "notice_number": "", "measures": "", "temporary_measures": "", "deadline": "",
              "notice_issued_on": "", "level": "一般", "unit_name": "A&B<加油站>"}
    pdf = write_notice(dataclasses.replace(detail, values=values), {"name": "青山镇"}, tmp_path / "n.pdf")
    text = text_of(pdf)
    assert "（未编号）" in text and "A&B<加油站>" in text and "青山镇人民政府（盖章）" in text
    assert "年月日前整改完毕" in text  # blank date to fill in by hand
    assert "临时管控" not in text and "重大事故隐患" not in text


def test_review_with_photos_side_by_side(scenario: Scenario, tmp_path: Path) -> None:
    detail = scenario.detail()
    assert len(detail.photos["before"]) == 3 and len(detail.photos["after"]) == 2
    pdf = write_review(detail, scenario.township, tmp_path / "review.pdf")
    assert_fonts_embedded(pdf, "UMingCN", "WenQuanYiMicroHei")
    pages, size = page_info(pdf)
    assert size == "595.276 x 841.89 pts (A4)" and pages <= 3
    text = text_of(pdf)
    for expected in ("隐患整改复查（验收）意见书", "2026-0001", UNIT, NOTICE_NUMBER, "整改前", "整改后",
                     "2026年11月20日", "李明、赵刚", "整改到位", "■通过，同意销号", "□不通过", "15000元"):
        assert expected in text, expected
    images = poppler("pdfimages", "-list", pdf).splitlines()[2:]
    assert len(images) == 5  # three pairs: 3 before, 2 after; the third "after" is a grey box
    assert all(max(int(line.split()[3]), int(line.split()[4])) <= 1600 for line in images)
    widths = {(int(line.split()[3]), int(line.split()[4])) for line in images}
    assert (1200, 1600) in widths  # EXIF orientation 6 applied: the landscape file prints upright
    assert pdf.stat().st_size < 3_000_000


def test_review_survives_missing_and_corrupt_photos(scenario: Scenario, tmp_path: Path) -> None:
    detail = scenario.detail()
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 50)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(detail.photos["after"][0].path.read_bytes()[:3000])
    photos = {
        "before": [dataclasses.replace(detail.photos["before"][0], path=corrupt),
                   dataclasses.replace(detail.photos["before"][1], path=tmp_path / "gone.jpg")],
        "after": [dataclasses.replace(detail.photos["after"][0], path=truncated)],
    }
    pdf = write_review(dataclasses.replace(detail, photos=photos), scenario.township, tmp_path / "r.pdf")
    assert text_of(pdf).count("照片缺失") == 3
    assert "未附照片" in text_of(pdf)
    assert prepare_photo(corrupt) is None and prepare_photo(tmp_path / "gone.jpg") is None


def test_review_before_anyone_reviewed_leaves_the_verdict_blank(services: Services, tmp_path: Path) -> None:
    hz = HazardService(services.db, services.actor, services.scope, today=lambda: TODAY)
    hazard_id = hz.register({"found_on": "2026-11-01", "unit_name": "东村加油站", "location": "站房",
                             "description": "灭火器过期"})
    pdf = write_review(hz.get(hazard_id), services.township.profile(), tmp_path / "r.pdf")
    text = text_of(pdf)
    assert "□通过，同意销号" in text and "□不通过" in text and "■" not in text
    assert text.count("未附照片") == 2


def test_ledger_spans_pages_with_repeated_header(scenario: Scenario, tmp_path: Path) -> None:
    pdf = write_ledger(ledger_rows(scenario, 120), scenario.township, tmp_path / "ledger.pdf")
    assert_fonts_embedded(pdf, "UMingCN", "WenQuanYiMicroHei")
    pages, size = page_info(pdf)
    assert size == "841.89 x 595.276 pts (A4)" and pages >= 3
    first = text_of(pdf, 1)
    assert "青山镇隐患排查治理台账" in first and "共120项" in first
    for column in ("序号", "编号", "发现日期", "村/社区", "单位/场所", "行业", "隐患描述", "等级", "整改措施",
                   "责任人", "整改时限", "状态", "销号日期"):
        assert column in first, column
    second = text_of(pdf, 2)
    assert "隐患描述" in second and "销号日期" in second and f"第2页共{pages}页" in second
    everything = text_of(pdf)
    assert "2026-0001" in everything and "第120号经营户" in everything and UNIT in everything
    assert "2026-11-01" in everything and "2027-01-30" in everything


def test_very_long_texts_are_clipped_not_a_layout_crash(scenario: Scenario, tmp_path: Path) -> None:
    detail = scenario.detail()
    essay = "车间内堆放大量可燃包装材料，" * 300  # 4,200 characters, pasted from a report
    values = {**detail.values, "description": essay, "measures": essay, "review_opinion": essay}
    long_detail = dataclasses.replace(detail, values=values)
    for writer in (write_notice, write_review):
        assert page_info(writer(long_detail, scenario.township, tmp_path / "x.pdf"))[0] >= 2
    rows = [{**ledger_rows(scenario, 1)[0], "description": essay, "measures": essay, "level": "重大"}] * 3
    assert "…" in text_of(write_ledger(rows, scenario.township, tmp_path / "l.pdf"))
    assert "…" in text_of(write_monthly_report(rows, scenario.township, 2026, 11, tmp_path / "m.pdf"))


def test_empty_ledger_and_custom_title(scenario: Scenario, tmp_path: Path) -> None:
    pdf = write_ledger([], scenario.township, tmp_path / "l.pdf", title="2026年重大事故隐患台账")
    text = text_of(pdf)
    assert "青山镇2026年重大事故隐患台账" in text and "（无隐患记录）" in text and "共0项" in text


def test_monthly_report(scenario: Scenario, tmp_path: Path) -> None:
    rows = ledger_rows(scenario, 12)
    real = rows[0]
    real.update(supervised="是", supervision_level="县级", supervision_doc="安远安委督〔2026〕3号")
    pdf = write_monthly_report(rows, scenario.township, 2026, 11, tmp_path / "monthly.pdf")
    assert_fonts_embedded(pdf, "UMingCN", "WenQuanYiMicroHei")
    assert page_info(pdf)[1] == "841.89 x 595.276 pts (A4)"
    text = text_of(pdf)
    counts = monthly_summary(rows, 2026, 11, today=TODAY)
    assert counts == {"new": 3, "closed": 0, "open": 3, "overdue": 0}  # rows 1, 5 and 10 are major
    for expected in ("青山镇重大事故隐患整改进展月报", "2026年11月", "本月新增3项，销号0项，在改3项，逾期0项",
                     "2026-0001", UNIT, "县级挂牌督办", "安远安委督〔2026〕", "2027-01-30", "15000",
                     "王强", "判定依据", "验收通过", "2026年11月22日复查验收", "第1页共1页"):
        assert expected in text, expected
    assert "第2号经营户" not in text  # 一般 hazards are not in the major-hazard report


def test_monthly_summary_counts_by_month() -> None:
    rows = [
        {"level": "重大", "found_on": "2026-10-03", "closed_on": "2026-11-05", "deadline": "2026-10-30"},
        {"level": "重大", "found_on": "2026-11-02", "closed_on": "", "deadline": "2026-11-10", "status": "整改中"},
        {"level": "重大", "found_on": "2026-09-02", "closed_on": "", "deadline": "2026-12-10", "status": "整改中"},
        {"level": "重大", "found_on": "2026-08-01", "closed_on": "2026-10-01"},  # closed before November
        {"level": "重大", "found_on": "2026-12-01", "closed_on": ""},  # found after November
        {"level": "一般", "found_on": "2026-11-02", "closed_on": ""},
    ]
    assert monthly_summary(rows, 2026, 11, today=date(2026, 12, 15)) == {
        "new": 1, "closed": 1, "open": 2, "overdue": 1}
    assert monthly_summary(rows, 2026, 11, today=date(2026, 11, 8)) == {
        "new": 1, "closed": 1, "open": 2, "overdue": 0}


def test_empty_monthly_report(tmp_path: Path) -> None:
    pdf = write_monthly_report([], {"name": "青山镇"}, 2026, 12, tmp_path / "m.pdf")
    text = text_of(pdf)
    assert "本月无重大事故隐患" in text and "本月新增0项，销号0项，在改0项，逾期0项" in text


# ── saving ───────────────────────────────────────────────────────────────────────────────────────
def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "a.pdf"
    target.write_bytes(b"old")
    write_atomic(target, b"%PDF-new")
    assert target.read_bytes() == b"%PDF-new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]
    with pytest.raises(XiangAnError, match="不存在"):
        write_atomic(tmp_path / "nowhere" / "a.pdf", b"x")


def test_file_open_elsewhere_and_full_disk_are_clear_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "台账.pdf"

    def locked(*_args: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(pdf_base.os, "replace", locked)
    with pytest.raises(XiangAnError, match=re.escape("文件「台账.pdf」正被其他程序打开，请关闭后重试")):
        write_atomic(target, b"x")
    assert list(tmp_path.iterdir()) == []

    def full(*_args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pdf_base.os, "replace", full)
    with pytest.raises(XiangAnError, match="磁盘空间不足"):
        write_atomic(target, b"x")
    assert list(tmp_path.iterdir()) == []


def test_photo_helper_downscales_and_flattens(tmp_path: Path) -> None:
    big = make_photo(tmp_path / "big.jpg", "x", (10, 10, 10), size=(4000, 3000))
    prepared = prepare_photo(big)
    assert prepared is not None and (prepared.width, prepared.height) == (1600, 1200)
    rgba = tmp_path / "t.png"
    Image.new("RGBA", (300, 200), (255, 0, 0, 0)).save(rgba)
    flat = prepare_photo(rgba)
    assert flat is not None
    assert Image.open(io.BytesIO(flat.jpeg)).getpixel((5, 5))[0] > 240  # transparent → white, not black


def test_printing_through_the_service_is_audited(services, tmp_path):
    from sqlalchemy import select

    from app.models import AuditEntry
    from app.services.hazards import HazardService

    hazards = HazardService(services.db, services.actor, services.scope)
    hazard_id = hazards.register({"unit_name": "青山石材厂", "location": "切割车间", "description": "配电箱无漏电保护"})
    number = hazards.get(hazard_id).values["number"]
    notice = hazards.print_notice(hazard_id, tmp_path / "notice.pdf")
    ledger = hazards.print_ledger([hazard_id], tmp_path / "ledger.pdf")
    assert notice.stat().st_size > 0 and ledger.stat().st_size > 0
    with services.db.session() as session:
        summaries = [e.summary for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))]
    assert f"打印隐患整改通知书 {number}" in summaries
    assert "打印隐患台账（1 条）" in summaries
