"""What a 安全生产目标责任书 says, as plain data: the contract between the letter service (which fills
it from a template and a counterparty) and the PDF writer (which lays it out). No database here."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

COMPARATORS = {"<=": "不超过", "<": "低于", "=": "为", ">=": "不少于"}
# metric → (how it reads in a 控制指标 sentence, unit); money is in 元
TARGET_WORDING = {
    "deaths": ("全年生产安全事故死亡人数", "人"),
    "serious_injuries": ("全年生产安全事故重伤人数", "人"),
    "direct_loss_yuan": ("全年事故直接经济损失", "元"),
    "major_accidents": ("全年较大及以上事故", "起"),
    "fires": ("全年火灾事故", "起"),
    "accidents": ("全年事故", "起"),
}


@dataclass(frozen=True)
class Party:
    """One side of the letter: 甲方 (the township) or 乙方 (village, enterprise or unit)."""

    organisation: str
    person: str  # the responsible person who signs
    title: str = ""  # e.g. 镇长, 村党支部书记, 法定代表人


@dataclass(frozen=True)
class Target:
    """A 控制指标 kept structured so the year-end 考核 can be computed from the accident register.

    ``metric`` is one of the metrics the assessment knows (deaths, serious_injuries, direct_loss_yuan,
    major_accidents, fires …); ``veto`` marks a 一票否决 condition.
    """

    metric: str
    comparator: str  # one of COMPARATORS
    threshold: Decimal
    text: str  # how it reads in the letter, e.g. "不发生一次死亡1人及以上的生产安全事故"
    veto: bool = False


def plain_number(value: Decimal) -> str:
    """3000000 → "3000000", 2.50 → "2.5" (never the 3E+6 that ``normalize`` alone gives)."""
    return f"{value.normalize():f}"


def target_wording(metric: str, comparator: str, threshold: Decimal) -> str:
    """The sentence a 控制指标 reads as when nobody wrote one, e.g. 全年事故直接经济损失低于300万元。
    Used when a threshold is edited, so the printed wording never contradicts the structured target."""
    subject, unit = TARGET_WORDING.get(metric, (metric, ""))
    amount = plain_number(threshold)
    if unit == "元" and threshold >= 10_000 and threshold % 10_000 == 0:
        amount, unit = plain_number(threshold / 10_000), "万元"
    return f"{subject}{COMPARATORS.get(comparator, comparator)}{amount}{unit}。"


@dataclass(frozen=True)
class Section:
    heading: str  # e.g. 一、控制指标
    clauses: tuple[str, ...]  # numbered in the document (1. 2. 3.)


@dataclass(frozen=True)
class LetterContent:
    title: str  # e.g. 2026年度安全生产目标责任书
    year: int
    number: str  # the letter number people quote, unique per township and year
    party_a: Party
    party_b: Party
    preamble: str  # legal basis and purpose, placeholders already filled
    period: str  # e.g. 2026年1月1日至2026年12月31日
    targets: tuple[Target, ...]
    sections: tuple[Section, ...]  # 控制指标 (rendered from targets), 责任内容, 考核与奖惩, 其他 …
    closing: str  # e.g. 本责任书一式两份，甲乙双方各执一份，自双方签字盖章之日起生效。
    counterparty_kind: str = ""  # village | enterprise | unit
    extra: dict[str, str] = field(default_factory=dict)
