"""Start-up cost of the app against a bare PySide6 window, measured in the same run.

    python bench/startup.py [--runs N]

Runs ``xiangan gui --self-test`` on a demo township (database migrated and opened, main window
built, every area shown and painted) and a bare QMainWindow shown the same way, alternating so
both see the same machine state. Prints the median and best of each and the ratio of medians.
Target (issue 2): ratio ≤ 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_WINDOW = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication(sys.argv[:1])\n"
    "w = QMainWindow(); w.resize(1280, 800); w.show(); app.processEvents(); w.grab()\n"
)


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = str(root)
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([sys.executable, "-m", "app", "demo", "--data-dir", data], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        app_cmd = [sys.executable, "-m", "app", "gui", "--self-test", "--data-dir", data]
        bare_cmd = [sys.executable, "-c", BARE_WINDOW]
        timed(app_cmd, env)  # warm the OS file cache and .pyc files once for both
        timed(bare_cmd, env)
        app_times, bare_times = [], []
        for _ in range(args.runs):
            app_times.append(timed(app_cmd, env))
            bare_times.append(timed(bare_cmd, env))
    app_median, bare_median = statistics.median(app_times), statistics.median(bare_times)
    print(f"bare PySide6 window : median {bare_median:.3f} s, best {min(bare_times):.3f} s ({args.runs} runs)")
    print(f"xiangan self-test   : median {app_median:.3f} s, best {min(app_times):.3f} s ({args.runs} runs)")
    print(f"ratio (median)      : {app_median / bare_median:.2f}x  (target ≤ 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
