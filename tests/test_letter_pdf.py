"""安全生产目标责任书 PDFs, checked as a reader sees them with poppler (pdffonts, pdftotext, pdfinfo)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from app.documents.letter_pdf import (
    letter_file_name,
    write_letter,
    write_letter_copies_separately,
    write_letters,
)
from app.errors import XiangAnError
from app.models.letter_content import LetterContent, Party, Section, Target

pytestmark = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")

HEADINGS = ("一、控制指标", "二、责任内容", "三、考核与奖惩", "四、其他")


def letter(organisation: str = "青龙镇石门村民委员会", duties: int = 8) -> LetterContent:
    targets = (
        Target("deaths", "<=", Decimal(0), "不发生一次死亡1人及以上的生产安全事故", veto=True),
        Target("major_accidents", "=", Decimal(0), "不发生一次死亡3人及以上、或重伤10人及以上、或直接经济损失300万元及以上的较大事故", veto=True),
        Target("serious_injuries", "<", Decimal(3), "全年生产安全事故重伤人数控制在3人以下"),
        Target("direct_loss_yuan", "<", Decimal(3_000_000), ""),  # worded from metric and threshold
        Target("fires", "=", Decimal(0), "不发生造成人员死亡的森林火灾和居民住宅火灾", veto=True),
        Target("hazards", ">=", Decimal(95), "一般事故隐患整改率达到95%以上"),
    )
    duty_text = ("成立以村党支部书记为组长的安全生产工作领导小组，“一把手”为第一责任人，每月至少召开一次安全生产工作会议，"
                 "每月至少开展两次安全生产专项检查，建立隐患排查治理台账，实行闭环管理")
    return LetterContent(
        title="2026年度安全生产目标责任书",
        year=2026,
        number="青龙安责〔2026〕018号",
        party_a=Party("青龙镇人民政府", "周建华", "镇长"),
        party_b=Party(organisation, "李秀英", "村党支部书记、村委会主任"),
        preamble="为认真贯彻落实《中华人民共和国安全生产法》，坚持“党政同责、一岗双责、齐抓共管、失职追责”，"
                 "有效防范和遏制各类生产安全事故，经甲乙双方协商，签订本责任书。",
        period="2026年1月1日至2026年12月31日",
        targets=targets,
        sections=(
            Section(HEADINGS[0], ()),
            Section(HEADINGS[1], tuple(f"{duty_text}（第{i}项）。" for i in range(1, duties + 1))),
            Section(HEADINGS[2], ("甲方于年底对乙方目标责任完成情况进行考核。",
                                  "发生一次死亡1人及以上生产安全事故的，实行一票否决。")),
            Section(HEADINGS[3], ("本责任书未尽事宜，由甲乙双方协商解决。",)),
        ),
        closing="本责任书一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。",
        counterparty_kind="village",
    )


def poppler(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def text_of(pdf: Path) -> str:
    return "".join(poppler("pdftotext", "-layout", str(pdf), "-").split())


def pages(pdf: Path) -> int:
    return int(next(line.split()[-1] for line in poppler("pdfinfo", str(pdf)).splitlines() if line.startswith("Pages:")))


def assert_fonts_embedded(pdf: Path) -> None:
    rows = poppler("pdffonts", str(pdf)).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        assert "Type 3" not in row, row
        assert row.split()[-5] == "yes", f"font not embedded: {row}"


def test_letter_is_a4_embedded_and_complete(tmp_path: Path) -> None:
    pdf = write_letter(letter(), tmp_path / "letter.pdf", copies=1)
    assert_fonts_embedded(pdf)
    assert "595.276 x 841.89" in poppler("pdfinfo", str(pdf))
    text = text_of(pdf)
    for needle in ("青龙镇石门村民委员会", "2026", "青龙安责〔2026〕018号", "责任期限", *HEADINGS,
                   "李秀英", "周建华", "甲方（盖章）", "乙方（盖章）", "负责人（签字）", "【一票否决】",
                   "全年事故直接经济损失低于300万元", "第1页共"):
        assert needle in text, needle
    assert "甲方存" not in text and "乙方存" not in text


def test_two_copies_in_one_file_each_numbered_on_its_own(tmp_path: Path) -> None:
    pdf = write_letter(letter(), tmp_path / "letter.pdf")
    single = write_letter(letter(), tmp_path / "single.pdf", copies=1)
    count = pages(pdf)
    assert count % 2 == 0 and count == 2 * pages(single)
    text = text_of(pdf)
    assert text.index("（甲方存）") < text.index("（乙方存）")
    per_copy = count // 2
    assert text.count(f"第1页共{per_copy}页") == 2
    first_copy = "".join(poppler("pdftotext", "-l", str(per_copy), str(pdf), "-").split())
    assert "甲方存" in first_copy and "乙方存" not in first_copy
    assert_fonts_embedded(pdf)


def test_copies_as_two_files(tmp_path: Path) -> None:
    paths = write_letter_copies_separately(letter(), tmp_path)
    assert [p.name for p in paths] == ["2026-青龙镇石门村民委员会-甲方存.pdf", "2026-青龙镇石门村民委员会-乙方存.pdf"]
    assert "（甲方存）" in text_of(paths[0]) and "（乙方存）" in text_of(paths[1])
    assert "乙方存" not in text_of(paths[0])


def test_long_duty_list_spans_pages(tmp_path: Path) -> None:
    pdf = write_letter(letter(duties=60), tmp_path / "long.pdf", copies=1)
    assert pages(pdf) >= 4
    text = text_of(pdf)
    assert "（第60项）" in text and "乙方（盖章）" in text
    assert_fonts_embedded(pdf)


def test_file_names_are_windows_safe() -> None:
    assert letter_file_name(letter()) == "2026-青龙镇石门村民委员会.pdf"
    name = letter_file_name(letter('青山/石材:加工厂*"有限"<公司>|?. '))
    assert name == "2026-青山_石材_加工厂__有限__公司___.pdf"
    assert not set('<>:"/\\|?*') & set(name)


def test_batch_names_progress_and_cancel(tmp_path: Path) -> None:
    contents = [letter(f"青龙镇第{i}村民委员会") for i in range(5)] + [letter("青龙镇第0村民委员会")]
    seen: list[tuple[int, int]] = []
    paths = write_letters(contents, tmp_path, copies=1, progress=lambda d, t: seen.append((d, t)))
    assert len(paths) == 6 and len({p.name for p in paths}) == 6
    assert paths[-1].name == "2026-青龙镇第0村民委员会（2）.pdf"
    assert seen[-1] == (6, 6)

    out = tmp_path / "cancelled"
    out.mkdir()
    done: list[int] = []
    paths = write_letters(contents, out, progress=lambda d, t: done.append(d), cancelled=lambda: len(done) >= 2)
    assert len(paths) == 2 and sorted(out.glob("*.pdf")) == sorted(paths)


def test_missing_folder_is_a_chinese_message(tmp_path: Path) -> None:
    with pytest.raises(XiangAnError, match="不存在"):
        write_letter(letter(), tmp_path / "没有这个文件夹" / "x.pdf")
    with pytest.raises(XiangAnError, match="不存在"):
        write_letters([letter()], tmp_path / "没有")


def test_bad_copy_count_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_letters([letter()], tmp_path, copies=0)
    assert not list(tmp_path.iterdir())


def test_targets_go_to_the_first_empty_section_naming_indicators(tmp_path: Path) -> None:
    content = replace(letter(), sections=(Section("一、总则", ()), *letter().sections))
    text = text_of(write_letter(content, tmp_path / "x.pdf", copies=1))
    assert text.count("全年生产安全事故重伤人数控制在3人以下") == 1
    assert text.index("一、控制指标") < text.index("全年生产安全事故重伤人数") < text.index("二、责任内容")


def test_an_edited_letter_prints_its_targets_with_veto_marks(tmp_path: Path) -> None:
    """As the letter service writes it: the 控制指标 section's clauses are the targets' wording (here
    after an edit: a new threshold and a new 一票否决 flag); it prints once, with the marks."""
    targets = (Target("deaths", "<=", Decimal(0), "不发生一次死亡1人及以上的生产安全事故。", veto=True),
               Target("direct_loss_yuan", "<", Decimal(500_000), "全年事故直接经济损失低于50万元。", veto=True),
               Target("accidents", "=", Decimal(0), "全年事故为0起。"))
    base = letter()
    content = replace(base, targets=targets,
                      sections=(Section(HEADINGS[0], tuple(t.text for t in targets)), *base.sections[1:]))
    text = text_of(write_letter(content, tmp_path / "edited.pdf", copies=1))
    assert text.count("全年事故直接经济损失低于50万元。【一票否决】") == 1
    assert text.count("【一票否决】") == 3 and text.count("全年事故为0起。") == 1  # two marks and the note
    assert "注：标注「【一票否决】」的指标未完成的" in text
    assert text.index("一、控制指标") < text.index("全年事故为0起") < text.index("二、责任内容")
