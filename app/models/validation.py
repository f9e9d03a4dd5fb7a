"""Normalisers for the identifiers people type: each returns the canonical form or raises ValueError
with a Chinese explanation of what is wrong (the caller adds the field name)."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

_SEPARATORS = re.compile(r"[\s\-—–_()（）.·]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")


# Full-width digits and Latin letters (as typed by Chinese input methods) become half-width; Chinese
# punctuation such as （）and 、 is left alone, because it is correct in names and addresses.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F) if chr(cp - 0xFEE0).isalnum()}
_HALF_WIDTH.update({0x3000: 0x20, 0xA0: 0x20, 0xFF0D: 0x2D, 0xFF0B: 0x2B})


def clean_text(value: object) -> str:
    """Full-width letters/digits to half-width, odd spaces folded, trimmed; other characters kept."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value)).translate(_HALF_WIDTH)
    return re.sub(r"\s+", " ", text).strip()


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def normalize_credit_code(value: object) -> str:
    """统一社会信用代码 (GB 32100-2015): 18 characters with a check character."""
    code = re.sub(r"\s+", "", clean_text(value)).upper()
    if len(code) != 18:
        raise ValueError(f"应为18位，当前为{len(code)}位")
    bad = sorted({ch for ch in code if ch not in USCC_CHARSET})
    if bad:
        raise ValueError(f"含有不允许的字符「{''.join(bad)}」（不使用I、O、Z、S、V）")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise ValueError(f"校验位错误（最后一位应为{expected}），请核对是否抄错")
    return code


def normalize_phone(value: object) -> str:
    """Mobile → 11 digits; landline → 0AAA-NNNNNNN[-EXT]. Accepts +86/0086, spaces, dashes, brackets."""
    raw = clean_text(value)
    if not raw:
        return ""
    parts = [p for p in re.split(r"[/、,，;；]+", raw) if p.strip()]
    if len(parts) > 1:  # 13800138000/13900139000: two people's numbers typed into one cell
        raise ValueError(f"「{raw}」填了{len(parts)}个号码，每格只能填一个（其他号码可写在备注中）")
    ext = ""
    m = re.search(r"(?:转|ext\.?|x|#)\s*(\d{1,6})$", raw, flags=re.IGNORECASE)
    # A dash extension after a complete landline, as in the form this function returns (0AAA-NNNNNNN-EXT),
    # so that normalising is idempotent; "(0AAA)NNNNNNN-EXT" and "0AAA NNNNNNN-EXT" too.
    canonical = re.fullmatch(r"(\(?0[1-9]\d{1,2}\)?[-\s]?[1-9]\d{6,7})-(\d{1,6})", raw)
    if m:
        ext, raw = m.group(1), raw[: m.start()]
    elif canonical:
        raw, ext = canonical.group(1), canonical.group(2)
    digits = _SEPARATORS.sub("", raw)
    digits = re.sub(r"^(?:\+86|0086)", "", digits)
    if not digits.isdigit():
        raise ValueError(f"「{clean_text(value)}」不是有效的电话号码")
    if _MOBILE.fullmatch(digits):
        if ext:
            raise ValueError("手机号码不能带分机号")
        return digits
    if digits.startswith("0"):
        # 010 and 02X are 3-digit area codes; every other area code has 4 digits.
        area_len = 3 if digits[1:2] in ("1", "2") else 4  # slice: "0" alone must not raise IndexError
        area, number = digits[:area_len], digits[area_len:]
        if len(number) in (7, 8) and not number.startswith("0"):
            return f"{area}-{number}" + (f"-{ext}" if ext else "")
    if len(digits) == 11 and digits.startswith("1"):
        raise ValueError(f"「{clean_text(value)}」不是有效的手机号码（第二位应为3–9）")
    raise ValueError(f"「{clean_text(value)}」不是有效的电话号码（手机11位，座机需带区号）")


