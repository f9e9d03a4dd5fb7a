"""Rectification deadline rules: county configuration data (stage → days, calendar or working days).

Working days skip weekends and the county's holiday list, but count the make-up workdays (调休) the
county lists, so "20 working days" means what the notice on the wall means.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.models.validation import normalize_date

CALENDARS = ("calendar", "working")
DUE_SOON_DEFAULT_DAYS = 3  # when the county's rules have no "due_soon" stage


@dataclass(frozen=True)
class DeadlineRule:
    stage: str
    level: str  # "一般", "重大" or "*" for any
    days: int
    calendar: str
    label: str


@dataclass(frozen=True)
class DeadlineRules:
    version: str
    rules: tuple[DeadlineRule, ...]
    holidays: frozenset[date]
    extra_workdays: frozenset[date]

    def rule(self, stage: str, level: str = "*") -> DeadlineRule | None:
        exact = [r for r in self.rules if r.stage == stage and r.level == level]
        return (exact or [r for r in self.rules if r.stage == stage and r.level == "*"] or [None])[0]

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, start: date, days: int, calendar: str) -> date:
        if calendar == "calendar":
            return start + timedelta(days=days)
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_workday(day)
        return day

    def subtract_working(self, end: date, days: int) -> date:
        day, left = end, days
        while left > 0:
            day -= timedelta(days=1)
            left -= self.is_workday(day)
        return day

    def due(self, stage: str, level: str, start: date) -> date | None:
        """The date ``stage`` ends for a hazard of ``level`` starting on ``start`` (None: no rule)."""
        rule = self.rule(stage, level)
        return None if rule is None else self.add(start, rule.days, rule.calendar)

    def days(self, stage: str, level: str = "*", default: int = 0) -> int:
        rule = self.rule(stage, level)
        return default if rule is None else rule.days

    def due_soon_until(self, today: date) -> date:
        """Last deadline that counts as 临期 today: the county's ``due_soon`` rule, else three days.
        One place, so the ledger tint, its filter, the 工作台 count and its label always agree."""
        return today + timedelta(days=self.days("due_soon", default=DUE_SOON_DEFAULT_DAYS))


def parse_deadline_rules(document: dict[str, Any]) -> DeadlineRules:
    """Validate a rules document; ValueError names the entry and the problem."""
    items = document.get("rules")
    if not isinstance(items, list) or not items:
        raise ValueError("整改时限规则为空")
    rules = []
    for index, item in enumerate(items, start=1):
        where = f"整改时限规则第{index}项"
        if not isinstance(item, dict) or not item.get("stage"):
            raise ValueError(f"{where}缺少 stage")
        days = item.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            raise ValueError(f"{where}的 days 应为0到3650之间的整数")
        calendar = item.get("calendar", "calendar")
        if calendar not in CALENDARS:
            raise ValueError(f"{where}的 calendar 应为 calendar（自然日）或 working（工作日）")
        rules.append(DeadlineRule(str(item["stage"]), str(item.get("level", "*")), days, calendar,
                                  str(item.get("label", ""))))
    return DeadlineRules(str(document.get("version", "")), tuple(rules),
                         _dates(document.get("holidays", []), "holidays"),
                         _dates(document.get("extra_workdays", []), "extra_workdays"))


def _dates(values: Any, name: str) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"{name} 应为日期列表")
    try:
        return frozenset(d for d in (normalize_date(v) for v in values) if d is not None)
    except ValueError as exc:
        raise ValueError(f"{name} 中有无效日期：{exc}") from None
