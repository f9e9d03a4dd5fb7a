"""The release as a county IT officer gets it: the PyInstaller bundle and the .deb, run on a "fresh PC".

``make package-test`` (run by ``.ci/run``) builds both into a scratch folder with ``installer/build.py``
(about a minute), then runs them outside the source tree with a bare environment: no virtual
environment, no PYTHONPATH, PATH=/usr/bin:/bin, a new HOME. Skipped by plain ``make test``.
``XIANGAN_PACKAGE_DIST=dist`` tests what ``make package`` already built instead of building again.
"""

from __future__ import annotations

import configparser
import ctypes
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import __version__
from app.paths import database_path
from app.services.accounts import AccountService
from app.services.demo import generate_demo
from app.storage import migrate, open_database
from app.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
MAX_BUNDLE_MIB = 150
PREVIOUS_RELEASE_SCHEMA = "0001"  # the schema 0.1.0 shipped with; data made there must open in this build
COUNTED_TABLES = ("township", "village", "enterprise", "township_unit", "contact", "user_account")
UNWANTED = re.compile(
    r"QtWebEngine|Qt6Qml|Qt6Quick|Qt6Pdf|Qt6Network|Qt6Multimedia|Qt63D|Qt6VirtualKeyboard|libqgtk3|libqpdf"
    r"|tkinter|(^|/)tests?/|pytest|hypothesis|importlinter|(^|/)pip/|setuptools"
    r"|fastapi|starlette|uvicorn|psycopg|playwright|schemathesis|(^|/)app/server/",
    re.IGNORECASE,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("XIANGAN_PACKAGE_TEST") != "1",
                       reason="builds the installers (about a minute): run `make package-test`"),
]


def _load_build_script():
    spec = importlib.util.spec_from_file_location("xiangan_build", ROOT / "installer" / "build.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


build = _load_build_script()


@dataclass(frozen=True)
class Release:
    bundle: Path
    deb: Path


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    dist = tmp_path_factory.mktemp("dist")
    prebuilt = os.environ.get("XIANGAN_PACKAGE_DIST")
    if prebuilt:  # copied out of the source tree, like a download
        shutil.copytree(Path(prebuilt) / "xiangan", dist / "xiangan", symlinks=True)
        for deb in Path(prebuilt).glob("xiangan_*.deb"):
            shutil.copy(deb, dist)
    else:
        done = subprocess.run(
            [sys.executable, str(ROOT / "installer" / "build.py"), "--dist", str(dist),
             "--work", str(tmp_path_factory.mktemp("work"))],
            capture_output=True, text=True, timeout=900, check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
        print(done.stdout)
    debs = sorted(dist.glob(f"xiangan_{__version__}_*.deb"))
    assert debs, f"no .deb in {dist}"
    return Release(dist / "xiangan", debs[-1])


def bare_env(home: Path) -> dict[str, str]:
    """What a fresh office PC gives a program: no Python anywhere, no project paths."""
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen",
            "XDG_RUNTIME_DIR": str(runtime)}


def xiangan(executable: Path, *args: str | Path, home: Path, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(executable), *map(str, args)], cwd=home, env={**bare_env(home), **(env or {})},
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout, check=False)


def poppler(tool: str, *args: str | Path) -> str:
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, encoding="utf-8",
                          check=True).stdout


def assert_pdf_fonts_embedded(pdf: Path) -> None:
    rows = [line.split() for line in poppler("pdffonts", pdf).splitlines()[2:]]
    assert rows and all(row[-5] == "yes" for row in rows), rows
    assert any("WenQuanYiMicroHei" in row[0] for row in rows), rows


