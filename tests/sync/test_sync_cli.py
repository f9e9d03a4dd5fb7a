"""``xiangan-county`` and the township's ``xiangan enrol / bundle / sync`` commands, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli, county_cli
from app.services import Services
from app.storage import open_database
from tests.conftest import ADMIN

ROOT = Path(__file__).resolve().parents[2]


def run_county(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = county_cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_township(capsys, *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def township_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "township"
    db = open_database(folder)
    try:
        Services(db, ADMIN).township.save_profile({"name": "青山镇", "county_name": "安远县", "code": "360726100"})
        Services(db, ADMIN).register("villages").save({"name": "石桥村"})
    finally:
        db.dispose()
    return folder


def test_full_usb_round_trip_through_both_command_lines(capsys, tmp_path: Path, township_dir: Path):
    county, usb = tmp_path / "county", tmp_path / "usb"
    code, out, _ = run_county(capsys, "init", "--data-dir", county, "--name", "安远县应急管理局")
    assert code == 0 and "已初始化「安远县应急管理局」" in out and "指纹" in out
    enrol_file = tmp_path / "qs.xae"
    code, out, _ = run_county(capsys, "township", "add", "--code", "360726100", "--name", "青山镇", "--out", enrol_file,
                              "--data-dir", county)
    assert code == 0 and enrol_file.exists()

    code, out, _ = run_township(capsys, "enrol", enrol_file, "--data-dir", township_dir)
    assert code == 0 and "已登记到「安远县应急管理局」" in out and "待上报 2 条" in out
    code, out, _ = run_township(capsys, "sync", "status", "--json", "--data-dir", township_dir)
    status = json.loads(out)
    assert code == 0 and status["enrolled"] and status["pending_records"] == 2
    code, out, _ = run_township(capsys, "bundle", "export", "--out", usb, "--data-dir", township_dir)
    assert code == 0 and "已导出 2 条记录" in out
    [bundle] = usb.glob("*.xab")

    code, out, _ = run_county(capsys, "import", bundle, "--return-dir", usb, "--data-dir", county)
    assert code == 0 and "已导入「青山镇」的数据：新增或更新 2 条" in out
    code, out, _ = run_county(capsys, "status", "--json", "--data-dir", county)
    [township] = json.loads(out)
    assert township["records"] == {"乡镇信息": 1, "村/社区": 1} and township["acknowledged_to"] == 2
    assert township["last_bundle_file"] == bundle.name
    code, out, _ = run_county(capsys, "status", "--data-dir", county)
    assert "360726100 青山镇" in out and "已确认到第 2 号" in out

    [returned] = [p for p in usb.glob("*.xab") if "回执" in p.name]
    code, out, _ = run_township(capsys, "bundle", "import", returned, "--data-dir", township_dir)
    assert code == 0 and "县里已确认到第 2 号" in out
    code, out, _ = run_township(capsys, "sync", "status", "--data-dir", township_dir)
    assert "待上报：0 条记录" in out and "县里已确认到：第 2 号" in out
    code, out, _ = run_county(capsys, "import", bundle, "--return-dir", usb, "--data-dir", county)
    assert code == 0 and "已经导入过" in out


def test_county_send_commands(capsys, tmp_path: Path):
    county = tmp_path / "county"
    run_county(capsys, "init", "--data-dir", county)
    sectors = tmp_path / "sectors.json"
    sectors.write_text(json.dumps({"kind": "sector_codes", "version": "2027.1", "title": "行业领域代码表",
                                   "items": [{"code": "road", "name": "道路交通"}]}, ensure_ascii=False), "utf-8")
    code, out, _ = run_county(capsys, "send", "sectors", sectors, "--data-dir", county)
    assert code == 0 and "已下发「行业领域代码表」2027.1 版" in out
    code, _, err = run_county(capsys, "send", "template", sectors, "--data-dir", county)
    assert code == 1 and err.startswith("错误：") and "letter_templates" in err and err.count("\n") == 1
    run_county(capsys, "township", "add", "--code", "360726100", "--name", "青山镇", "--out", tmp_path / "e.xae",
               "--data-dir", county)
    code, _, err = run_county(capsys, "send", "supervision", "--township", "360726100", "--hazard", "2026-0001",
                              "--title", "督办", "--data-dir", county)
    assert code == 1 and "隐患编号" in err and "2026-0001" in err
    code, _, err = run_county(capsys, "send", "supervision", "--data-dir", county)
    assert code == 1 and "--township" in err


@pytest.mark.parametrize("args, message", [
    (("status",), "--data-dir"),
    (("status", "--data-dir", "{tmp}/none"), "xiangan-county init"),
    (("import", "{tmp}/missing.xab", "--return-dir", "{tmp}", "--data-dir", "{tmp}/c"), "不存在"),
    (("township", "add", "--code", "a/b", "--name", "x", "--out", "{tmp}/e.xae", "--data-dir", "{tmp}/c"), "乡镇代码"),
])
def test_county_errors_are_one_chinese_line(capsys, tmp_path: Path, monkeypatch, args, message):
    monkeypatch.delenv(county_cli.ENV_HOME, raising=False)
    county_cli.main(["init", "--data-dir", str(tmp_path / "c")])
    capsys.readouterr()
    code, _, err = run_county(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert code == 1 and err.startswith("错误：") and message in err and err.count("\n") == 1


def test_county_init_twice_is_refused(capsys, tmp_path: Path):
    run_county(capsys, "init", "--data-dir", tmp_path)
    code, _, err = run_county(capsys, "init", "--data-dir", tmp_path)
    assert code == 1 and "已经初始化过" in err


def test_township_errors_are_one_chinese_line(capsys, tmp_path: Path, township_dir: Path):
    code, _, err = run_township(capsys, "bundle", "export", "--out", tmp_path / "usb", "--data-dir", township_dir)
    assert code == 1 and "尚未登记" in err and err.count("\n") == 1
    code, _, err = run_township(capsys, "enrol", tmp_path / "missing.xae", "--data-dir", township_dir)
    assert code == 1 and "不存在" in err
    bogus = tmp_path / "bogus.xae"
    bogus.write_text("{}", "utf-8")
    code, _, err = run_township(capsys, "enrol", bogus, "--data-dir", township_dir)
    assert code == 1 and "不是有效的登记文件" in err
    code, out, _ = run_township(capsys, "sync", "status", "--json", "--data-dir", township_dir)
    assert json.loads(out) == {**json.loads(out), "enrolled": False}


def test_entry_point_speaks_chinese():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "app.county_cli", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=60, check=False)
    assert done.returncode == 0 and "用法：xiangan-county" in done.stdout and "township" in done.stdout
    scripts = (ROOT / "pyproject.toml").read_text("utf-8")
    assert 'xiangan-county = "app.county_cli:main"' in scripts
