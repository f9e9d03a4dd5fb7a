"""The ``xiangan-county`` command line: the county's side of sync (enrol townships, import their USB
bundles and write return files, send county data, report status) and ``serve``, the county server.
No GUI, no Qt."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from app import __version__
from app.cli_common import ChineseParser as _Parser
from app.cli_common import input_file, run_command
from app.errors import XiangAnError

ENV_HOME = "XIANGAN_COUNTY_HOME"
DEFAULT_PORT = 8750


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
    store = CountyStore.init(folder, getattr(args, "db", None), name=args.name, server_url=args.server)
    print(f"已初始化「{store.name}」的县级数据：{folder}")
    print(f"县级密钥指纹：{store.public_keys.fingerprint}")
    if store.server_url:
        print(f"登记文件将带上县级平台地址：{store.server_url}")
    return 0


def cmd_township_add(args: argparse.Namespace) -> int:
    store = _store(args)
    path = store.add_township(args.code, args.name, Path(args.out), server_url=args.server)
    print(f"已为乡镇「{args.name}」（{args.code}）生成登记文件：{path}")
    server = args.server or store.server_url
    print(f"乡镇电脑联网时将自动与县级平台同步：{server}" if server else "该登记文件没有县级平台地址，乡镇用U盘同步。")
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


def _tls_files(args: argparse.Namespace) -> dict[str, str]:
    """HTTPS without a proxy: both files or neither, each checked before the server starts."""
    if bool(args.tls_cert) != bool(args.tls_key):
        raise XiangAnError("--tls-cert 与 --tls-key 需要同时指定（证书文件和私钥文件）")
    if not args.tls_cert:
        return {}
    return {"ssl_certfile": str(input_file(args.tls_cert)), "ssl_keyfile": str(input_file(args.tls_key))}


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.server.app import ServerSettings, create_app

    if not 0 <= args.port <= 65535:
        raise XiangAnError(f"端口「{args.port}」无效，应为 1 到 65535 之间的数字")
    if args.rate < 1:
        raise XiangAnError(f"每分钟请求数「{args.rate}」无效，应为正整数")
    tls = _tls_files(args)
    store = _store(args)
    try:
        settings = ServerSettings(rate_per_minute=args.rate, secure_cookies=bool(tls) or args.behind_https)
        app = create_app(store, settings)
        scheme = "https" if tls else "http"
        print(f"县级平台「{store.name}」已启动：{scheme}://{args.host}:{args.port}/ （同步接口 /api/v1；按 Ctrl+C 停止）",
              flush=True)
        # Behind nginx (TLS) on the same machine, X-Forwarded-For from 127.0.0.1 names the real client.
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=True,
                    forwarded_allow_ips="127.0.0.1", server_header=False, **tls)
    finally:
        store.close()
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    from app.server.staff import add_staff

    password = _new_password(args.password_stdin)
    staff = add_staff(_store(args).db, args.username, password, args.role, args.display_name)
    print(f"已创建县级平台账号「{staff.username}」（{staff.actor.role.label}）。"
          + ("首次登录网页时须修改密码。" if staff.must_change_password else ""))
    return 0


def _new_password(from_stdin: bool) -> str:
    """From the first line of standard input (scripts), else typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    if not sys.stdin.isatty():
        raise XiangAnError("无法提示输入密码（不是交互式终端），请用 --password-stdin 从标准输入提供密码。")
    password = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != password:
        raise XiangAnError("两次输入的密码不一致，账号未创建。")
    return password


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
    init.add_argument("--server", default="", help="县级平台地址（写入以后生成的登记文件），如 https://xiangan.example.gov.cn")
    township = sub.add_parser("township", help="乡镇登记", description="乡镇登记")
    township.set_defaults(func=lambda _args: township.print_help() or 2)
    actions = township.add_subparsers(dest="township_command", metavar="操作")
    tadd = add(actions, "add", cmd_township_add, "为乡镇的一台电脑生成登记文件（同一乡镇再次运行即为另一台电脑登记）")
    tadd.add_argument("--code", required=True, help="乡镇代码，如 360726100")
    tadd.add_argument("--name", required=True, help="乡镇名称")
    tadd.add_argument("--out", required=True, help="登记文件（.xae）或存放它的文件夹")
    tadd.add_argument("--server", default="", help="县级平台地址（默认用 init --server 设定的地址）")
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
    serve = add(sub, "serve", cmd_serve, "运行县级平台：乡镇电脑联网同步的接口和县级工作人员的网页")
    serve.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；对外服务请放在 nginx 等 HTTPS 代理之后）")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
    serve.add_argument("--tls-cert", default="", help="HTTPS 证书文件（PEM；不用 nginx 等代理时直接提供 HTTPS）")
    serve.add_argument("--tls-key", default="", help="HTTPS 私钥文件（PEM）")
    serve.add_argument("--behind-https", action="store_true",
                       help="县级平台在 nginx 等 HTTPS 代理之后：网页登录凭据只经 HTTPS 发送")
    serve.add_argument("--rate", type=int, default=240, help="每台乡镇电脑每分钟最多请求数（默认 240）")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                       help="日志级别（默认 info）")
    staff = sub.add_parser("staff", help="县级平台网页的工作人员账号", description="县级平台网页的工作人员账号")
    staff.set_defaults(func=lambda _args: staff.print_help() or 2)
    staff_actions = staff.add_subparsers(dest="staff_command", metavar="操作")
    sadd = add(staff_actions, "add", cmd_staff_add, "新建工作人员账号（密码在提示时输入，或用 --password-stdin）")
    sadd.add_argument("--username", required=True, help="用户名（2–32位字母、数字、汉字、下划线或点）")
    sadd.add_argument("--role", choices=("admin", "viewer"), default="viewer",
                      help="admin 管理员（上传、登记、督办）；viewer 只读（默认）")
    sadd.add_argument("--display-name", default="", help="姓名（网页上显示）")
    sadd.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取密码（用于脚本）")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
