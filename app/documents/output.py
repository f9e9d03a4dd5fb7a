"""Saving documents the user asked for (PDF, Excel) without ever leaving a half-written file."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from app.errors import XiangAnError


def save_atomically(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Let ``write`` fill a temporary file beside ``path``, flush it to disk, and rename it into place.

    Failures become one Chinese sentence (XiangAnError): the target open in Excel or a PDF reader
    (Windows refuses to replace it), no permission, no such folder, a read-only or full disk.
    """
    path = Path(path)
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    except FileNotFoundError:
        raise XiangAnError(f"文件夹「{path.parent}」不存在，无法保存「{path.name}」") from None
    except PermissionError:
        raise XiangAnError(f"没有权限在文件夹「{path.parent}」中保存文件，请换一个位置") from None
    except OSError as exc:
        raise _failure(path, exc) from None
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        with open(temp, "rb+") as fh:
            os.fsync(fh.fileno())
        with suppress(OSError):
            temp.chmod(0o644)  # mkstemp makes it private; a saved document is an ordinary file
        os.replace(temp, path)
    except PermissionError:
        raise XiangAnError(f"文件「{path.name}」正被其他程序打开，请关闭后重试") from None
    except IsADirectoryError:
        raise XiangAnError(f"「{path.name}」是一个文件夹，请换一个文件名") from None
    except OSError as exc:
        raise _failure(path, exc) from None
    finally:
        with suppress(OSError):
            temp.unlink(missing_ok=True)
    return path


def _failure(path: Path, exc: OSError) -> XiangAnError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        reason = "磁盘空间不足，请清理磁盘或换一个位置后重试"
    elif exc.errno == errno.EROFS:
        reason = "该位置是只读的，请换一个位置"
    else:
        reason = exc.strerror or str(exc)
    return XiangAnError(f"文件「{path.name}」无法保存：{reason}")
