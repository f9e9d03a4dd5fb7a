"""The web pages' files on the server's disk: bundles being uploaded, and the return and enrolment files
staff download afterwards.

Each file handed out lives alone in a folder named by a random token (``<root>/<kind>/<token>/<name>``),
so a download link names nothing guessable and the original (Chinese) file name is kept for the browser.
Folders older than ``keep_days`` are removed whenever a new one is made.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

KINDS = ("returns", "enrolments")
TOKEN = re.compile(r"^[0-9a-f]{32}$")
KEEP_DAYS = 30
_UNSAFE = re.compile(r"[\x00-\x1f\\/:*?\"<>|]")


def safe_file_name(name: str, default: str) -> str:
    """The base name a browser sent, without folders or characters a file system refuses."""
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return base[:120] if base else default


class FileArea:
    def __init__(self, root: Path, keep_days: int = KEEP_DAYS) -> None:
        self.root = root
        self.keep_days = keep_days

    def new_folder(self, kind: str) -> tuple[str, Path]:
        """A fresh, empty folder for one file of ``kind``, and its token."""
        self._check_kind(kind)
        self._prune(kind)
        token = secrets.token_hex(16)
        folder = self.root / kind / token
        folder.mkdir(parents=True)
        return token, folder

    def incoming(self) -> Path:
        """A private folder for one upload in progress (beside the others: renames stay on one disk)."""
        folder = self.root / "incoming" / secrets.token_hex(16)
        folder.mkdir(parents=True)
        return folder

    def find(self, kind: str, token: str) -> Path | None:
        """The file behind a download link, or None (unknown kind or token, expired, removed)."""
        if kind not in KINDS or not TOKEN.match(token):
            return None
        folder = self.root / kind / token
        files = [p for p in folder.iterdir() if p.is_file()] if folder.is_dir() else []
        return files[0] if len(files) == 1 else None

    def discard(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def _prune(self, kind: str) -> None:
        """Old downloads go after ``keep_days``; an upload left behind by a crash after a day."""
        now = time.time()
        for parent, cutoff in ((self.root / kind, now - self.keep_days * 86400), (self.root / "incoming", now - 86400)):
            for folder in parent.iterdir() if parent.is_dir() else ():
                try:
                    if folder.is_dir() and folder.stat().st_mtime < cutoff:
                        shutil.rmtree(folder, ignore_errors=True)
                except OSError:
                    continue  # removed meanwhile by another request

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown file kind {kind!r}")