def normalize_id_number(value: object) -> str:
    """居民身份证号码 (GB 11643): 18 characters, valid birth date, check character."""
    code = re.sub(r"\s+", "", clean_text(value)).upper()
    if len(code) != 18 or not code[:17].isdigit():
        raise ValueError("身份证号码应为18位（前17位为数字）")
    try:
        born = date(int(code[6:10]), int(code[10:12]), int(code[12:14]))
    except ValueError:
        raise ValueError("身份证号码中的出生日期无效") from None
    if born.year < 1900 or born > date.today():
        raise ValueError("身份证号码中的出生日期无效")
    expected = ID_CHECK[sum(int(ch) * w for ch, w in zip(code[:17], ID_WEIGHTS, strict=True)) % 11]
    if code[17] != expected:
        raise ValueError(f"身份证号码校验位错误（最后一位应为{expected}）")
    return code


def normalize_division_code(value: object, lengths: tuple[int, ...] = (6, 9, 12)) -> str:
    """统计用区划代码: digits only, of one of the allowed lengths (county 6, township 9, village 12)."""
    code = re.sub(r"\s+", "", clean_text(value))
    if not code.isdigit():
        raise ValueError("区划代码只能由数字组成")
    if len(code) not in lengths:
        allowed = "、".join(str(n) for n in lengths)
        raise ValueError(f"区划代码应为{allowed}位数字，当前为{len(code)}位")
    return code


def normalize_count(value: object, maximum: int = 10_000_000) -> int | None:
    """A non-negative whole number (population, households…); blank means unknown."""
    text = clean_text(value).replace(",", "").replace("，", "")
    if not text:
        return None
    text = re.sub(r"(人|户|个|家)$", "", text)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"「{clean_text(value)}」不是数字") from None
    if not math.isfinite(number):  # "nan", "inf": float() accepts them, int() would crash
        raise ValueError(f"「{clean_text(value)}」不是数字")
    if number != int(number) or number < 0:
        raise ValueError("应为不小于0的整数")
    if number > maximum:
        raise ValueError(f"数值过大（不超过{maximum}）")
    return int(number)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
EXCEL_EPOCH = date(1899, 12, 30)


def normalize_date(value: object) -> date | None:
    """A date as offices write it: 2026-03-05, 2026.3.5, 2026/3/5, 2026年3月5日, 20260305, an Excel
    serial number or a date/datetime cell. Blank means no date."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _from_serial(float(value))
    # A time after the date is dropped — before spaces go, so "2026-3-5 8:30" keeps its day.
    text = re.sub(r"(?:\s+|T|(?<=日))\d{1,2}:\d{2}(:\d{2})?$", "", clean_text(value)).replace(" ", "")
    if not text:
        return None
    if re.fullmatch(r"\d{1,2}[-/.月]\d{1,2}日?", text):
        raise ValueError(f"「{text}」没有写年份，请写成 2026-03-05 这样的完整日期")
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise ValueError(f"「{text}」不是有效日期") from None
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        return _from_serial(float(text))
    raise ValueError(f"「{text}」不是日期（应写成 2026-03-05 这样的格式）")


def _from_serial(serial: float) -> date:
    if not 20000 <= serial <= 80000:  # 1954–2119: anything else is not a date someone meant
        raise ValueError(f"「{serial:g}」不是日期")
    return EXCEL_EPOCH + timedelta(days=int(serial))


def normalize_money_fen(value: object) -> int | None:
    """An amount of money in 元 (15000, 1.5万, ¥15,000.00元) → whole 分; blank means not given."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = repr(value)
    else:
        text = clean_text(value).replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    if not text:
        return None
    factor = Decimal(1)
    if text.endswith("元"):
        text = text[:-1]
    if text.endswith("万"):
        text, factor = text[:-1], Decimal(10000)
    try:
        amount = Decimal(text) * factor
    except InvalidOperation:
        raise ValueError(f"「{clean_text(value)}」不是金额") from None
    if not amount.is_finite():
        raise ValueError(f"「{clean_text(value)}」不是金额")
    if amount < 0:
        raise ValueError("金额不能为负数")
    if amount > Decimal("100000000000"):
        raise ValueError("金额过大")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(fen: int | None) -> str:
    """分 → 元 as shown in forms and ledgers: 1500000 → "15000", 12345 → "123.45"."""
    if fen is None:
        return ""
    yuan, cents = divmod(fen, 100)
    return f"{yuan}" if not cents else f"{yuan}.{cents:02d}"
