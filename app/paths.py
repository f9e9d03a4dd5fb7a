"""Where the data folder and the bundled resources are, for source checkouts and frozen builds."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

from app import APP_ID

ENV_HOME = "XIANGAN_HOME"
DB_FILE_NAME = "xiangan.sqlite3"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``--data-dir``, else ``$XIANGAN_HOME``, else the per-user folder of the OS.

    The data folder is deliberately separate from the install folder so that upgrades keep the data.
    """
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP_ID, appauthor=False, roaming=False))


def database_path(folder: Path) -> Path:
    return folder / DB_FILE_NAME


def backups_dir(folder: Path) -> Path:
    return folder / "backups"


def resources_dir() -> Path:
    """``resources/`` beside the package in a checkout, or inside the PyInstaller bundle when frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
