"""County staff accounts for the web pages: the desktop app's accounts (Argon2id hashes, lock-out after
repeated failures, forced password change) kept in the county database's ``user_account`` table.

Two roles: 管理员 (``admin``: upload bundles, enrol townships, issue 督办) and 只读 (``viewer``: look only).
Accounts are made on the server with ``xiangan-county staff add``; nobody can sign up from the web.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select

from app.errors import ValidationError
from app.models.accounts import Role, User
from app.services.accounts import AccountService
from app.services.context import Actor
from app.storage import Database

STAFF_ROLES: dict[str, Role] = {"admin": Role.ADMIN, "viewer": Role.READONLY}
# Who `xiangan-county staff add` acts as: whoever can run it on the server already holds the data folder.
CLI_ACTOR = Actor(username="xiangan-county", display_name="县级平台命令行", role=Role.ADMIN)


@dataclass(frozen=True)
class Staff:
    """A logged-in county staff member, re-read on every request (so a deactivated account is out at once)."""

    actor: Actor
    must_change_password: bool

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def user_id(self) -> str:
        return self.actor.user_id

    @property
    def can_write(self) -> bool:
        return self.actor.role.can_write


def staff_role(name: str) -> Role:
    try:
        return STAFF_ROLES[name]
    except KeyError:
        raise ValidationError.single("role", "角色", f"「{name}」无效，可选：admin（管理员）、viewer（只读）") from None


def add_staff(db: Database, username: str, password: str, role: str = "viewer", display_name: str = "") -> Staff:
    """Create an account. The very first administrator is the installer's own and keeps the password;
    every later account must change the password the administrator typed at its first log-in."""
    accounts = AccountService(db)
    chosen = staff_role(role)
    if chosen is Role.ADMIN and not accounts.has_users():
        accounts.create_first_admin(username, password, display_name)
    else:
        accounts.add_user(CLI_ACTOR, username, password, display_name, chosen)
    created = _find(db, func.lower(User.username) == username.strip().lower())
    assert created is not None  # committed just above
    return created


def log_in(db: Database, username: str, password: str) -> Staff:
    """AuthenticationError (wrong password, how many tries are left, locked) or the staff member."""
    actor = AccountService(db).authenticate(username, password)
    return Staff(actor, AccountService(db).must_change_password(actor))


def current_staff(db: Database, user_id: str) -> Staff | None:
    """The account behind a session, or None when it was deactivated or removed since."""
    return _find(db, User.id == user_id)


def _find(db: Database, condition: ColumnElement[bool]) -> Staff | None:
    with db.session(audit=False) as session:
        user = session.scalar(select(User).where(condition, User.active.is_(True)))
        if user is None:
            return None
        return Staff(Actor(user.username, user.display_name, Role(user.role), user.id), user.must_change_password)


def change_password(db: Database, staff: Staff, old_password: str, new_password: str) -> None:
    AccountService(db).change_password(staff.actor, old_password, new_password)
