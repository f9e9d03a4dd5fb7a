"""Normalisers for identifiers people type: credit codes, phones, ID numbers, division codes, counts."""

from __future__ import annotations

import string
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.models import validation as v

# ── 统一社会信用代码 ───────────────────────────────────────────────────────────────────────────────

FIRST17 = ("91350100M000100Y4", "91110108MA01ABCDE", "12100000400000311", "93440300MA5FXKQ10")


def make_uscc(first17: str) -> str:
    return first17 + v.uscc_check_char(first17)


def test_uscc_check_char_matches_known_real_code() -> None:
    # A published code: 91350100M000100Y43 (the check character is 3).
    assert v.uscc_check_char("91350100M000100Y4") == "3"
    assert v.normalize_credit_code("91350100M000100Y43") == "91350100M000100Y43"


@pytest.mark.parametrize("first17", FIRST17)
def test_valid_credit_codes_are_returned_unchanged(first17: str) -> None:
    code = make_uscc(first17)
    assert len(code) == 18
    assert v.normalize_credit_code(code) == code


@pytest.mark.parametrize("first17", FIRST17)
def test_wrong_check_char_names_the_expected_one(first17: str) -> None:
    code = make_uscc(first17)
    wrong = next(ch for ch in "0123456789ABC" if ch != code[-1])
    with pytest.raises(ValueError) as info:
        v.normalize_credit_code(code[:17] + wrong)
    message = str(info.value)
    assert "校验位错误" in message
    assert f"最后一位应为{code[-1]}" in message


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_named(letter: str) -> None:
    code = make_uscc("91350100M000100Y4")
    bad = code[:10] + letter + code[11:]
    with pytest.raises(ValueError) as info:
        v.normalize_credit_code(bad)
    message = str(info.value)
    assert f"「{letter}」" in message
    assert "不使用I、O、Z、S、V" in message


def test_several_forbidden_letters_are_listed_once_each_sorted() -> None:
    code = make_uscc("91350100M000100Y4")
    bad = "OI" + code[2:15] + "OZ" + code[17]
    with pytest.raises(ValueError, match="「IOZ」"):
        v.normalize_credit_code(bad)


@pytest.mark.parametrize("first17", FIRST17)
def test_lowercase_fullwidth_and_spaces_are_normalised(first17: str) -> None:
    code = make_uscc(first17)
    fullwidth = "".join(chr(ord(ch) + 0xFEE0) for ch in code)  # Ａ..Ｚ, ０..９
    spaced = f"  {code[:6]} {code[6:12]}\u3000{code[12:]}\u00a0 "
    assert v.normalize_credit_code(code.lower()) == code
    assert v.normalize_credit_code(fullwidth) == code
    assert v.normalize_credit_code(spaced) == code
    assert v.normalize_credit_code(f"\t{code.lower()}\n") == code


@pytest.mark.parametrize("value, length", [("", 0), ("9135010057", 10), ("91350100M000100Y431", 19)])
def test_wrong_length_reports_current_length(value: str, length: int) -> None:
    with pytest.raises(ValueError, match=f"应为18位，当前为{length}位"):
        v.normalize_credit_code(value)


USCC_CHARS = st.sampled_from(v.USCC_CHARSET)


@given(st.lists(USCC_CHARS, min_size=17, max_size=17).map("".join))
def test_any_17_chars_plus_computed_check_char_validates(first17: str) -> None:
    code = first17 + v.uscc_check_char(first17)
    assert v.normalize_credit_code(code) == code
    assert v.normalize_credit_code(code.lower()) == code


@given(st.lists(USCC_CHARS, min_size=17, max_size=17).map("".join), USCC_CHARS)
def test_any_other_check_char_is_rejected(first17: str, last: str) -> None:
    expected = v.uscc_check_char(first17)
    assume(last != expected)
    with pytest.raises(ValueError, match=f"最后一位应为{expected}"):
        v.normalize_credit_code(first17 + last)


@given(st.lists(USCC_CHARS, min_size=17, max_size=17).map("".join), st.integers(0, 16), USCC_CHARS)
def test_single_character_typo_is_always_caught(first17: str, position: int, replacement: str) -> None:
    """GB 32100's mod-31 check catches every single-character substitution."""
    assume(first17[position] != replacement)
    code = first17 + v.uscc_check_char(first17)
    typo = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValueError, match="校验位错误"):
        v.normalize_credit_code(typo)


