"""Architecture: everything below the UI imports without Qt, and the import-linter contracts hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Alembic's env.py only runs inside a migration (it reads the connection from alembic's context).
_IMPORT_EVERYTHING = r"""
import importlib, pkgutil, sys

SKIP = {"app.storage.migrations.env"}
imported = []
for name in ("app.errors", "app.paths", "app.models", "app.storage", "app.services", "app.documents"):
    try:
        package = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if name == "app.documents" and exc.name == "app.documents":
            continue  # not written yet
        raise
    imported.append(name)
    for info in pkgutil.walk_packages(getattr(package, "__path__", []), prefix=name + "."):
        if info.name in SKIP:
            continue
        importlib.import_module(info.name)
        imported.append(info.name)

qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6") or m.startswith("app.ui"))
print("IMPORTED", len(imported), " ".join(imported))
print("QT", " ".join(qt))
assert not qt, f"imported without the UI, these Qt/UI modules were loaded: {qt}"
"""


@pytest.mark.slow
def test_core_packages_import_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    imported = next(line for line in result.stdout.splitlines() if line.startswith("IMPORTED")).split()[2:]
    # the walk really reached the modules, not just the package roots
    for module in ("app.models.tracking", "app.models.validation", "app.storage.startup", "app.storage.backup",
                   "app.services.registers", "app.services.accounts", "app.services.dashboard"):
        assert module in imported
    assert "PySide6" not in result.stdout.split("QT", 1)[1]


def test_layering_check_itself_would_notice_qt() -> None:
    """The subprocess check fails when a core module pulls in Qt (guards against a vacuous test)."""
    script = "import PySide6\n" + _IMPORT_EVERYTHING
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "PySide6" in result.stderr


@pytest.mark.slow
def test_import_linter_contracts() -> None:
    exe = ROOT / ".venv" / "bin" / "lint-imports"
    if not exe.exists():
        exe = Path(sys.executable).parent / "lint-imports"
    if not exe.exists():
        pytest.skip("import-linter (lint-imports) is not installed")
    result = subprocess.run(
        [str(exe), "--config", "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


_GUI_START_PATH = r"""
import sys
import app.services
import app.ui.application
from app.ui.main_window import MainWindow
heavy = ("openpyxl", "xlrd", "reportlab", "alembic", "app.services.demo", "app.services.hazard_excel",
         "app.services.imports", "app.documents")
print("LOADED", " ".join(sorted(m for m in heavy if m in sys.modules)))
"""


@pytest.mark.slow
def test_gui_start_path_keeps_heavy_modules_lazy() -> None:
    """What the GUI imports before the window shows: spreadsheet, PDF, migration and demo code load on
    first use only (bench/startup.py measures the cold start this protects)."""
    result = subprocess.run([sys.executable, "-c", _GUI_START_PATH], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "LOADED", result.stdout
