"""PDF pages as images, for the in-app preview and for printing through the system's printer dialog.

Qt's own PDF module is not part of PySide6-Essentials; PDFium (the engine of Chrome's PDF viewer,
via pypdfium2) renders what reportlab wrote exactly as a PDF reader would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from app.errors import XiangAnError


def page_count(path: Path) -> int:
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except (pypdfium2.PdfiumError, OSError) as exc:
        raise XiangAnError(f"无法打开PDF文件「{path.name}」：{exc}") from None
    try:
        return len(document)
    finally:
        document.close()


def page_images(path: Path, dpi: float) -> Iterator[Image.Image]:
    """Each page rendered at ``dpi``, in order (one page in memory at a time)."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(path))
    except (pypdfium2.PdfiumError, OSError) as exc:
        raise XiangAnError(f"无法打开PDF文件「{path.name}」：{exc}") from None
    try:
        for index in range(len(document)):
            page = document[index]
            try:
                yield page.render(scale=dpi / 72).to_pil().convert("RGB")
            finally:
                page.close()
    finally:
        document.close()