# ── 电话号码 ─────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("（+86）13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("19912345678", "19912345678"),
    ],
)
def test_mobile_numbers(raw: str, expected: str) -> None:
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("010-12345678", "010-12345678"),  # Beijing: 3-digit area code
        ("01012345678", "010-12345678"),
        ("(010)12345678", "010-12345678"),
        ("020 8765 4321", "020-87654321"),  # 02X: 3-digit area codes
        ("029-1234567", "029-1234567"),
        ("0755-81234567", "0755-81234567"),  # every other area code has 4 digits
        ("07558123456", "0755-8123456"),
        ("（0797）8123456", "0797-8123456"),
        ("0591 8765 4321", "0591-87654321"),
        ("0797-812-3456", "0797-8123456"),  # grouped digits, not an extension
    ],
)
def test_landlines_with_area_codes(raw: str, expected: str) -> None:
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("0755-1234567转88", "0755-1234567-88"),
        ("0755-1234567 转 88", "0755-1234567-88"),
        ("010-12345678 ext 123", "010-12345678-123"),
        ("010-12345678 EXT.123", "010-12345678-123"),
        ("010-12345678x9", "010-12345678-9"),
        ("010-12345678#9", "010-12345678-9"),
        ("010-12345678-123", "010-12345678-123"),  # the canonical form itself
        ("(010)12345678-12", "010-12345678-12"),
        ("0797 8123456-7", "0797-8123456-7"),
    ],
)
def test_landline_extensions(raw: str, expected: str) -> None:
    assert v.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_blank_phone_is_empty(raw: object) -> None:
    assert v.normalize_phone(raw) == ""


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("12012345678", "不是有效的手机号码（第二位应为3–9）"),
        ("8123456", "座机需带区号"),
        ("12345", "不是有效的电话号码"),
        ("138001380001", "不是有效的电话号码"),
        ("010-0123456", "不是有效的电话号码"),  # local numbers never start with 0
        ("010-123456", "不是有效的电话号码"),  # too short
        ("abc", "「abc」不是有效的电话号码"),
        ("138-0013-80OO", "不是有效的电话号码"),
        ("13800138000转12", "手机号码不能带分机号"),
    ],
)
def test_invalid_phones_explain_in_chinese(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        v.normalize_phone(raw)
    assert fragment in str(info.value)


def _decorate(draw: st.DrawFn, digits: str) -> str:
    """Insert the separators people type between the digits of a number."""
    out = []
    for ch in digits:
        out.append(ch)
        out.append(draw(st.sampled_from(["", "", "", " ", "-"])))
    return "".join(out).strip(" -")


@st.composite
def typed_mobiles(draw: st.DrawFn) -> str:
    number = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-"]))
    return prefix + _decorate(draw, number)


@st.composite
def typed_landlines(draw: st.DrawFn) -> str:
    area = draw(
        st.one_of(
            st.just("010"),
            st.text("0123456789", min_size=1, max_size=1).map(lambda d: "02" + d),
            st.tuples(st.sampled_from("3456789"), st.text("0123456789", min_size=2, max_size=2)).map(
                lambda t: "0" + t[0] + t[1]
            ),
        )
    )
    number = draw(st.sampled_from("123456789")) + draw(st.text("0123456789", min_size=6, max_size=7))
    text = draw(st.sampled_from(["{a}-{n}", "({a}){n}", "{a} {n}", "{a}{n}"])).format(a=area, n=number)
    ext = draw(st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=6)))
    if ext:
        text += draw(st.sampled_from(["转", " ext ", "-", "x", "#"])) + ext
    return text


@given(st.one_of(typed_mobiles(), typed_landlines()))
def test_normalize_phone_accepts_typed_numbers_and_is_idempotent(raw: str) -> None:
    out = v.normalize_phone(raw)
    assert v.normalize_phone(out) == out


@given(st.text(alphabet=string.digits + " -+()转ext#", max_size=24))
def test_normalize_phone_is_idempotent_on_whatever_it_accepts(raw: str) -> None:
    try:
        out = v.normalize_phone(raw)
    except ValueError as exc:
        assert str(exc)  # always an explanation, never a bare error
        return
    assert v.normalize_phone(out) == out


# ── 身份证号码 ───────────────────────────────────────────────────────────────────────────────────


def make_id(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, v.ID_WEIGHTS, strict=True))
    return first17 + v.ID_CHECK[total % 11]


