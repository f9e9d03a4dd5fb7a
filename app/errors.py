"""Errors every layer raises and the UI/CLI turn into one clear Chinese message."""

from __future__ import annotations


class XiangAnError(Exception):
    """Base of all expected failures; ``str(err)`` is a complete Chinese sentence for the user."""


class ValidationError(XiangAnError):
    """One or more fields are invalid. ``errors`` maps field name → problem; nothing was written."""

    def __init__(self, errors: dict[str, str], labels: dict[str, str] | None = None) -> None:
        self.errors = dict(errors)
        self.labels = dict(labels or {})
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        for field, problem in self.errors.items():
            label = self.labels.get(field, "")
            parts.append(f"{label}：{problem}" if label else problem)
        return "；".join(parts)

    @classmethod
    def single(cls, field: str, label: str, problem: str) -> ValidationError:
        return cls({field: problem}, {field: label})


class PermissionDenied(XiangAnError):
    """The logged-in account's role does not allow this action."""


class NotFound(XiangAnError):
    """The record does not exist (or was deleted)."""


class StorageError(XiangAnError):
    """The database or data folder cannot be used (locked, read-only, full disk, damaged)."""


class AuthenticationError(XiangAnError):
    """Wrong user name or password, or the account is locked."""
