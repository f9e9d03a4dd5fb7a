"""The ``xiangan`` command line, run as a user would: ``python -m app …`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from app import __version__
from app.cli import build_parser
from app.paths import database_path
from app.services.organisation import ENTERPRISES, current_scope
from app.storage import open_database

ROOT = Path(__file__).resolve().parent.parent
SUBCOMMANDS = ("gui", "demo", "backup", "check", "screenshots", "export", "import")


def run(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONIOENCODING": "utf-8"}
    env.pop("XIANGAN_HOME", None)
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout, check=False)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def demo(data: Path) -> Path:
    done = run("demo", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    return data


def _township(folder: Path) -> str | None:
    db = open_database(folder)
    try:
        scope = current_scope(db)
        return scope.township_name if scope else None
    finally:
        db.dispose()


def test_help_lists_every_subcommand():
    done = run("--help")
    assert done.returncode == 0
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert set(SUBCOMMANDS) <= parser_commands
    for command in parser_commands:  # every command the parser knows is listed with its help line
        assert f"    {command} " in done.stdout, command
    assert "--data-dir" in done.stdout


def test_version():
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip().split()[:2] == ["xiangan", __version__]


def test_demo_creates_a_township_once(data):
    first = run("demo", "--data-dir", data)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("已生成演示乡镇「")
    assert f"数据文件夹：{data}" in first.stdout
    name = _township(data)
    assert name and name in first.stdout
    second = run("demo", "--data-dir", data)
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), second.stderr
    assert name in lines[0]  # says which township is already there
    assert second.stdout == ""


def test_check_text_and_json(demo):
    text = run("check", "--data-dir", demo)
    assert text.returncode == 0, text.stderr
    assert f"数据库：{database_path(demo)}" in text.stdout
    assert "完整性：正常" in text.stdout
    as_json = run("check", "--json", "--data-dir", demo)
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["integrity"] == "ok"
    assert report["exists"] is True
    assert report["migration_needed"] is False
    assert report["schema_revision"] == report["schema_head"]
    assert report["database"] == str(database_path(demo))


def test_check_reports_a_damaged_database(data):
    data.mkdir()
    database_path(data).write_bytes(b"this is not a database, just some text " * 200)
    done = run("check", "--data-dir", data)
    assert done.returncode == 1
    assert "损坏" in done.stdout
    as_json = run("check", "--json", "--data-dir", data)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["integrity"] != "ok"


def test_data_dir_before_or_after_the_subcommand(demo, tmp_path):
    before = run("--data-dir", demo, "check", "--json")
    after = run("check", "--json", "--data-dir", demo)
    assert before.returncode == after.returncode == 0
    assert json.loads(before.stdout)["data_dir"] == json.loads(after.stdout)["data_dir"] == str(demo)
    backup = run("--data-dir", demo, "backup", "--to", tmp_path / "stick")
    assert backup.returncode == 0, backup.stderr


def test_backup_to_a_folder(demo, tmp_path):
    stick = tmp_path / "U盘" / "备份"
    done = run("backup", "--to", stick, "--data-dir", demo)
    assert done.returncode == 0, done.stderr
    files = list(stick.glob("xiangan-*-manual.sqlite3"))
    assert len(files) == 1
    assert done.stdout.strip() == f"已备份到 {files[0]}"
    assert files[0].stat().st_size > 10_000
    restored = tmp_path / "restored"
    restored.mkdir()
    database_path(restored).write_bytes(files[0].read_bytes())
    assert _township(restored) == _township(demo)


def test_export_then_import_into_the_same_data_changes_nothing(demo, tmp_path):
    out = tmp_path / "企业.xlsx"
    exported = run("export", "enterprises", "--out", out, "--data-dir", demo)
    assert exported.returncode == 0, exported.stderr
    count = int(exported.stdout.split("已导出 ")[1].split(" 条")[0])
    assert count > 0
    sheet = openpyxl.load_workbook(out, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [f.label for f in ENTERPRISES.fields]
    assert len(rows) == count + 1
    imported = run("import", "enterprises", out, "--data-dir", demo)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == f"新增 0 条，更新 0 条，无变化 {count} 条，跳过 0 行"


def test_import_of_a_missing_file_is_explained(demo, tmp_path):
    done = run("import", "villages", tmp_path / "没有这个文件.xlsx", "--data-dir", demo)
    assert done.returncode == 1
    assert done.stderr.strip() == "错误：文件「没有这个文件.xlsx」不存在，可能已被移动或删除"
    assert "Traceback" not in done.stderr


def test_self_test_passes_on_demo_data(demo):
    done = run("gui", "--self-test", "--data-dir", demo)
    assert done.returncode == 0, done.stderr
    assert "自检通过" in done.stdout
    assert "Traceback" not in done.stderr


def test_self_test_on_an_empty_folder_leaves_it_without_a_township(data):
    done = run("gui", "--self-test", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert "自检通过" in done.stdout
    assert _township(data) is None  # the demo it showed was built in a scratch folder


@pytest.mark.slow
def test_screenshots_are_written(demo, tmp_path):
    out = tmp_path / "shots"
    done = run("screenshots", "--out", out, "--data-dir", demo)
    assert done.returncode == 0, done.stderr
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) >= 10
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5_000, png.name  # a rendered screen, not a blank image
    assert sorted(done.stdout.split()) == sorted(str(p) for p in pngs)
    for bad in ("QObject", "Traceback", "Segmentation fault", "QThread", "Fatal"):
        assert bad not in done.stderr, done.stderr


@pytest.mark.slow
def test_screenshots_of_an_empty_folder_use_a_scratch_demo(data, tmp_path):
    out = tmp_path / "shots"
    done = run("screenshots", "--out", out, "--data-dir", data)
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("*.png"))) >= 10
    assert "QObject" not in done.stderr and "Traceback" not in done.stderr
    assert _township(data) is None


def test_import_of_a_missing_file_leaves_no_data_folder_behind(tmp_path):
    folder = tmp_path / "never-created"
    for args in (["import", "villages", str(tmp_path / "nope.xlsx")], ["hazards", "import", str(tmp_path / "nope.xlsx")]):
        done = subprocess.run([sys.executable, "-m", "app", *args, "--data-dir", str(folder)],
                              capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        assert done.returncode == 1
        assert done.stderr.strip() == "错误：文件「nope.xlsx」不存在，可能已被移动或删除"
    assert not folder.exists()


def test_check_on_a_damaged_database_does_not_promise_an_upgrade(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "xiangan.sqlite3").write_bytes(b"SQLite format 3\0" + b"\x13" * 5000)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "app", "check", "--data-dir", str(folder)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert "自动升级" not in done.stdout and "损坏" in done.stdout
    report = subprocess.run([sys.executable, "-m", "app", "check", "--json", "--data-dir", str(folder)],
                            capture_output=True, text=True, env=env)
    assert json.loads(report.stdout)["migration_needed"] is None


def test_help_speaks_chinese():
    done = subprocess.run([sys.executable, "-m", "app", "hazards", "import", "--help"], capture_output=True,
                          text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0
    assert done.stdout.startswith("用法：xiangan hazards import")
    assert "显示本帮助并退出" in done.stdout and "选项" in done.stdout
    assert "usage:" not in done.stdout and "show this help" not in done.stdout


def test_self_test_can_also_check_printing(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "app", "gui", "--self-test", "--check-printing",
                           "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "PDF 打印预览正常" in done.stdout
