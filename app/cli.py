"""The ``xiangan`` command line: the GUI by default, and sub-commands for headless jobs.

Qt is only imported by the commands that need it, so scripted jobs start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from app import APP_NAME, __version__, build_info
from app.cli_common import ChineseParser as _Parser
from app.cli_common import input_file, run_command
from app.errors import XiangAnError
from app.paths import backups_dir, data_dir, database_path


def _open(args: argparse.Namespace):
    from app.storage import open_database

    return open_database(data_dir(args.data_dir))


def cmd_gui(args: argparse.Namespace) -> int:
    # The data layer goes first: every module imported after PySide6 is inspected by PySide's
    # import hook, which roughly doubles the cost of importing SQLAlchemy.
    import app.services  # noqa: F401
    from app.ui.application import run_gui

    return run_gui(data_dir(args.data_dir), self_test=args.self_test, check_printing=args.check_printing)


def cmd_demo(args: argparse.Namespace) -> int:
    from app.services.demo import generate_demo, generate_hazards
    from app.services.organisation import current_scope

    db = _open(args)
    if not (args.hazards and current_scope(db)):  # --hazards adds to an existing demo township
        result = generate_demo(db, seed=args.seed, scale=args.scale)
        print(result.summary)
    if args.hazards:
        started = time.perf_counter()
        generate_hazards(db, args.hazards, seed=args.seed)
        print(f"已添加 {args.hazards} 条演示隐患（用时 {time.perf_counter() - started:.1f} 秒）。")
    print(f"数据文件夹：{data_dir(args.data_dir)}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from app.storage.backup import backup_to

    db = _open(args)
    target = backup_to(db.path, Path(args.to), "manual")
    print(f"已备份到 {target}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.storage import migrate
    from app.storage.backup import list_backups
    from app.storage.integrity import quick_check

    folder = data_dir(args.data_dir)
    if folder.exists() and not folder.is_dir():
        raise XiangAnError(f"数据文件夹 {folder} 是一个文件，不是文件夹。")
    path = database_path(folder)
    problem = quick_check(path)
    current = None if problem else migrate.current_revision(path)
    head = migrate.head_revision()
    backups = list_backups(backups_dir(folder))
    report = {
        "data_dir": str(folder),
        "database": str(path),
        "exists": path.exists(),
        "integrity": problem or "ok",
        "schema_revision": current,
        "schema_head": head,
        "migration_needed": None if problem else current != head,
        "newest_backup": str(backups[0]) if backups else None,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"数据库：{path}{'' if path.exists() else '（尚未创建）'}")
        print(f"完整性：{'正常' if not problem else '损坏 — ' + problem}")
        if problem:
            print("结构版本：无法读取（数据库损坏，启动时会提示恢复最近的备份）")
        else:
            upgrade = "，启动时将自动升级（升级前自动备份）" if current != head else ""
            print(f"结构版本：{current or '无'}（程序要求 {head}）{upgrade}")
        print(f"最近备份：{report['newest_backup'] or '无'}")
    return 1 if problem else 0


def cmd_screenshots(args: argparse.Namespace) -> int:
    from app.ui.screenshots import render_screenshots

    written = render_screenshots(data_dir(args.data_dir), Path(args.out))
    for path in written:
        print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from app.services import Services
    from app.services.context import SYSTEM_ACTOR
    from app.services.imports import ImportService

    services = Services(_open(args), SYSTEM_ACTOR)
    count = ImportService(services.db, SYSTEM_ACTOR, services.scope).export(args.kind, Path(args.out))
    print(f"已导出 {count} 条到 {args.out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from app.services import Services
    from app.services.context import SYSTEM_ACTOR
    from app.services.imports import ImportService

    path = input_file(args.file)
    services = Services(_open(args), SYSTEM_ACTOR)
    importer = ImportService(services.db, SYSTEM_ACTOR, services.scope)
    source = importer.load(path, args.kind, args.sheet)
    mapping = importer.suggest_mapping(args.kind, source.data.headers)
    result = importer.apply(args.kind, source, mapping)
    print(f"新增 {result.created} 条，更新 {result.updated} 条，无变化 {result.unchanged} 条，"
          f"跳过 {len(result.skipped_rows)} 行")
    for number, message in result.skipped_rows:
        print(f"  第{number}行：{message}")
    return IMPORT_PARTIAL if result.skipped_rows else 0  # as for hazards: 0 only when every row went in


def cmd_report(args: argparse.Namespace) -> int:
    from app.services import Services
    from app.services.context import SYSTEM_ACTOR
    from app.services.reports import ReportService

    services = Services(_open(args), SYSTEM_ACTOR)
    count = ReportService(services.db, SYSTEM_ACTOR, services.scope).village_roster(Path(args.out))
    print(f"已生成村（社区）基本情况表（{count}个村/社区）：{args.out}")
    return 0


# -- 隐患排查治理台账 -----------------------------------------------------------------------------
IMPORT_PARTIAL = 3  # exit code: --skip-invalid imported the valid rows, others were rejected


def _hazard_services(args: argparse.Namespace):
    from app.services import Services
    from app.services.context import SYSTEM_ACTOR

    services = Services(_open(args), SYSTEM_ACTOR)
    return services, services.scope


def _print_rejected(rows: Sequence[tuple[int, str]]) -> None:
    for number, reason in rows:
        print(f"  第{number}行：{reason}")


def cmd_hazards_import(args: argparse.Namespace) -> int:
    from app.services.context import SYSTEM_ACTOR
    from app.services.hazard_excel import (
        NEW,
        SAME,
        UNIT_REMARK,
        UPDATE,
        HazardExcelService,
        ImportRejected,
        describe_errors,
    )

    path = input_file(args.file)
    services, scope = _hazard_services(args)
    excel = HazardExcelService(services.db, SYSTEM_ACTOR, scope)
    source = excel.load(path, args.sheet)
    mapping = excel.suggest_mapping(source.data.headers)
    if args.dry_run:
        rows = excel.preview(source, mapping)
        rejected = [(r.number, describe_errors(r.errors)) for r in rows if r.errors]
        counts = {action: sum(r.action == action for r in rows) for action in (NEW, UPDATE, SAME)}
        print(f"试导入（未写入任何数据）：将新增 {counts[NEW]} 条，更新 {counts[UPDATE]} 条，无变化 {counts[SAME]} 条，"
              f"有错误 {len(rejected)} 行，将新建单位 {sum(r.new_unit for r in rows)} 家")
        _print_rejected(rejected)
        if not rejected:
            return 0
        return IMPORT_PARTIAL if args.skip_invalid else 1
    try:
        result = excel.apply(source, mapping, skip_invalid=args.skip_invalid)
    except ImportRejected as exc:
        _print_rejected(exc.rows)
        raise
    print(f"新增 {result.created} 条，更新 {result.updated} 条，无变化 {result.unchanged} 条，"
          f"跳过 {len(result.skipped_rows)} 行，新建单位 {result.units_created} 家")
    if result.new_units:
        print(f"新建的单位已标注「{UNIT_REMARK}」，请在「组织机构 → 企业」中核对：{'、'.join(result.new_units)}")
    _print_rejected(result.skipped_rows)
    return IMPORT_PARTIAL if result.skipped_rows else 0


def cmd_hazards_export(args: argparse.Namespace) -> int:
    from app.services.context import SYSTEM_ACTOR
    from app.services.hazard_excel import HazardExcelService

    services, scope = _hazard_services(args)
    count = HazardExcelService(services.db, SYSTEM_ACTOR, scope).export(Path(args.file), year=args.year)
    print(f"已导出 {count} 条隐患到 {args.file}")
    return 0


def cmd_hazards_notice(args: argparse.Namespace) -> int:
    from app.services.context import SYSTEM_ACTOR
    from app.services.hazards import HazardService

    services, scope = _hazard_services(args)
    hazards = HazardService(services.db, SYSTEM_ACTOR, scope)
    detail = hazards.get(hazards.find_by_number(args.number))
    from app.documents.hazard_pdfs import write_notice

    write_notice(detail, services.township.profile(), Path(args.out))
    print(f"已生成隐患 {args.number} 的整改通知书：{args.out}")
    return 0


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def cmd_hazards_overdue(args: argparse.Namespace) -> int:
    from datetime import date

    from app.services.context import SYSTEM_ACTOR
    from app.services.hazards import HazardQuery, HazardService

    services, scope = _hazard_services(args)
    hazards = HazardService(services.db, SYSTEM_ACTOR, scope)
    today = hazards.today()
    ids = hazards.query_ids(HazardQuery(overdue=True, sort="deadline", descending=False))
    rows = hazards.fetch_rows(ids)
    items = [{
        "number": r["number"], "unit": r["unit_name"], "village": r["village"], "level": r["level"],
        "deadline": r["deadline"], "days_overdue": (today - date.fromisoformat(r["deadline"])).days,
        "status": r["status"], "responsible_person": r["responsible_person"],
    } for r in (rows[i] for i in ids if i in rows)]
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    if not items:
        print(f"截至{today.isoformat()}，没有逾期未整改的隐患。")
        return 0
    headers = ("编号", "单位/场所", "村（社区）", "等级", "整改时限", "逾期天数", "状态", "责任人")
    keys = ("number", "unit", "village", "level", "deadline", "days_overdue", "status", "responsible_person")
    table = [list(headers), *([str(item[k]) for k in keys] for item in items)]
    widths = [max(_width(row[c]) for row in table) for c in range(len(headers))]
    for row in table:
        print("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"截至{today.isoformat()}，共 {len(items)} 条逾期隐患。")
    return 0


# -- 安全生产目标责任书 and 事故信息 -----------------------------------------------------------------


def _letter_service(args: argparse.Namespace):
    from app.services.context import SYSTEM_ACTOR
    from app.services.letters import LetterService

    services, scope = _hazard_services(args)
    return LetterService(services.db, SYSTEM_ACTOR, scope)


def _check_year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise XiangAnError(f"年度「{year}」无效，应为 2000–2100 之间的年份")
    return year


def _pdf_name(year: int, counterparty: str, taken: set[str]) -> str:
    import re

    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", counterparty).strip("._") or "未命名"
    stem = f"{year}-{safe}"
    name, n = f"{stem}.pdf", 2
    while name in taken:
        name, n = f"{stem}（{n}）.pdf", n + 1
    taken.add(name)
    return name


def cmd_letters_generate(args: argparse.Namespace) -> int:
    year = _check_year(args.year)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise XiangAnError(f"「{out}」是一个文件，请指定输出文件夹")
    letters = _letter_service(args)
    result = letters.generate_year(year)
    print(f"{year}年度：新生成 {result.total_created} 份责任书，已有 {sum(result.existing.values())} 份")
    for problem in result.problems:
        print(f"  {problem}")
    from app.documents.letter_pdf import write_letter

    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    rows = letters.list(year, include_superseded=False)
    for row in rows:
        write_letter(letters.content(row.id), out / _pdf_name(year, row.counterparty_name, taken), copies=args.copies)
    print(f"已生成 {len(rows)} 个 PDF 文件（每份一式{args.copies}份）：{out}")
    return 0


def cmd_letters_status(args: argparse.Namespace) -> int:
    year = _check_year(args.year)
    coverage = _letter_service(args).coverage(year)
    kinds = {kind: {"label": c.label, "total": c.total, "signed": c.signed, "printed": c.printed, "draft": c.draft,
                    "not_generated": c.not_generated} for kind, c in coverage.items()}
    unsigned = [{"kind": kind, **item} for kind, c in coverage.items() for item in c.unsigned]
    if args.json:
        print(json.dumps({"year": year, "kinds": kinds, "unsigned": unsigned}, ensure_ascii=False, indent=2))
        return 0
    for c in kinds.values():
        print(f"{c['label']}：共{c['total']}，已签订{c['signed']}，已打印{c['printed']}，草稿{c['draft']}，"
              f"未生成{c['not_generated']}")
    if unsigned:
        print(f"尚未签订（{len(unsigned)}）：" + "、".join(f"{u['name']}（{u['status']}）" for u in unsigned))
    return 0


def cmd_letters_assess(args: argparse.Namespace) -> int:
    year = _check_year(args.year)
    items = [{
        "number": a.number, "counterparty": a.counterparty_name, "kind": a.counterparty_kind, "status": a.status,
        "result": a.result, "accidents": a.accidents,
        "targets": [{"metric": t.metric, "text": t.text, "comparator": t.comparator, "threshold": str(t.threshold),
                     "value": str(t.value), "met": t.met, "veto": t.veto, "veto_triggered": t.veto_triggered,
                     "accidents": t.accidents} for t in a.targets],
    } for a in _letter_service(args).assess(year)]
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    for item in items:
        failed = [t["text"] for t in item["targets"] if not t["met"]]
        print(f"{item['number']} {item['counterparty']}：{item['result']}" + (f"（{'；'.join(failed)}）" if failed else ""))
    return 0


def cmd_accidents_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from app.services.context import SYSTEM_ACTOR
    from app.services.letters import AccidentService

    services, scope = _hazard_services(args)
    rows = AccidentService(services.db, SYSTEM_ACTOR, scope).list(args.year)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    for r in rows:
        print(f"{r.occurred_at}  {r.unit_name or r.place}  {r.grade}  死亡{r.deaths} 重伤{r.serious_injuries} "
              f"损失{r.direct_loss or 0}元")
    print(f"共 {len(rows)} 起事故。")
    return 0


# -- 同步（U盘） -----------------------------------------------------------------------------------


def _township_sync(args: argparse.Namespace):
    from app.sync.township import TownshipSync

    folder = data_dir(args.data_dir)
    return TownshipSync(_open(args), folder)


def _print_progress(done: int, total: int) -> None:
    if total:
        print(f"\r已处理 {done}/{total}", end="", file=sys.stderr, flush=True)


def cmd_enrol(args: argparse.Namespace) -> int:
    path = input_file(args.file)
    result = _township_sync(args).enrol(path)
    again = "重新登记" if result.reenrolled else "登记"
    print(f"已{again}到「{result.county_name}」：乡镇「{result.township_name}」，本机编号 {result.node_id}，"
          f"本机密钥指纹 {result.fingerprint}。待上报 {result.queued} 条记录，请用「xiangan bundle export」导出到U盘。")
    return 0


def cmd_bundle_export(args: argparse.Namespace) -> int:
    result = _township_sync(args).export_bundle(Path(args.out), progress=_print_progress)
    print(file=sys.stderr)
    print(f"已导出 {result.records} 条记录、{result.attachments} 个附件到 {result.path}（已校验）")
    return 0


def cmd_bundle_import(args: argparse.Namespace) -> int:
    path = input_file(args.file)
    result = _township_sync(args).import_return(path, progress=_print_progress)
    print(file=sys.stderr)
    received = "、".join(f"{label} {count} 条" for label, count in result.received.items())
    print(f"县里已确认到第 {result.acknowledged_to} 号；" + (f"收到 {received}" if received else "没有新的下发内容"))
    for message in result.messages:
        print(message)
    return 0


def cmd_sync_status(args: argparse.Namespace) -> int:
    from app.localtime import format_local

    status = _township_sync(args).status()
    if args.json:
        print(json.dumps(status.to_dict(), ensure_ascii=False, indent=2))
        return 0
    if not status.enrolled:
        print("本机尚未登记到县级平台（xiangan enrol 登记文件）。")
        return 0
    print(f"乡镇：{status.township_name}（{status.county_name}）")
    print(f"待上报：{status.pending_records} 条记录、{status.pending_attachments} 个附件")
    last = status.last_export
    print(f"上次导出：{format_local(last.at) + ' ' + last.file if last else '无'}")
    print(f"县里已确认到：第 {status.acknowledged_to} 号（{format_local(status.last_ack_at) or '尚未收到回执'}）")
    print(f"县级平台：{status.server_url or '未设置（用U盘同步）'}")
    if status.server_url:
        print(f"上次联网同步：{format_local(status.last_sync_at) or '尚未成功'}")
    if status.last_sync_error:
        print(f"最近一次联网同步失败：{status.last_sync_error}")
    if status.open_conflicts:
        print(f"修改冲突：{status.open_conflicts} 条（另一版本已保存）")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from app.sync.errors import SyncError
    from app.sync.http_client import SyncClient

    township = _township_sync(args)
    if args.server:
        township.set_server_url(args.server)
    try:
        with SyncClient(township) as client:
            result = client.round(progress=None if args.json else _print_progress,
                                  stage=None if args.json else lambda text: print(f"\r{text}", file=sys.stderr))
    except SyncError as exc:
        pending = township.status().pending_records
        if args.json:
            print(json.dumps({"ok": False, "error": {"code": exc.code, "message": str(exc)},
                              "pending_records": pending}, ensure_ascii=False, indent=2))
        else:
            print(f"\n错误：{exc}" + (f"（待上报 {pending} 条记录）" if pending else ""), file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"ok": True, **result.to_dict()}, ensure_ascii=False, indent=2))
        return 0
    print(file=sys.stderr)
    print(result.summary())
    for message in result.messages:
        print(message)
    if result.pending:
        print(f"同步期间又有 {result.pending} 条记录被修改，将在下次同步时上报。")
    return 0


# -- 七有/五有 ---------------------------------------------------------------------------------------


def _readiness_service(args: argparse.Namespace):
    services, _scope = _hazard_services(args)
    return services.readiness


def _evaluation_day(text: str | None):
    from app.models.validation import normalize_date

    if not text:
        return None
    try:
        return normalize_date(text)
    except ValueError as exc:
        raise XiangAnError(f"评估日期「{text}」无效：{exc}") from None


def cmd_readiness_summary(args: argparse.Namespace) -> int:
    on = _evaluation_day(args.date)
    readiness = _readiness_service(args)
    document = readiness.summary_json(on)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    for unit in (document["township"], *document["villages"]):
        verdict = "达标" if unit["passed"] else "未达标"
        gaps = [gap for item in unit["items"] for gap in item["gaps"]]
        print(f"{unit['name']}：{verdict}（{unit['score']:g}/{unit['max_score']:g}分，{unit['standard']}）")
        for gap in gaps:
            print(f"  {gap}")
    print(f"评估日期{document['evaluated_on']}：村（社区）{document['villages_total']}个，"
          f"达标{document['villages_passed']}个。")
    return 0


def cmd_readiness_report(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.is_dir():
        raise XiangAnError(f"「{out}」是一个文件夹，请指定 .pdf 文件名")
    written = _readiness_service(args).write_report(out)
    print(f"已生成七有/五有达标情况报告：{written}")
    return 0


def cmd_readiness_import_standard(args: argparse.Namespace) -> int:
    path = input_file(args.file)
    readiness = _readiness_service(args)
    version = readiness.import_standard(path)
    print(f"已导入 {version} 版达标标准，今后的评估按此版本进行（已有的评估保留原版本）。")
    return 0


# The organisation registers, then the 七有/五有 ones (app.services.readiness_registers.READINESS_KINDS;
# spelt out so that ``xiangan --help`` does not import the data layer — a test keeps the two equal).
REGISTER_KINDS = ("villages", "enterprises", "units", "contacts", "teams", "team_members", "supplies", "shelters",
                  "plans", "drills", "equipment", "comm_tests", "call_trees", "org_documents")
REPORT_KINDS = ("roster",)


def build_parser() -> argparse.ArgumentParser:
    data_help = "数据文件夹（默认：系统用户数据目录，或环境变量 XIANGAN_HOME）"
    # Accepted before or after the sub-command; SUPPRESS keeps a sub-command from resetting it to None.
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_help)
    parser = _Parser(
        prog="xiangan",
        description=f"{APP_NAME} — 乡镇（街道）应急管理工作台。不带子命令时启动图形界面。",
    )
    parser.add_argument("--data-dir", default=None, help=data_help)
    parser.add_argument("--version", action="version", version=f"xiangan {__version__} ({build_info()})")
    sub = parser.add_subparsers(dest="command", metavar="命令")

    def add(name: str, fn: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=fn)
        return p

    gui = add("gui", cmd_gui, "启动图形界面（默认）")
    gui.add_argument("--self-test", action="store_true", help="打开主窗口和每个功能区一次后退出（安装自检）")
    gui.add_argument("--check-printing", action="store_true",
                     help="自检时再生成一份PDF并在打印预览中打开（检查字体、PDF引擎和打印支持是否完整安装）")
    demo = add("demo", cmd_demo, "在数据文件夹中生成演示乡镇")
    demo.add_argument("--seed", type=int, default=2026, help="随机种子（相同种子生成相同数据）")
    demo.add_argument("--scale", type=int, default=1, help="规模倍数（1 = 12个村、约80家企业、60条隐患）")
    demo.add_argument("--hazards", type=int, default=0, metavar="N",
                      help="另外批量生成N条演示隐患（用于性能测试；已有乡镇时只添加隐患）")
    backup = add("backup", cmd_backup, "把数据库备份到指定文件夹（如U盘）")
    backup.add_argument("--to", required=True, help="备份目标文件夹")
    check = add("check", cmd_check, "检查数据库完整性和结构版本")
    check.add_argument("--json", action="store_true", help="以 JSON 输出")
    shots = add("screenshots", cmd_screenshots, "离屏渲染每个功能区为 PNG 图片")
    shots.add_argument("--out", required=True, help="输出文件夹")
    export = add("export", cmd_export, "把名录导出为 Excel")
    export.add_argument("kind", choices=REGISTER_KINDS)
    export.add_argument("--out", required=True, help="输出的 .xlsx 文件")
    imp = add("import", cmd_import, "从 Excel 导入名录（按表头自动对应列）。退出码：0 全部导入，"
              f"{IMPORT_PARTIAL} 有错误的行已跳过、其余已导入")
    imp.add_argument("kind", choices=REGISTER_KINDS)
    imp.add_argument("file")
    imp.add_argument("--sheet", help="工作表名称（默认第一个）")
    _add_hazard_commands(add, common)
    _add_letter_commands(add, common)
    _add_readiness_commands(add, common)
    _add_sync_commands(add, common)
    report = add("report", cmd_report, "生成 PDF 文书（roster = 村（社区）基本情况表）")
    report.add_argument("kind", choices=REPORT_KINDS)
    report.add_argument("--out", required=True, help="输出的 .pdf 文件")
    return parser


def _add_hazard_commands(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    hazards = add("hazards", lambda _args: hazards.print_help() or 2, "隐患排查治理台账：Excel 导入导出、整改通知书、逾期清单")
    actions = hazards.add_subparsers(dest="hazards_command", metavar="操作")

    def action(name: str, fn: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=fn)
        return p

    imp = action("import", cmd_hazards_import,
                 "从 Excel 导入隐患台账（按表头自动对应列；默认全部无误才导入）。退出码：0 全部导入，1 未导入，"
                 f"{IMPORT_PARTIAL} 只导入了无误的行")
    imp.add_argument("file", help="台账 .xlsx/.xls/.csv 文件")
    imp.add_argument("--sheet", help="工作表名称（默认自动查找）")
    imp.add_argument("--dry-run", action="store_true", help="只检查并列出将新增、更新的条数和有错误的行，不写入")
    imp.add_argument("--skip-invalid", action="store_true", help="跳过有错误的行，只导入无误的行")
    exp = action("export", cmd_hazards_export, "把隐患台账导出为 Excel（标准台账格式，可再导入）")
    exp.add_argument("file", help="输出的 .xlsx 文件")
    exp.add_argument("--year", type=int, help="只导出该年度编号的隐患")
    notice = action("notice", cmd_hazards_notice, "生成隐患整改通知书 PDF")
    notice.add_argument("number", help="隐患编号，如 2026-0017")
    notice.add_argument("--out", required=True, help="输出的 .pdf 文件")
    overdue = action("overdue", cmd_hazards_overdue, "列出逾期未整改的隐患")
    overdue.add_argument("--json", action="store_true", help="以 JSON 输出")


def _add_letter_commands(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    letters = add("letters", lambda _args: letters.print_help() or 2, "安全生产目标责任书：批量生成 PDF、签订情况、年终考核")
    actions = letters.add_subparsers(dest="letters_command", metavar="操作")

    def action(name: str, fn: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=fn)
        p.add_argument("--year", type=int, required=True, help="年度，如 2026")
        return p

    gen = action("generate", cmd_letters_generate, "为尚无责任书的村（社区）、企业、站所生成该年度责任书，并为每份写出 PDF")
    gen.add_argument("--out", required=True, help="输出文件夹（文件名如 2026-石桥村.pdf）")
    gen.add_argument("--copies", type=int, choices=(1, 2), default=2, help="每个文件中的份数（默认一式两份）")
    status = action("status", cmd_letters_status, "各类签订对象的签订情况和尚未签订的名单")
    status.add_argument("--json", action="store_true", help="以 JSON 输出")
    assess = action("assess", cmd_letters_assess, "按责任书控制指标和事故记录进行年终考核")
    assess.add_argument("--json", action="store_true", help="以 JSON 输出")
    accidents = add("accidents", lambda _args: accidents.print_help() or 2, "事故信息登记")
    acc_actions = accidents.add_subparsers(dest="accidents_command", metavar="操作")
    lst = acc_actions.add_parser("list", parents=[common], help="列出事故", description="列出事故")
    lst.set_defaults(func=cmd_accidents_list)
    lst.add_argument("--year", type=int, help="只列出该年度的事故")
    lst.add_argument("--json", action="store_true", help="以 JSON 输出")


def _add_sync_commands(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    enrol = add("enrol", cmd_enrol, "导入县里提供的登记文件，把本机登记到县级平台（每台电脑一个登记文件）")
    enrol.add_argument("file", help="登记文件（.xae）")
    bundle = add("bundle", lambda _args: bundle.print_help() or 2, "U盘同步：导出上报文件、导入县里的回执文件")
    actions = bundle.add_subparsers(dest="bundle_command", metavar="操作")
    exp = actions.add_parser("export", parents=[common], help="把县里尚未确认的全部数据导出为一个同步文件",
                             description="把县里尚未确认的全部数据（记录和附件）导出为一个同步文件，写完后自动校验")
    exp.set_defaults(func=cmd_bundle_export)
    exp.add_argument("--out", required=True, help="导出到的文件夹（如U盘）")
    imp = actions.add_parser("import", parents=[common], help="导入县里的回执文件", description="导入县里的回执文件（确认信息和下发的数据）")
    imp.set_defaults(func=cmd_bundle_import)
    imp.add_argument("file", help="回执文件（.xab）")
    sync = add("sync", cmd_sync, "联网同步一次：上报待上报的数据、接收县里下发的内容（「sync status」查看同步状态）。"
               "退出码：0 成功，1 失败（原因见提示）")
    sync.add_argument("--server", help="县级平台地址，如 http://192.168.1.10:8750（记住，以后自动同步也用它；默认用登记文件中的地址）")
    sync.add_argument("--json", action="store_true", help="以 JSON 输出")
    sync_actions = sync.add_subparsers(dest="sync_command", metavar="操作")
    status = sync_actions.add_parser("status", parents=[common], help="待上报条数、上次导出、县里确认情况",
                                     description="待上报条数、上次导出、县里确认情况")
    status.set_defaults(func=cmd_sync_status)
    status.add_argument("--json", action="store_true", help="以 JSON 输出")


def _add_readiness_commands(add: Callable[..., argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    readiness = add("readiness", lambda _args: readiness.print_help() or 2, "七有/五有达标：评估结果、达标情况报告")
    actions = readiness.add_subparsers(dest="readiness_command", metavar="操作")
    summary = actions.add_parser("summary", parents=[common], help="乡镇和各村（社区）的得分、是否达标和差距",
                                 description="乡镇（七有）和各村（社区）（五有、四有）的得分、是否达标和差距")
    summary.set_defaults(func=cmd_readiness_summary)
    summary.add_argument("--json", action="store_true", help="以 JSON 输出")
    summary.add_argument("--date", help="按哪一天评估（默认今天），如 2026-06-30")
    report = actions.add_parser("report", parents=[common], help="生成七有/五有达标情况报告 PDF",
                                description="生成七有/五有达标情况报告 PDF（乡镇和每个村（社区）的项目、结论、差距和佐证材料）")
    report.set_defaults(func=cmd_readiness_report)
    report.add_argument("--out", required=True, help="输出的 .pdf 文件")
    standard = actions.add_parser("import-standard", parents=[common], help="导入县里下发的七有/五有标准文件（JSON）",
                                  description="导入县里下发的七有/五有标准文件（JSON）；文件有误时逐项指明问题，不会保存")
    standard.set_defaults(func=cmd_readiness_import_standard)
    standard.add_argument("file", help="标准文件 .json")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "gui"])
    return run_command(args)
