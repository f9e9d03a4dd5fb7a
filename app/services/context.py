"""Who is acting: every service call carries an Actor, and roles are enforced here, not in the UI."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import PermissionDenied
from app.models.accounts import Role


@dataclass(frozen=True)
class Actor:
    username: str
    display_name: str
    role: Role
    user_id: str = ""

    @property
    def label(self) -> str:
        return f"{self.display_name or self.username}（{self.role.label}）"

    def require_write(self) -> None:
        if not self.role.can_write:
            raise PermissionDenied(f"当前账号「{self.username}」是只读账号，不能修改数据。")

    def require_admin(self) -> None:
        if self.role is not Role.ADMIN:
            raise PermissionDenied(f"只有管理员可以进行此操作，当前账号「{self.username}」是{self.role.label}。")


# Used by the command line and by start-up jobs that run before anyone logs in.
SYSTEM_ACTOR = Actor(username="system", display_name="系统", role=Role.ADMIN)


@dataclass(frozen=True)
class Scope:
    """The township this database belongs to; every township row lives in its partition."""

    township_id: str
    township_name: str

    @property
    def partition(self) -> str:
        return f"twp:{self.township_id}"