def smoke(executable: Path, home: Path) -> None:
    """--version, demo, the GUI self-test offscreen, one PDF, and the data folder in the user's home."""
    home.mkdir(parents=True, exist_ok=True)
    data = home / "data"
    version = xiangan(executable, "--version", home=home)
    assert version.returncode == 0, version.stderr
    build_info = r"([0-9a-f]{7,}(-dirty)?|no-git), \d{4}-\d\d-\d\d, linux-[a-z0-9_]+"  # never "source"
    assert re.fullmatch(rf"xiangan {re.escape(__version__)} \({build_info}\)\n", version.stdout), version.stdout

    demo = xiangan(executable, "demo", "--data-dir", data, home=home)
    assert demo.returncode == 0, demo.stderr
    assert "已生成演示乡镇" in demo.stdout

    selftest = xiangan(executable, "gui", "--self-test", "--check-printing", "--data-dir", data, home=home)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "自检通过" in selftest.stdout

    pdf = home / "基本情况表.pdf"
    report = xiangan(executable, "report", "roster", "--out", pdf, "--data-dir", data, home=home)
    assert report.returncode == 0, report.stderr
    assert_pdf_fonts_embedded(pdf)
    assert "村（社区）基本情况表" in poppler("pdftotext", pdf, "-")
    assert "(A4)" in poppler("pdfinfo", pdf)

    check = xiangan(executable, "check", "--json", "--data-dir", data, home=home)
    assert check.returncode == 0, check.stderr
    report_json = json.loads(check.stdout)
    assert report_json["integrity"] == "ok"
    assert report_json["schema_revision"] == migrate.head_revision()

    default = json.loads(xiangan(executable, "check", "--json", home=home).stdout)
    assert default["data_dir"] == str(home / ".local" / "share" / "XiangAn")  # not beside the program


def test_bundle_has_what_it_needs_and_nothing_else(release: Release):
    internal = release.bundle / "_internal"
    size_mib = build.folder_size(release.bundle) / 2**20
    print(f"\nbundle {size_mib:.1f} MiB, .deb {release.deb.stat().st_size / 2**20:.1f} MiB")
    assert size_mib <= MAX_BUNDLE_MIB
    for resource in ("fonts/wqy-microhei.ttc", "fonts/wqy-microhei.LICENSE.txt", "icons/app.svg",
                     "config/sector_codes.json"):
        assert (internal / "resources" / resource).is_file(), resource
    shipped = sorted(p.name for p in (internal / "app/storage/migrations/versions").glob("*.py"))
    source = sorted(p.name for p in migrate.VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert shipped == source
    assert (internal / "app/storage/migrations/env.py").is_file()
    for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so", "imageformats/libqsvg.so",
                   "iconengines/libqsvgicon.so", "platforminputcontexts/libibusplatforminputcontextplugin.so"):
        assert (internal / "PySide6/Qt/plugins" / plugin).exists(), plugin
    unwanted = [str(p.relative_to(release.bundle)) for p in release.bundle.rglob("*")
                if UNWANTED.search(p.relative_to(release.bundle).as_posix())]
    assert not unwanted
    assert not (ROOT / "app" / "_build_info.py").exists(), "the build left its generated file in the source tree"


def test_trimmed_icu_data_still_sorts_chinese_by_pinyin(release: Release):
    """installer/trim_icu.py keeps only zh/en locale data; ICU's own collator must still find zh."""
    (i18n,) = (p for p in release.bundle.rglob("libicui18n.so.*") if not p.is_symlink())
    (data,) = (p for p in release.bundle.rglob("libicudata.so.*") if not p.is_symlink())
    assert data.stat().st_size < 20 * 2**20
    suffix = i18n.name.rsplit(".", 1)[-1]
    icu = ctypes.CDLL(str(i18n))  # finds the bundle's libicudata through its $ORIGIN run path
    status = ctypes.c_int(0)
    open_collator = getattr(icu, f"ucol_open_{suffix}")
    open_collator.restype = ctypes.c_void_p
    collator = open_collator(b"zh_CN", ctypes.byref(status))
    assert collator and status.value <= 0, status.value  # <= 0: success or a fallback warning
    compare = getattr(icu, f"ucol_strcoll_{suffix}")
    compare.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    first, second = ("阿".encode("utf-16-le"), "张".encode("utf-16-le"))  # ICU strings are UTF-16
    # 阿 (a) sorts before 张 (zhang) in pinyin order; code-point (root) order has it the other way round.
    assert compare(collator, first, len(first) // 2, second, len(second) // 2) == -1
    getattr(icu, f"ucol_close_{suffix}")(ctypes.c_void_p(collator))


def test_every_library_resolves_in_the_bundle_or_is_a_declared_dependency(release: Release):
    """ldd as the bootloader sees it (it puts _internal first on the library path)."""
    internal = release.bundle / "_internal"
    env = {**os.environ, "LD_LIBRARY_PATH": str(internal)}
    missing: dict[str, set[str]] = {}
    for elf in build.elf_files(release.bundle):
        out = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, env=env, check=False).stdout
        for name, target in re.findall(r"^\s*(\S+) => (.+?)(?: \(0x[0-9a-f]+\))?$", out, re.MULTILINE):
            if target == "not found":
                missing.setdefault(name, set()).add(elf.name)
            elif "libQt6" in name:
                assert Path(target).resolve().is_relative_to(release.bundle.resolve()), (elf, name, target)
    undeclared = {name: files for name, files in missing.items() if name not in build.SYSTEM_LIBRARIES}
    assert not undeclared, undeclared


