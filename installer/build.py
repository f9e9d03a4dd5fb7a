"""Build the release: icons → PyInstaller onedir bundle → (Linux) a .deb. Used by ``make package``,
by ``tests/test_package.py`` and by the Windows workflow (which then runs Inno Setup).

    python installer/build.py [--dist DIR] [--work DIR] [--no-deb]

Writes ``DIST/xiangan/`` (the bundle) and, on Linux, ``DIST/xiangan_<version>_<arch>.deb``, and prints
the sizes and the oldest glibc the bundle runs on (the highest GLIBC_x.y symbol version any of its
ELF files asks for).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "installer"
sys.path.insert(0, str(ROOT))

from app import APP_NAME, __version__  # noqa: E402
from installer.trim_icu import trim_icu_data  # noqa: E402

PACKAGE = "xiangan"
INSTALL_DIR = "/opt/xiangan"
MAINTAINER = "乡安项目组 <xiangan@localhost>"

# Shared libraries the bundle links to but does not carry (the C library, OpenGL, and what the spec's
# SYSTEM_PROVIDED leaves to the desktop), and the Debian package that provides each; "a | b" where
# Debian 13 / Ubuntu 24.04 renamed the package in the 64-bit time_t transition. build_deb() fails on
# any other outside library, so the .deb's Depends cannot silently fall behind the bundle.
SYSTEM_LIBRARIES = {
    "libc.so.6": "libc6", "libm.so.6": "libc6", "libdl.so.2": "libc6", "libpthread.so.0": "libc6",
    "librt.so.1": "libc6", "libutil.so.1": "libc6",
    "ld-linux-x86-64.so.2": "libc6", "ld-linux-aarch64.so.1": "libc6",
    "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libOpenGL.so.0": "libopengl0", "libGLX.so.0": "libglx0",
    "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1", "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6", "libXext.so.6": "libxext6", "libXrender.so.1": "libxrender1",
    "libxcb.so.1": "libxcb1", "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libwayland-client.so.0": "libwayland-client0", "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libdbus-1.so.3": "libdbus-1-3", "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0 | libglib2.0-0t64", "libgthread-2.0.so.0": "libglib2.0-0 | libglib2.0-0t64",
    "libgobject-2.0.so.0": "libglib2.0-0 | libglib2.0-0t64", "libgio-2.0.so.0": "libglib2.0-0 | libglib2.0-0t64",
    "libgmodule-2.0.so.0": "libglib2.0-0 | libglib2.0-0t64",
    "libpng16.so.16": "libpng16-16 | libpng16-16t64", "libz.so.1": "zlib1g", "libbz2.so.1.0": "libbz2-1.0",
    "liblzma.so.5": "liblzma5", "libexpat.so.1": "libexpat1", "libzstd.so.1": "libzstd1",
    "libbrotlicommon.so.1": "libbrotli1", "libbrotlidec.so.1": "libbrotli1",
    "libcups.so.2": "libcups2 | libcups2t64",
}
# Needed at run time although nothing links to them: the X keyboard data libxkbcommon reads.
RUNTIME_PACKAGES = ("xkb-data",)


def run(*cmd: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)


def elf_files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def glibc_floor(folder: Path) -> str:
    """The highest GLIBC_x.y version any ELF file in ``folder`` needs: the oldest glibc it runs on."""
    versions = set()
    for path in elf_files(folder):
        out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True, check=False).stdout
        versions.update(re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", out))
    return max(versions, key=lambda v: tuple(int(n) for n in v.split("."))) if versions else ""


def needed_outside(folder: Path) -> set[str]:
    """Sonames the bundle's ELF files link to (DT_NEEDED) that the bundle does not contain."""
    inside = {p.name for p in folder.rglob("*") if p.is_file() or p.is_symlink()}
    needed = set()
    for path in elf_files(folder):
        out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=False).stdout
        needed.update(re.findall(r"^\s*NEEDED\s+(\S+)", out, re.MULTILINE))
    return needed - inside


