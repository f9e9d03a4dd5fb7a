"""The ``xiangan-county`` command line: the county's side of USB sync (enrol townships, import their
bundles and write return files, send county data, report status). No GUI, no Qt."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from app import __version__
from app.cli import _Parser, input_file
from app.errors import XiangAnError

ENV_HOME = "XIANGAN_COUNTY_HOME"


def _folder(args: argparse.Namespace) -> Path | None:
    value = getattr(args, "data_dir", None) or os.environ.get(ENV_HOME)
    return Path(value).expanduser().resolve() if value else None


def _store(args: argparse.Namespace):
    from app.sync.county import CountyStore

    folder = _folder(args)
    if folder is None:
        raise XiangAnError(f"请用 --data-dir 指定县级数据文件夹（或设置环境变量 {ENV_HOME}）。")
    return CountyStore.open(folder, getattr(args, "db", None))


def cmd_init(args: argparse.Namespace) -> int:
    from app.sync.county import CountyStore

    folder = _folder(args)
    if folder is None:
        raise XiangAnError("请用 --data-dir 指定县级数据文件夹。")
    store = CountyStore.init(folder, getattr(args, "db", None), name=args.name)
    print(f"已初始化「{store.name}」的县级数据：{folder}")
    print(f"县级密钥指纹：{store.public_keys.fingerprint}")
    return 0


def cmd_township_add(args: argparse.Namespace) -> int:
    store = _store(args)
    path = store.add_township(args.code, args.name, Path(args.out))
    print(f"已为乡镇「{args.name}」（{args.code}）生成登记文件：{path}")
    print("请把该文件交给乡镇，在乡镇电脑上运行「xiangan enrol 登记文件」。每台电脑使用一个登记文件，只能使用一次。")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    path = input_file(args.bundle)
    result = _store(args).import_bundle(path, Path(args.return_dir))
    if result.replay:
        print(f"「{result.township_name}」的该文件已经导入过，数据没有变化。")
    else:
        print(f"已导入「{result.township_name}」的数据：新增或更新 {result.applied} 条，无变化 {result.unchanged} 条，"
              f"修改冲突 {result.conflicts} 条；已确认到第 {result.acknowledged_to} 号。")
    for message in result.messages:
        print(message)
    print(f"回执文件：{result.return_path}（请带回乡镇导入）")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from app.localtime import format_local

    townships = _store(args).status()
    if args.json:
        print(json.dumps([t.to_dict() for t in townships], ensure_ascii=False, indent=2))
        return 0
    if not townships:
        print("尚未登记任何乡镇（xiangan-county township add）。")
        return 0
    for t in townships:
        last = f"{format_local(t.last_bundle_at)} {t.last_bundle_file}" if t.last_bundle_at else "尚未收到"
        held = "、".join(f"{label} {count}" for label, count in t.records.items()) or "无"
        print(f"{t.code} {t.name}：上次上报 {last}；已确认到第 {t.acknowledged_to} 号；电脑 {len(t.pcs)} 台；"
              f"冲突 {t.conflicts} 条")
        print(f"    已有记录：{held}")
    return 0


def cmd_send(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.kind == "supervision":
        if not (args.township and args.hazard and args.title):
            raise XiangAnError("下发督办需要 --township 乡镇代码、--hazard 隐患编号 和 --title 标题。")
        deadline = _date(args.deadline) if args.deadline else None
        order = store.send_supervision(args.township, args.hazard, args.title, args.content or "", deadline)
        print(f"已下发督办「{order.title}」（隐患 {order.hazard_number}），乡镇导入下一个回执文件时收到。")
        return 0
    if not args.file:
        raise XiangAnError(f"下发{args.kind}需要指定文件。")
    document = store.send_document(args.kind, input_file(args.file))
    print(f"已下发「{document.title or document.kind}」{document.doc_version} 版，各乡镇导入下一个回执文件时收到。")
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise XiangAnError(f"整改期限「{text}」无效，应为 YYYY-MM-DD，如 2026-12-31") from None


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=f"县级数据文件夹（或环境变量 {ENV_HOME}）")
    common.add_argument("--db", default=argparse.SUPPRESS, help="县级数据库地址（任意 SQLAlchemy URL；默认用数据文件夹中的 SQLite）")
    parser = _Parser(prog="xiangan-county", description="乡安县级同步工具：登记乡镇、导入乡镇上报的U盘文件并生成回执、下发县级数据。")
    parser.add_argument("--version", action="version", version=f"xiangan-county {__version__}", help="显示版本号并退出")
    sub = parser.add_subparsers(dest="command", metavar="命令")

    def add(parent: argparse._SubParsersAction, name: str, fn: Callable[[argparse.Namespace], int],
            text: str) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=fn)
        return p

    init = add(sub, "init", cmd_init, "初始化县级数据（生成县级密钥）")
    init.add_argument("--name", default="县应急管理局", help="县级单位名称，如「安远县应急管理局」")
    township = sub.add_parser("township", help="乡镇登记", description="乡镇登记")
    township.set_defaults(func=lambda _args: township.print_help() or 2)
    actions = township.add_subparsers(dest="township_command", metavar="操作")
    tadd = add(actions, "add", cmd_township_add, "为乡镇的一台电脑生成登记文件（同一乡镇再次运行即为另一台电脑登记）")
    tadd.add_argument("--code", required=True, help="乡镇代码，如 360726100")
    tadd.add_argument("--name", required=True, help="乡镇名称")
    tadd.add_argument("--out", required=True, help="登记文件（.xae）或存放它的文件夹")
    imp = add(sub, "import", cmd_import, "导入乡镇上报的同步文件（校验、只应用一次），并生成回执文件")
    imp.add_argument("bundle", help="乡镇导出的同步文件（.xab）")
    imp.add_argument("--return-dir", required=True, help="回执文件写到的文件夹（通常就是该U盘）")
    status = add(sub, "status", cmd_status, "各乡镇的上报情况：上次上报、已有记录、已确认序号")
    status.add_argument("--json", action="store_true", help="以 JSON 输出")
    send = add(sub, "send", cmd_send, "下发县级数据：标准、行业代码表、模板，或对某乡镇隐患的督办")
    send.add_argument("kind", choices=("standard", "sectors", "template", "supervision"),
                      help="standard 标准，sectors 行业代码表，template 模板，supervision 督办")
    send.add_argument("file", nargs="?", help="标准、代码表或模板的 JSON 文件")
    send.add_argument("--township", help="督办：乡镇代码")
    send.add_argument("--hazard", help="督办：隐患编号，如 2026-0017")
    send.add_argument("--title", help="督办：标题")
    send.add_argument("--content", help="督办：督办内容")
    send.add_argument("--deadline", help="督办：整改期限 YYYY-MM-DD")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except XiangAnError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断", file=sys.stderr)
        return 130
    except Exception as exc:
        traceback.print_exc()
        print(f"错误：意外故障（{type(exc).__name__}: {exc}）", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