def test_id_number_with_check_char_x() -> None:
    assert v.normalize_id_number("11010519491231002X") == "11010519491231002X"
    assert v.normalize_id_number("11010519491231002x") == "11010519491231002X"
    assert v.normalize_id_number(" 110105 19491231 002x ") == "11010519491231002X"


def test_id_number_with_digit_check_char() -> None:
    code = make_id("36072619850615123")
    assert code[-1].isdigit() or code[-1] == "X"
    assert v.normalize_id_number(code) == code


def test_id_number_wrong_check_char_names_expected() -> None:
    with pytest.raises(ValueError, match="最后一位应为X"):
        v.normalize_id_number("110105194912310021")


@pytest.mark.parametrize(
    "first17",
    ["36072619850230123", "36072619851315123", "36072618991231123", "36072619850600123"],
    ids=["feb30", "month13", "before1900", "day0"],
)
def test_id_number_bad_birth_date(first17: str) -> None:
    with pytest.raises(ValueError, match="出生日期无效"):
        v.normalize_id_number(make_id(first17))


def test_id_number_birth_date_in_future() -> None:
    tomorrow = date.today() + timedelta(days=1)
    with pytest.raises(ValueError, match="出生日期无效"):
        v.normalize_id_number(make_id(f"360726{tomorrow:%Y%m%d}123"))


@pytest.mark.parametrize("raw", ["3607261985061512", "3607261985061512345", "X60726198506151234", "36072619850615A23X"])
def test_id_number_shape(raw: str) -> None:
    with pytest.raises(ValueError, match="应为18位（前17位为数字）"):
        v.normalize_id_number(raw)


# ── 区划代码 ─────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "raw, expected",
    [("360726", "360726"), ("360726100", "360726100"), ("360726100201", "360726100201"),
     ("３６０７２６", "360726"), (" 360 726 100 ", "360726100")],
)
def test_division_codes(raw: str, expected: str) -> None:
    assert v.normalize_division_code(raw) == expected


def test_division_code_wrong_length() -> None:
    with pytest.raises(ValueError, match="区划代码应为6、9、12位数字，当前为8位"):
        v.normalize_division_code("36072610")


def test_division_code_custom_lengths() -> None:
    assert v.normalize_division_code("360726100", (9, 12)) == "360726100"
    with pytest.raises(ValueError, match="区划代码应为9、12位数字，当前为6位"):
        v.normalize_division_code("360726", (9, 12))


@pytest.mark.parametrize("raw", ["36072A", "360-726", "", "三六〇七二六"])
def test_division_code_digits_only(raw: str) -> None:
    with pytest.raises(ValueError, match="区划代码只能由数字组成"):
        v.normalize_division_code(raw)


# ── 数量 ─────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "raw, expected",
    [("1,200人", 1200), ("1，200", 1200), ("１２００", 1200), ("350户", 350), ("12个", 12), ("3家", 3),
     (" 0 ", 0), ("42", 42), (42, 42), ("2.0", 2), ("", None), (None, None), ("   ", None)],
)
def test_counts(raw: object, expected: int | None) -> None:
    assert v.normalize_count(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "-5人", "1.5", "0.1", -3])
def test_negative_and_fractional_counts_are_rejected(raw: object) -> None:
    with pytest.raises(ValueError, match="应为不小于0的整数"):
        v.normalize_count(raw)


@pytest.mark.parametrize("raw", ["abc", "十二", "12人口", "nan", "inf", "-inf"])
def test_non_numbers_are_rejected_with_chinese_message(raw: str) -> None:
    with pytest.raises(ValueError, match="不是数字"):
        v.normalize_count(raw)


def test_count_maximum() -> None:
    assert v.normalize_count("10000000") == 10_000_000
    with pytest.raises(ValueError, match="数值过大（不超过10000000）"):
        v.normalize_count("10000001")
    with pytest.raises(ValueError, match="不超过100"):
        v.normalize_count("101", maximum=100)


@given(st.integers(0, 10_000_000), st.sampled_from(["", "人", "户", "个", "家"]))
def test_count_round_trips_formatted_numbers(n: int, unit: str) -> None:
    assert v.normalize_count(f"{n:,}{unit}") == n


# ── clean_text ───────────────────────────────────────────────────────────────────────────────────


def test_clean_text_folds_width_and_spaces() -> None:
    assert v.clean_text("  ＡＢＣ１２３\u3000青山\u00a0村  ") == "ABC123 青山 村"
    assert v.clean_text(None) == ""
    assert v.clean_text(12) == "12"
    assert v.clean_text("a \t\n b") == "a b"
