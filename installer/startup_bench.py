"""Start-up of the frozen bundle against ``python -m app``, measured in the same run (bench/startup.py style).

    .venv/bin/python installer/startup_bench.py [--bundle dist/xiangan] [--runs N]

Each round runs, alternating so all see the same machine state: ``--version`` (interpreter and
bootloader only) and ``gui --self-test`` on a demo township (database opened, main window built,
every area shown and painted), once from the bundle and once from source. By default the OS file
cache is warm (one untimed run of each first): a new process's start. ``--cold`` instead evicts the
program's own files from the page cache before every run (posix_fadvise DONTNEED on the bundle, or on
the interpreter, the virtual environment and the sources), as on the first start after a reboot;
system libraries both share (libc, X11, OpenGL) stay cached.
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

ROOT = Path(__file__).resolve().parent.parent


def evict(folders: list[Path]) -> None:
    """Drop these files' pages from the OS cache (only theirs: nothing system-wide)."""
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else [folder]:
            if path.is_file() and not path.is_symlink():
                try:
                    fd = os.open(path, os.O_RDONLY)
                except OSError:
                    continue
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def timed(cmd: list[str], env: dict[str, str], cwd: str, cold: list[Path] | None = None) -> float:
    if cold:
        evict(cold)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "xiangan")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="evict the program's files before each run")
    args = parser.parse_args()
    frozen = str(args.bundle.resolve() / "xiangan")
    real_python = Path(sys.executable).resolve()
    files = {
        "frozen": [args.bundle.resolve()],
        "source": [ROOT / "app", ROOT / "resources", Path(sys.prefix), real_python.parent.parent / "lib"],
    }
    with tempfile.TemporaryDirectory() as home:
        bare = {"HOME": home, "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "QT_QPA_PLATFORM": "offscreen"}
        source = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
        data = str(Path(home) / "data")
        subprocess.run([frozen, "demo", "--data-dir", data], env=bare, check=True, stdout=subprocess.DEVNULL)
        cases = {
            "frozen --version": ([frozen, "--version"], bare),
            "source --version": ([sys.executable, "-m", "app", "--version"], source),
            "frozen gui --self-test": ([frozen, "gui", "--self-test", "--data-dir", data], bare),
            "source gui --self-test": ([sys.executable, "-m", "app", "gui", "--self-test", "--data-dir", data], source),
        }
        for cmd, env in cases.values():  # warm the file cache and .pyc files
            timed(cmd, env, home)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (cmd, env) in cases.items():
                cold = files[name.split()[0]] if args.cold else None
                times[name].append(timed(cmd, env, home, cold))
    for name, values in times.items():
        print(f"{name:24}: median {statistics.median(values):.3f} s, best {min(values):.3f} s ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
