"""Shrink the ICU data library Qt carries (≈31 MiB) to the locales the app speaks (≈14 MiB).

Qt's Linux wheels link ``libicudata.so.NN``: one exported array ``icudtNN_dat`` holding an ICU common
data package with collation, calendars, names and units for every locale in the world. The app only
ever runs in Chinese (with English as the technical fallback), so locale items of other languages are
removed with ICU's own ``icupkg`` and the array is re-linked under the same soname and symbol. Items
that a kept item depends on stay (``icupkg`` names them). Also removed: Qt uses ICU only for collation
and locale data, so the legacy-charset converters (the app decodes GBK files in Python; GB18030 is
kept anyway), the transliterators, and the word dictionaries of Thai, Lao, Khmer and Burmese go too.
Root data, break rules, the CJK dictionary and normalisation tables are never touched. Locales asked
for that are gone fall back to root, as ICU does for any locale it does not know.

Needs ``icupkg`` (Debian: icu-devtools) and a C compiler driver for the link (gcc).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

KEEP_LANGUAGES = frozenset({"en", "zh"})
# "zh_Hans_CN.res", "coll/en_US_POSIX.res": the language is the part before the first underscore.
LOCALE_ITEM = re.compile(r"^(?:[a-z]+/)?(?P<lang>[a-z]{2,3})(?:_[A-Za-z0-9]+)*\.res$")
DEPENDENCY = re.compile(r"Item (\S+) depends on missing item (\S+)")
KEEP_CONVERTERS = frozenset({"gb18030.cnv"})
UNUSED_DICTIONARIES = frozenset({f"brkitr/{name}dict.dict" for name in ("thai", "lao", "khmer", "burmese")})


def _unused_by_qt(item: str) -> bool:
    return ((item.endswith(".cnv") and item not in KEEP_CONVERTERS) or item.startswith("translit/")
            or item in UNUSED_DICTIONARIES)


def _icupkg(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["icupkg", *map(str, args)], capture_output=True, text=True)


def _extract_package(library: Path, folder: Path) -> Path:
    """Copy the data array out of the library into ``folder/icudtNNl.dat``: icupkg insists that the
    file's name matches the package name its items carry."""
    symbols = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                             check=True).stdout
    match = re.search(r"\b(icudt(\d+)_dat)\b", symbols)
    if match is None:
        raise RuntimeError(f"{library.name} exports no icudtNN_dat symbol")
    out = folder / f"icudt{match.group(2)}l.dat"
    folder.mkdir()
    subprocess.run(["objcopy", "-O", "binary", "--only-section=.rodata", library, out], check=True)
    return out


def _items_to_drop(package: Path) -> set[str]:
    listing = _icupkg("-l", package)
    if listing.returncode != 0:
        raise RuntimeError(f"icupkg -l failed: {listing.stderr.strip()}")
    return {item for item in listing.stdout.split()
            if ((m := LOCALE_ITEM.match(item)) and m.group("lang") not in KEEP_LANGUAGES) or _unused_by_qt(item)}


def _remove(package: Path, drop: set[str], out: Path, work: Path) -> None:
    """icupkg refuses to orphan a dependency; keep whatever it names and try again."""
    for _ in range(20):
        listing = work / "drop.txt"
        listing.write_text("\n".join(sorted(drop)) + "\n", encoding="ascii")
        result = _icupkg("-r", listing, package, out)
        missing = {needed for _item, needed in DEPENDENCY.findall(result.stdout + result.stderr)}
        if result.returncode == 0 and not missing:
            return
        if not missing:
            raise RuntimeError(f"icupkg -r failed: {result.stderr.strip()}")
        drop -= missing
    raise RuntimeError("icupkg kept finding missing dependencies")


def _link(package: Path, symbol: str, soname: str, out: Path) -> None:
    source = out.with_suffix(".S")
    source.write_text(
        "    .section .rodata\n"
        f"    .globl {symbol}\n    .type {symbol}, @object\n    .balign 16\n"
        f'{symbol}:\n    .incbin "{package}"\n    .size {symbol}, . - {symbol}\n'
        '    .section .note.GNU-stack,"",@progbits\n',
        encoding="ascii",
    )
    subprocess.run(["gcc", "-shared", "-nostdlib", f"-Wl,-soname,{soname}", "-o", out, source], check=True)
    subprocess.run(["strip", out], check=True)


def trim_icu_data(bundle: Path) -> int:
    """Trim every ``libicudata.so.*`` in the bundle in place; returns the bytes saved."""
    saved = 0
    for library in bundle.rglob("libicudata.so.*"):
        if library.is_symlink():
            continue
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            full = _extract_package(library, work / "in")
            trimmed = work / "out" / full.name  # icupkg names the items after the output file
            trimmed.parent.mkdir()
            _remove(full, _items_to_drop(full), trimmed, work)
            if "coll/zh.res" not in _icupkg("-l", trimmed).stdout.split():
                raise RuntimeError("trimmed ICU data lost the Chinese collation")
            rebuilt = work / library.name
            _link(trimmed, f"{full.stem[:-1]}_dat", library.name, rebuilt)
            before = library.stat().st_size
            shutil.copyfile(rebuilt, library)
            saved += before - library.stat().st_size
    return saved
