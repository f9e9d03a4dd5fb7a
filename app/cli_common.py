"""Command-line pieces shared by ``xiangan`` and ``xiangan-county`` (no Qt: the county side must not pull
in the desktop UI)."""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from pathlib import Path

from app.errors import XiangAnError


def input_file(name: str) -> Path:
    """Check the file before the database is opened, so a typo never creates an empty data folder."""
    path = Path(name)
    if path.is_dir():
        raise XiangAnError(f"「{path.name}」是文件夹，请指定其中的文件")
    if not path.exists():
        raise XiangAnError(f"文件「{path.name}」不存在，可能已被移动或删除")
    return path


class ChineseHelp(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseParser(argparse.ArgumentParser):
    """argparse speaking Chinese: headings in --help, and usage errors as one line like every other
    failure of the command line. Sub-command parsers are made from this class too."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", ChineseHelp)
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示本帮助并退出"

    _MESSAGES = (
        (r"the following arguments are required: (.+)", "缺少必需的参数：{0}"),
        (r"argument (.+?): invalid choice: '?(.*?)'? \(choose from (.+)\)", "参数 {0} 的值「{1}」无效，可选：{2}"),
        (r"argument (.+?): invalid (?:int|float) value: '?(.*?)'?$", "参数 {0} 的值「{1}」不是数字"),
        (r"argument (.+?): expected one argument", "参数 {0} 后面缺少取值"),
        (r"unrecognized arguments: (.+)", "无法识别的参数：{0}"),
    )

    def error(self, message: str):  # type: ignore[override]
        for pattern, chinese in self._MESSAGES:
            m = re.fullmatch(pattern, message)
            if m:
                message = chinese.format(*(g.replace("'", "") for g in m.groups()))
                break
        self.exit(2, f"错误：{message}。运行「{self.prog} --help」查看用法\n")


def run_command(args: argparse.Namespace) -> int:
    """Run the chosen subcommand: a one-line Chinese reason and a non-zero exit on failure, the
    traceback too for a fault nobody foresaw (for whoever debugs it)."""
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