def test_glibc_floor_is_declared_and_documented(release: Release):
    floor = build.glibc_floor(release.bundle)
    print(f"\noldest glibc the bundle runs on: {floor}")
    depends = deb_field(release.deb, "Depends")
    assert f"libc6 (>= {floor})" in depends
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"glibc {floor}" in readme, f"README's install section should state the glibc floor ({floor})"


def deb_field(deb: Path, field: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True).stdout.strip()


def test_bundle_runs_outside_the_source_tree(release: Release, tmp_path: Path):
    smoke(release.bundle / "xiangan", tmp_path / "home")


def county(*args: str | Path) -> str:
    """The county tool from the source tree (the county server is not part of the desktop bundle)."""
    done = subprocess.run([sys.executable, "-m", "app.county_cli", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_bundle_syncs_with_the_county_over_https(release: Release, tmp_path: Path):
    """The frozen app has what HTTPS needs (ssl, OpenSSL, httpx): enrol, then one sync round against a
    county server with its own self-signed certificate, trusted through SSL_CERT_FILE."""
    from tests.server.conftest import LiveCounty, free_port, self_signed_certificate

    port, home = free_port(), tmp_path / "home"
    county_dir, enrolment = tmp_path / "county", tmp_path / "青山镇.xae"
    county("init", "--data-dir", county_dir, "--name", "安远县应急管理局", "--server", f"https://localhost:{port}")
    county("township", "add", "--data-dir", county_dir, "--code", "360726100", "--name", "青山镇", "--out", enrolment)
    live = LiveCounty(county_dir, port, tls=self_signed_certificate(tmp_path / "tls")).start()
    try:
        exe = release.bundle / "xiangan"
        enrolled = xiangan(exe, "enrol", enrolment, "--data-dir", home / "data", home=home)
        assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
        synced = xiangan(exe, "sync", "--json", "--data-dir", home / "data", home=home,
                         env={"SSL_CERT_FILE": str(live.tls[0])})
        assert synced.returncode == 0, synced.stdout + synced.stderr
        report = json.loads(synced.stdout)
        assert report["ok"] and report["uploaded"] >= 1 and report["acknowledged_to"] >= 1, report
        assert "青山镇" in county("status", "--data-dir", county_dir)
    finally:
        live.stop()


def test_deb_installs_a_launcher_and_runs_from_opt(release: Release, tmp_path: Path):
    assert deb_field(release.deb, "Package") == "xiangan"
    assert deb_field(release.deb, "Version") == __version__
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    assert deb_field(release.deb, "Architecture") == arch
    depends = deb_field(release.deb, "Depends")
    for package in ("libgl1", "libegl1", "libxcb1", "libxcb-icccm4", "libxcb-keysyms1", "libfontconfig1"):
        assert package in depends, package
    listing = subprocess.run(["dpkg-deb", "--contents", str(release.deb)], capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert all(" root/root " in line for line in listing), [line for line in listing if " root/root " not in line][:3]

    root = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(release.deb), str(root)], check=True)
    assert os.readlink(root / "usr/bin/xiangan") == "/opt/xiangan/xiangan"
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # keys are case-sensitive
    desktop.read(root / "usr/share/applications/xiangan.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Name"] == "乡安" and entry["Name[zh_CN]"] == "乡安"
    assert entry["GenericName"] == "乡镇应急管理工作台"
    assert "Office" in entry["Categories"].split(";")
    assert entry["Icon"] == "xiangan" and entry["Type"] == "Application"
    assert (root / entry["Exec"].split()[0].lstrip("/")).is_file()
    png = (root / "usr/share/icons/hicolor/256x256/apps/xiangan.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (256, 256)
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(root / "usr/share/applications/xiangan.desktop")], check=True)

    installed = root / "opt/xiangan/xiangan"
    smoke(installed, tmp_path / "home")
    # /usr/bin/xiangan is a symlink: the program must find _internal/ through it
    launcher = tmp_path / "bin" / "xiangan"
    launcher.parent.mkdir()
    launcher.symlink_to(installed)
    assert xiangan(launcher, "--version", home=tmp_path / "home").returncode == 0


