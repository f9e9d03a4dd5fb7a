"""The bundled Chinese font as a web font, for browsers on PCs that have no Chinese font of their own.

Browsers refuse the bundled ``wqy-microhei.ttc`` as it is: it is a font collection whose tables are not
4-byte aligned, and Chrome's font sanitizer rejects misaligned tables. Its first face, copied table by
table into a plain TrueType file with aligned tables (the table bytes and their checksums unchanged), is
accepted everywhere. Made once and kept beside the server's other files.
"""

from __future__ import annotations

import secrets
import struct
from pathlib import Path

from app.paths import resource

SOURCE = ("fonts", "wqy-microhei.ttc")
WEB_FONT = "wqy-microhei.ttf"


def first_face(collection: bytes) -> bytes:
    """Face 0 of a TrueType collection as a standalone .ttf with every table 4-byte aligned."""
    if collection[:4] != b"ttcf":
        raise ValueError("not a TrueType collection")
    (offset,) = struct.unpack_from(">I", collection, 12)
    version, count = struct.unpack_from(">IH", collection, offset)
    records = sorted(struct.unpack_from(">4sIII", collection, offset + 12 + 16 * i) for i in range(count))
    position = 12 + 16 * count
    directory, bodies = [], []
    for tag, checksum, start, length in records:
        directory.append(struct.pack(">4sIII", tag, checksum, position, length))
        padded = collection[start:start + length] + b"\0" * (-length % 4)
        bodies.append(padded)
        position += len(padded)
    power = 1 << (count.bit_length() - 1)  # largest power of two <= count, for the binary-search fields
    header = struct.pack(">IHHHH", version, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    return header + b"".join(directory) + b"".join(bodies)


def web_font(folder: Path) -> Path | None:
    """The web font file (made on first use), or None when the bundled font is not installed."""
    target = folder / WEB_FONT
    if target.is_file():
        return target
    source = resource(*SOURCE)
    if not source.is_file():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{secrets.token_hex(4)}.tmp")  # two first requests at once
    tmp.write_bytes(first_face(source.read_bytes()))
    tmp.replace(target)
    return target
