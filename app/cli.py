"""The ``xiangan`` command line: the GUI by default, and sub-commands for headless jobs.

Qt is only imported by the commands that need it, so scripted jobs start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from app import APP_NAME, __version__
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

    return run_gui(data_dir(args.data_dir), self_test=args.self_test)


def cmd_demo(args: argparse.Namespace) -> int:
    from app.services.demo import generate_demo

    db = _open(args)
    result = generate_demo(db, seed=args.seed, scale=args.scale)
    print(result.summary)
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
        "migration_needed": current != head,
        "newest_backup": str(backups[0]) if backups else None,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"数据库：{path}{'' if path.exists() else '（尚未创建）'}")
        print(f"完整性：{'正常' if not problem else '损坏 — ' + problem}")
        print(f"结构版本：{current or '无'}（程序要求 {head}）{'，启动时将自动升级' if current != head else ''}")
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

    services = Services(_open(args), SYSTEM_ACTOR)
    importer = ImportService(services.db, SYSTEM_ACTOR, services.scope)
    source = importer.load(Path(args.file), args.kind, args.sheet)
    mapping = importer.suggest_mapping(args.kind, source.data.headers)
    result = importer.apply(args.kind, source, mapping)
    print(f"新增 {result.created} 条，更新 {result.updated} 条，无变化 {result.unchanged} 条，"
          f"跳过 {len(result.skipped_rows)} 行")
    for number, message in result.skipped_rows:
        print(f"  第{number}行：{message}")
    return 0


REGISTER_KINDS = ("villages", "enterprises", "units", "contacts")


def build_parser() -> argparse.ArgumentParser:
    data_help = "数据文件夹（默认：系统用户数据目录，或环境变量 XIANGAN_HOME）"
    # Accepted before or after the sub-command; SUPPRESS keeps a sub-command from resetting it to None.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_help)
    parser = argparse.ArgumentParser(
        prog="xiangan",
        description=f"{APP_NAME} — 乡镇（街道）应急管理工作台。不带子命令时启动图形界面。",
    )
    parser.add_argument("--data-dir", default=None, help=data_help)
    parser.add_argument("--version", action="version", version=f"xiangan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="命令")

    def add(name: str, fn: Callable[[argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=fn)
        return p

    gui = add("gui", cmd_gui, "启动图形界面（默认）")
    gui.add_argument("--self-test", action="store_true", help="打开主窗口和每个功能区一次后退出（安装自检）")
    demo = add("demo", cmd_demo, "在数据文件夹中生成演示乡镇")
    demo.add_argument("--seed", type=int, default=2026, help="随机种子（相同种子生成相同数据）")
    demo.add_argument("--scale", type=int, default=1, help="规模倍数（1 = 12个村、约80家企业）")
    backup = add("backup", cmd_backup, "把数据库备份到指定文件夹（如U盘）")
    backup.add_argument("--to", required=True, help="备份目标文件夹")
    check = add("check", cmd_check, "检查数据库完整性和结构版本")
    check.add_argument("--json", action="store_true", help="以 JSON 输出")
    shots = add("screenshots", cmd_screenshots, "离屏渲染每个功能区为 PNG 图片")
    shots.add_argument("--out", required=True, help="输出文件夹")
    export = add("export", cmd_export, "把名录导出为 Excel")
    export.add_argument("kind", choices=REGISTER_KINDS)
    export.add_argument("--out", required=True, help="输出的 .xlsx 文件")
    imp = add("import", cmd_import, "从 Excel 导入名录（按表头自动对应列）")
    imp.add_argument("kind", choices=REGISTER_KINDS)
    imp.add_argument("file")
    imp.add_argument("--sheet", help="工作表名称（默认第一个）")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "gui"])
    try:
        return args.func(args)
    except XiangAnError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except Exception as exc:  # a one-line reason for scripts, the traceback for whoever debugs it
        traceback.print_exc()
        print(f"错误：意外故障（{type(exc).__name__}: {exc}）", file=sys.stderr)
        return 2