def _counts(db_file: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED_TABLES}
    finally:
        conn.close()


def database_at_previous_schema(folder: Path, scratch: Path) -> Path:
    """A township's data in a database at PREVIOUS_RELEASE_SCHEMA, as that release would have left it.

    There is no older build to run, so today's code writes a demo township (and an account) at the
    head schema, and the rows of every table the old schema had are copied into a database migrated
    only to PREVIOUS_RELEASE_SCHEMA, column by column (tables added since are left behind, as the old
    release never had them). When a migration drops or renames a column of an old table, this fails
    loudly: then keep a database file saved from the previous release instead."""
    head = database_path(scratch)
    db = open_database(scratch)
    generate_demo(db)
    AccountService(db).create_first_admin("zhangwei", "Qingshan#2026", "张伟")
    db.dispose()
    old = database_path(folder)
    migrate.upgrade(old, PREVIOUS_RELEASE_SCHEMA)
    conn = sqlite3.connect(old)
    try:
        conn.execute("ATTACH DATABASE ? AS head", (str(head),))
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version'")]
        conn.execute("PRAGMA foreign_keys = OFF")
        with conn:
            for table in tables:
                columns = [r[1] for r in conn.execute(f"PRAGMA main.table_info('{table}')")]
                quoted = ", ".join(f'"{c}"' for c in columns)
                conn.execute(f'INSERT INTO main."{table}" ({quoted}) SELECT {quoted} FROM head."{table}"')
        conn.execute("DETACH DATABASE head")
    finally:
        conn.close()
    return old


def test_data_from_the_previous_release_opens_after_a_backed_up_migration(release: Release, tmp_path: Path):
    """Data at the previous release's schema opens in the new build: backed up, migrated, intact."""
    home = tmp_path / "home"
    data = home / "data"
    data.mkdir(parents=True)
    db_file = database_at_previous_schema(data, tmp_path / "head")
    assert migrate.current_revision(db_file) == PREVIOUS_RELEASE_SCHEMA
    before = _counts(db_file)
    conn = sqlite3.connect(db_file)
    villages_before = {row[0] for row in conn.execute("SELECT name FROM village")}
    conn.close()
    exe = release.bundle / "xiangan"

    check = json.loads(xiangan(exe, "check", "--json", "--data-dir", data, home=home).stdout)
    assert check["schema_revision"] == PREVIOUS_RELEASE_SCHEMA
    assert check["migration_needed"] == (migrate.head_revision() != PREVIOUS_RELEASE_SCHEMA)

    selftest = xiangan(exe, "gui", "--self-test", "--check-printing", "--data-dir", data, home=home)  # the first open migrates
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr

    demo = xiangan(exe, "demo", "--data-dir", data, home=home)  # refuses politely: a township exists
    assert demo.returncode == 1 and demo.stderr.startswith("错误：") and "Traceback" not in demo.stderr

    after = json.loads(xiangan(exe, "check", "--json", "--data-dir", data, home=home).stdout)
    assert after["integrity"] == "ok" and after["schema_revision"] == migrate.head_revision()
    assert _counts(db_file) == before
    db = Database(db_file)
    assert AccountService(db).authenticate("zhangwei", "Qingshan#2026").username == "zhangwei"  # hash intact
    db.dispose()
    pdf = home / "roster.pdf"
    assert xiangan(exe, "report", "roster", "--out", pdf, "--data-dir", data, home=home).returncode == 0
    text = poppler("pdftotext", pdf, "-")
    assert all(name in text for name in villages_before)

    premigrate = sorted((data / "backups").glob("*-premigrate.sqlite3"))
    if migrate.head_revision() != PREVIOUS_RELEASE_SCHEMA:  # nothing to migrate while the head is 0001
        assert len(premigrate) == 1, sorted(p.name for p in (data / "backups").iterdir())
        assert migrate.current_revision(premigrate[0]) == PREVIOUS_RELEASE_SCHEMA
        assert _counts(premigrate[0]) == before
    else:
        assert not premigrate
