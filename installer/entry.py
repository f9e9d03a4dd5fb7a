"""Entry script of the frozen app (PyInstaller): the same command line as ``python -m app``.

Only what a frozen build needs differently lives here; everything else is in ``app.cli``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _frozen_environment() -> None:
    # A windowed Windows executable has no console: sys.stdout/stderr are None, and a print()
    # (``--version``, a one-line error) would raise. Send them nowhere instead.
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
            continue
        # Output redirected to a file or pipe on a non-Chinese Windows (code page 1252) cannot hold
        # Chinese: print() would fail mid-way. Such output is written as UTF-8 instead.
        try:
            "乡安".encode(stream.encoding or "ascii")
        except (UnicodeEncodeError, LookupError):
            stream.reconfigure(encoding="utf-8")
    # Chinese input on Linux. The Qt wheel ships only the ibus and compose input-method plugins,
    # not fcitx's (it must be built against this exact Qt). 统信UOS and 银河麒麟 run fcitx and set
    # QT_IM_MODULE=fcitx; Qt would then fall back to "compose" and no Chinese could be typed.
    # fcitx5 also answers the ibus protocol, so ask for that instead (fcitx 4 cannot; see README).
    if sys.platform.startswith("linux") and os.environ.get("QT_IM_MODULE", "").startswith("fcitx"):
        plugins = Path(getattr(sys, "_MEIPASS", "")) / "PySide6" / "Qt" / "plugins" / "platforminputcontexts"
        if not any(plugins.glob("*fcitx*")):
            os.environ["QT_IM_MODULE"] = "ibus"


if getattr(sys, "frozen", False):
    _frozen_environment()

from app.cli import main  # noqa: E402

raise SystemExit(main())