def depends(bundle: Path, floor: str) -> list[str]:
    outside = needed_outside(bundle)
    unknown = sorted(outside - SYSTEM_LIBRARIES.keys())
    if unknown:
        raise SystemExit(f"the bundle links to libraries neither bundled nor in SYSTEM_LIBRARIES: {unknown}")
    packages = {SYSTEM_LIBRARIES[name] for name in outside} | set(RUNTIME_PACKAGES)
    return sorted(f"libc6 (>= {floor})" if p == "libc6" else p for p in packages)


def render_icons(out: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run(sys.executable, INSTALLER / "render_icons.py", out, env=env, stdout=subprocess.DEVNULL)


def build_bundle(dist: Path, work: Path, icons: Path) -> Path:
    env = {**os.environ, "XIANGAN_ICON_DIR": str(icons)}
    run(sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
        "--distpath", dist, "--workpath", work / "pyinstaller", INSTALLER / "xiangan.spec", env=env, cwd=ROOT)
    return dist / PACKAGE


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def build_deb(bundle: Path, icons: Path, dist: Path, work: Path) -> Path:
    """/opt/xiangan (the bundle), /usr/bin/xiangan, a menu entry and icons; owned by root."""
    arch = run("dpkg", "--print-architecture", capture_output=True).stdout.strip()
    floor = glibc_floor(bundle)
    root = work / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    opt = root / INSTALL_DIR.lstrip("/")
    shutil.copytree(bundle, opt, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/xiangan").symlink_to(f"{INSTALL_DIR}/xiangan")
    applications = root / "usr/share/applications"
    applications.mkdir(parents=True)
    shutil.copy(INSTALLER / "linux" / "xiangan.desktop", applications / "xiangan.desktop")
    for png in sorted(icons.glob("xiangan-*.png")):
        size = png.stem.split("-")[1]
        target = root / f"usr/share/icons/hicolor/{size}x{size}/apps/xiangan.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(png, target)
    doc = root / "usr/share/doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        f"{APP_NAME} (XiangAn) {__version__}\n\n"
        "Bundled font: WenQuanYi Micro Hei, Apache-2.0 / GPL-3+ with font exception; licence text in\n"
        f"{INSTALL_DIR}/_internal/resources/fonts/wqy-microhei.LICENSE.txt\n"
        "Bundled Qt for Python (PySide6) and Qt: LGPL-3.0.\n",
        encoding="utf-8",
    )
    for path in root.rglob("*"):  # dpkg keeps modes: directories 755, files 644 unless executable
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(0o755 if path.is_dir() or mode & 0o111 else 0o644)
    control = root / "DEBIAN"
    control.mkdir()
    installed_kb = (folder_size(root) + 1023) // 1024
    (control / "control").write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {__version__}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kb}\n"
        f"Depends: {', '.join(depends(bundle, floor))}\n"
        "Section: misc\n"
        "Priority: optional\n"
        "Description: 乡安 — 乡镇（街道）应急管理工作台\n"
        " Offline desktop application for township emergency-management offices:\n"
        " organisation registers, hazard ledgers, safety-responsibility documents and\n"
        " synchronisation with the county. Data lives in ~/.local/share/XiangAn and is\n"
        " kept when the package is upgraded or removed.\n",
        encoding="utf-8",
    )
    deb = dist / f"{PACKAGE}_{__version__}_{arch}.deb"
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb, stdout=subprocess.DEVNULL)
    return deb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build")
    parser.add_argument("--no-deb", action="store_true", help="only the bundle (always so on Windows)")
    args = parser.parse_args()
    dist, work = args.dist.resolve(), args.work.resolve()
    started = time.perf_counter()
    icons = work / "icons"
    render_icons(icons)
    bundle = build_bundle(dist, work, icons)
    if sys.platform.startswith("linux"):
        print(f"ICU data trimmed to zh/en: {trim_icu_data(bundle) / 2**20:.1f} MiB saved")
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.1f} MiB)")
    if sys.platform.startswith("linux"):
        print(f"oldest glibc: {glibc_floor(bundle)}")
        if not args.no_deb:
            deb = build_deb(bundle, icons, dist, work)
            print(f"deb: {deb} ({deb.stat().st_size / 2**20:.1f} MiB)")
    print(f"built in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
