"""300 安全生产目标责任书 with ``write_letters`` against the same text rendered with bare reportlab.

    python bench/letters.py [--count N] [--runs N] [--copies N] [--out DIR] [--keep]

Builds ``--count`` (default 300) realistic LetterContent objects — villages, enterprises and township
units with Chinese names and responsible persons, 6–10 targets or duties per section — then, in the
same run and alternating so both see the same machine state, measures:

* app  — ``write_letters(contents, folder, copies)``: the official layout (pdf_base helpers, copy marks,
  per-copy page numbering, signature blocks) written atomically (fsync + rename), one file each;
* bare — the same paragraphs and a plain table for the parties and signatures, with reportlab's
  platypus only (SimpleDocTemplate, Paragraph, Table, PageBreak) and the same registered fonts, each
  written with a plain ``open().write()``; no page numbers, no pdf_base.

Medians of ``--runs`` (default 3) are printed with the ratio. Targets: app ≤10 s for 300, ≤1.5× bare.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.models.letter_content import LetterContent, Party, Section, Target  # noqa: E402

TARGET_SECONDS = 10.0
MAX_RATIO = 1.5

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "建国志强秀英桂兰海波明华丽娟国平永红德兵春梅红霞晓东文军玉兰宏伟立新卫东小平学军凤英金花淑珍"
VILLAGE_STEMS = ("青山", "石门", "柳林", "大坪", "杨家湾", "桃源", "枫树坪", "龙潭", "新华", "河口", "高桥", "松林",
                 "双河", "白岩", "黄土坡", "清水", "马家庄", "李家沟", "团结", "红星", "东风", "长岭", "梨树湾", "三合")
ENTERPRISE_KINDS = ("建材有限公司", "矿业有限责任公司", "竹木制品厂", "砖瓦厂", "农业开发有限公司", "加油站",
                    "烟花爆竹经营部", "物流有限公司", "食品加工厂", "水泥制品有限公司", "石材加工厂", "酒业有限公司")
UNITS = ("派出所", "中心学校", "卫生院", "财政所", "农业农村综合服务中心", "自然资源所", "市场监督管理所",
         "供电所", "水利站", "综合执法大队", "林业工作站", "交管站", "社会事务办", "经济发展办")

TARGET_POOL = (
    ("deaths", "<=", "0", "不发生一次死亡1人及以上的生产安全事故", True),
    ("major_accidents", "=", "0", "不发生一次死亡3人及以上、或重伤10人及以上、或直接经济损失300万元及以上的较大生产安全事故", True),
    ("serious_injuries", "<", "3", "全年生产安全事故重伤人数控制在3人以下", False),
    ("direct_loss_yuan", "<", "3000000", "生产安全事故直接经济损失控制在300万元以下", False),
    ("fires", "=", "0", "不发生造成人员死亡的森林火灾和居民住宅火灾", True),
    ("road_deaths", "=", "0", "不发生一次死亡3人及以上的道路交通事故，农村面包车、拖拉机违法载人得到有效遏制", False),
    ("hazard_rectified", ">=", "95", "一般事故隐患整改率达到95%以上，重大事故隐患按期整改销号率达到100%", False),
    ("drowning", "=", "0", "不发生中小学生溺水死亡事故", False),
    ("gas", "=", "0", "不发生燃气、液化气使用环节造成人员伤亡的事故", False),
    ("self_built", "=", "0", "不发生农村自建房、经营性自建房垮塌造成人员伤亡的事故", False),
    ("occupational", "=", "0", "不发生新增职业病病例，作业场所职业危害因素检测合格率达到90%以上", False),
)
DUTY_POOL = (
    "成立以主要负责人为组长的安全生产工作领导小组，明确分管负责人和专（兼）职安全管理人员，"
    "“一把手”为本单位安全生产第一责任人，对本单位安全生产工作全面负责。",
    "认真贯彻落实《中华人民共和国安全生产法》等法律法规和上级安全生产工作部署，将安全生产工作纳入本单位年度工作计划，"
    "与其他工作同研究、同部署、同检查、同考核。",
    "每月至少召开一次安全生产工作会议，分析研判本辖区（单位）安全生产形势，研究解决存在的突出问题，并形成会议记录。",
    "每月至少开展两次安全生产专项检查，重点检查道路交通、消防、建筑施工、危险化学品、烟花爆竹、人员密集场所等领域，"
    "建立检查台账。",
    "建立健全事故隐患排查治理制度，对排查出的隐患落实整改责任、措施、资金、时限和预案，实行闭环管理，做到隐患整改销号。",
    "制定完善本辖区（单位）生产安全事故应急预案和防汛、森林防火、地质灾害等专项预案，每年至少组织开展一次应急演练。",
    "加强安全生产宣传教育培训，组织开展“安全生产月”“119消防宣传月”等活动，提高群众安全意识和自救互救能力。",
    "落实村（社区）安全生产网格化管理，明确网格员职责，及时发现、报告和劝阻各类安全生产违法违规行为。",
    "加强汛期、节假日和重大活动期间的值班值守，严格执行领导带班和24小时值班制度，确保信息畅通。",
    "发生生产安全事故后，立即组织抢救，保护事故现场，并按规定在1小时内向镇人民政府报告，不得迟报、漏报、谎报、瞒报。",
    "督促辖区内生产经营单位落实安全生产主体责任，配合镇安全生产监管部门开展执法检查和专项整治。",
    "加强农村自建房、危旧房屋、在建工程的安全排查，对存在安全隐患的房屋及时采取避险措施。",
)
ASSESS_POOL = (
    "甲方于年底对乙方安全生产目标责任完成情况进行考核，考核结果纳入乙方年度综合目标考核。",
    "考核采取听取汇报、查阅资料、实地检查和群众测评相结合的方式进行，满分100分，80分以上为合格。",
    "全面完成目标任务、考核优秀的，由甲方予以通报表扬，并在评先评优中优先考虑。",
    "发生一次死亡1人及以上生产安全事故的，年度安全生产考核实行一票否决，取消当年评先评优资格。",
    "对迟报、漏报、谎报、瞒报生产安全事故的，实行一票否决，并依法依规追究相关人员责任。",
    "对安全生产工作不力、隐患整改不到位的，由甲方进行约谈，责令限期整改，并在全镇范围内通报批评。",
    "乙方主要负责人、分管负责人调整的，由接任人员继续履行本责任书，不另行签订。",
    "考核结果作为乙方负责人年度述职评议和干部选拔任用的重要依据。",
    "因不可抗力造成的自然灾害事故，经调查认定不属于责任事故的，不纳入本责任书考核。",
    "乙方应于每年12月10日前向甲方报送本年度安全生产工作总结和目标责任完成情况自查报告。",
)
NUMERALS = "一二三四五六七八九十"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))


def make_contents(count: int = 300, year: int = 2026, seed: int = 2026) -> list[LetterContent]:
    """``count`` letters a township signs in a year: villages, enterprises and township units."""
    rng = random.Random(seed)
    township = "青龙镇"
    party_a = Party(f"{township}人民政府", "周建华", "镇长")
    letters = []
    for i in range(count):
        kind = ("village", "enterprise", "unit")[i % 3]
        stem = VILLAGE_STEMS[i % len(VILLAGE_STEMS)]
        if kind == "village":
            organisation = f"{township}{stem}村民委员会" if i % 2 else f"{township}{stem}社区居民委员会"
            title = rng.choice(("村党支部书记、村委会主任", "村委会主任", "社区党委书记"))
        elif kind == "enterprise":
            organisation = f"{stem}{rng.choice(ENTERPRISE_KINDS)}"
            title = rng.choice(("法定代表人", "总经理", "厂长"))
        else:
            organisation = f"{township}{UNITS[i % len(UNITS)]}"
            title = rng.choice(("所长", "校长", "院长", "主任", "站长"))
        organisation += f"（第{i // 24 + 1}片区）" if i >= 24 else ""
        targets = tuple(
            Target(metric, comparator, Decimal(threshold), text, veto)
            for metric, comparator, threshold, text, veto in rng.sample(TARGET_POOL, rng.randint(6, 10))
        )
        duties = tuple(rng.sample(DUTY_POOL, rng.randint(6, 10)))
        assess = tuple(rng.sample(ASSESS_POOL, rng.randint(6, 10)))
        sections = (Section("一、控制指标", ()), Section("二、责任内容", duties), Section("三、考核与奖惩", assess),
                    Section("四、其他", ("本责任书未尽事宜，由甲乙双方协商解决。",
                                        "本责任书执行中如遇上级政策调整，按上级规定执行。")))
        letters.append(LetterContent(
            title=f"{year}年度安全生产目标责任书",
            year=year,
            number=f"青龙安责〔{year}〕{i + 1:03d}号",
            party_a=party_a,
            party_b=Party(organisation, _person(rng), title),
            preamble=("为认真贯彻落实《中华人民共和国安全生产法》《地方党政领导干部安全生产责任制规定》和县委、县政府关于"
                      "安全生产工作的决策部署，坚持“党政同责、一岗双责、齐抓共管、失职追责”和“管行业必须管安全、"
                      "管业务必须管安全、管生产经营必须管安全”的要求，进一步落实安全生产责任，有效防范和遏制各类生产"
                      "安全事故，确保全镇安全生产形势持续稳定，经甲乙双方协商，签订本责任书。"),
            period=f"{year}年1月1日至{year}年12月31日",
            targets=targets,
            sections=sections,
            closing="本责任书一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。",
            counterparty_kind=kind,
        ))
    return letters


# -- bare reportlab ----------------------------------------------------------------------------------
def bare_render(contents: list[LetterContent], folder: Path, copies: int) -> list[Path]:
    """The same text with platypus only: paragraphs, a plain party table and a plain signature table."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    from app.documents.letter_pdf import letter_file_name, target_text
    from app.documents.pdf_base import register_fonts

    body, heading = register_fonts()
    title = ParagraphStyle("t", fontName=heading, fontSize=22, leading=32, alignment=1, wordWrap="CJK")
    centre = ParagraphStyle("c", fontName=body, fontSize=12, leading=18, alignment=1, wordWrap="CJK")
    text = ParagraphStyle("b", fontName=body, fontSize=13, leading=22, firstLineIndent=26, wordWrap="CJK")
    head = ParagraphStyle("h", fontName=heading, fontSize=14, leading=21, wordWrap="CJK")
    clause = ParagraphStyle("k", fontName=body, fontSize=13, leading=22, leftIndent=48, firstLineIndent=-22,
                            wordWrap="CJK")
    paths = []
    for content in contents:
        story = []
        for copy in range(copies):
            if copy:
                story.append(PageBreak())
            story += [Paragraph(content.title, title), Paragraph(("（甲方存）", "（乙方存）")[copy % 2], centre),
                      Paragraph(f"编号：{content.number}", centre), Spacer(1, 5 * mm)]
            story.append(Table([[Paragraph(f"甲方：{content.party_a.organisation}", text),
                                 Paragraph(f"负责人：{content.party_a.person}（{content.party_a.title}）", text)],
                                [Paragraph(f"乙方：{content.party_b.organisation}", text),
                                 Paragraph(f"负责人：{content.party_b.person}（{content.party_b.title}）", text)]]))
            story += [Paragraph(content.preamble, text), Paragraph(f"责任期限：{content.period}", text)]
            for section in content.sections:
                story.append(Paragraph(section.heading, head))
                lines = section.clauses or tuple(target_text(t) for t in content.targets)
                story += [Paragraph(f"{n}. {line}", clause) for n, line in enumerate(lines, start=1)]
            story.append(Paragraph(content.closing, text))
            sign = [[f"{side}（盖章）：" for side in ("甲方", "乙方")],
                    [content.party_a.organisation, content.party_b.organisation], ["", ""],
                    ["负责人（签字）："] * 2, ["", ""], ["日期：    年  月  日"] * 2]
            story.append(Table([[Paragraph(c, text) if c else Spacer(1, 13 * mm) for c in row] for row in sign]))
        buffer = io.BytesIO()
        SimpleDocTemplate(buffer, pagesize=A4, leftMargin=26 * mm, rightMargin=24 * mm, topMargin=24 * mm,
                          bottomMargin=22 * mm, initialFontName=body).build(story)
        path = folder / letter_file_name(content)
        with open(path, "wb") as fh:
            fh.write(buffer.getvalue())
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--out", type=Path, help="where to write (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    args = parser.parse_args()

    from app.documents.letter_pdf import write_letters
    from app.documents.pdf_base import register_fonts

    started = time.perf_counter()
    register_fonts()
    print(f"fonts registered in {time.perf_counter() - started:.2f} s (once per process, not measured below)")
    contents = make_contents(args.count)
    base = args.out or Path(tempfile.mkdtemp(prefix="xiangan-letters-"))
    app_times, bare_times = [], []
    pages = 0
    try:
        for run in range(args.runs):
            for label, times in (("app", app_times), ("bare", bare_times)):
                folder = base / f"{label}-{run}"
                folder.mkdir(parents=True, exist_ok=True)
                t0 = time.perf_counter()
                if label == "app":
                    paths = write_letters(contents, folder, copies=args.copies)
                else:
                    paths = bare_render(contents, folder, args.copies)
                times.append(time.perf_counter() - t0)
                assert len(paths) == len(contents)
                if label == "app" and run == 0:
                    pages = sum(p.read_bytes().count(b"/Type /Page\n") for p in paths)
                print(f"run {run + 1} {label:4}: {times[-1]:6.2f} s")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    app, bare = statistics.median(app_times), statistics.median(bare_times)
    ratio = app / bare
    print(f"\n{len(contents)} letters × {args.copies} copies ({pages} pages), medians of {args.runs} runs:")
    print(f"  write_letters : {app:6.2f} s  ({app / len(contents) * 1000:.1f} ms per letter)  "
          f"target ≤{TARGET_SECONDS:.0f} s {'OK' if app <= TARGET_SECONDS else 'MISSED'}")
    print(f"  bare reportlab: {bare:6.2f} s  ({bare / len(contents) * 1000:.1f} ms per letter)")
    print(f"  ratio         : {ratio:6.2f}×   target ≤{MAX_RATIO}× {'OK' if ratio <= MAX_RATIO else 'MISSED'}")


if __name__ == "__main__":
    main()
