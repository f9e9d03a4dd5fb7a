"""Local accounts: first administrator, log-in with lock-out, passwords, user management.

Passwords are hashed with Argon2id; there is no default password anywhere: the first administrator
is created by the person installing the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import AuthenticationError, NotFound, ValidationError
from app.models import Role, User, utcnow
from app.models.audit import record_event
from app.services.context import Actor
from app.storage import Database

MAX_FAILED_ATTEMPTS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
_HASHER = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]{2,32}$")


@dataclass(frozen=True)
class UserInfo:
    id: str
    username: str
    display_name: str
    role: Role
    active: bool
    locked_until: datetime | None
    last_login_at: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > utcnow()


def check_password_strength(password: str, field: str = "password") -> None:
    problem = None
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"密码至少{MIN_PASSWORD_LENGTH}位"
    elif not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        problem = "密码需同时包含字母和数字"
    if problem:
        raise ValidationError.single(field, "密码", problem)


def _check_username(username: str) -> str:
    name = username.strip()
    if not _USERNAME.match(name):
        raise ValidationError.single("username", "用户名", "应为2–32位字母、数字、汉字、下划线或点")
    return name


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.username, user.display_name, Role(user.role), user.active,
                    user.locked_until, user.last_login_at)


def _actor(user: User) -> Actor:
    return Actor(user.username, user.display_name, Role(user.role), user.id)


class AccountService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def has_users(self) -> bool:
        with self.db.session() as session:
            return bool(session.scalar(select(func.count()).select_from(User)))

    def create_first_admin(self, username: str, password: str, display_name: str = "") -> Actor:
        """Only possible while no account exists (first run)."""
        if self.has_users():
            raise ValidationError.single("username", "用户名", "已存在账号，请用管理员账号登录后再添加用户")
        return self._create(username, password, display_name, Role.ADMIN, creator="")

    def _create(self, username: str, password: str, display_name: str, role: Role, creator: str,
                must_change: bool = False) -> Actor:
        name = _check_username(username)
        check_password_strength(password)
        with self.db.session(creator or name) as session:
            if session.scalar(select(User).where(func.lower(User.username) == name.lower())):
                raise ValidationError.single("username", "用户名", f"用户名「{name}」已被使用")
            user = User(username=name, display_name=display_name.strip() or name, role=role.value,
                        password_hash=_HASHER.hash(password), must_change_password=must_change)
            session.add(user)
            session.flush()
            record_event(session, "create", f"新增账号「{name}」（{role.label}）", "user_account", user.id)
            return _actor(user)

    def authenticate(self, username: str, password: str) -> Actor:
        """Check the password; lock the account for a while after repeated failures."""
        with self.db.session(username) as session:
            user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
            if user is None or not user.active:
                raise AuthenticationError("用户名或密码错误。")
            now = utcnow()
            if user.locked_until and user.locked_until > now:
                minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
                raise AuthenticationError(f"密码错误次数过多，账号已锁定，请{minutes}分钟后再试，或请管理员解锁。")
            try:
                _HASHER.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                user.failed_attempts += 1
                left = MAX_FAILED_ATTEMPTS - user.failed_attempts
                if left <= 0:
                    user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                    user.failed_attempts = 0
                    record_event(session, "login", f"账号「{user.username}」连续输错密码，已锁定", "user_account", user.id)
                    message = f"密码错误次数过多，账号已锁定{LOCK_MINUTES}分钟。"
                else:
                    message = f"用户名或密码错误，还可以再试{left}次。"
                failure = AuthenticationError(message)
            else:
                failure = None
                user.failed_attempts = 0
                user.locked_until = None
                user.last_login_at = now
                if _HASHER.check_needs_rehash(user.password_hash):
                    user.password_hash = _HASHER.hash(password)
                record_event(session, "login", f"「{user.username}」登录", "user_account", user.id)
                actor = _actor(user)
        # The failed-attempt counter must be committed, so the error is raised after the transaction.
        if failure:
            raise failure
        return actor

    def must_change_password(self, actor: Actor) -> bool:
        with self.db.session() as session:
            user = session.get(User, actor.user_id)
            return bool(user and user.must_change_password)

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> None:
        check_password_strength(new_password, "new_password")
        if old_password == new_password:
            raise ValidationError.single("new_password", "新密码", "新密码不能与原密码相同")
        with self.db.session(actor.username) as session:
            user = session.get(User, actor.user_id)
            if user is None:
                raise NotFound("账号不存在。")
            try:
                _HASHER.verify(user.password_hash, old_password)
            except (VerificationError, InvalidHashError):
                raise ValidationError.single("old_password", "原密码", "原密码不正确") from None
            user.password_hash = _HASHER.hash(new_password)
            user.must_change_password = False
            record_event(session, "update", f"「{user.username}」修改了密码", "user_account", user.id)

    # -- administration --------------------------------------------------------------------
    def list_users(self, actor: Actor) -> list[UserInfo]:
        actor.require_admin()
        with self.db.session() as session:
            return [_info(u) for u in session.scalars(select(User).order_by(User.created_at))]

    def add_user(self, actor: Actor, username: str, password: str, display_name: str, role: Role) -> None:
        """New accounts must change the password the administrator gave them at first log-in."""
        actor.require_admin()
        self._create(username, password, display_name, role, creator=actor.username, must_change=True)

    def set_role(self, actor: Actor, user_id: str, role: Role) -> None:
        actor.require_admin()
        with self.db.session(actor.username) as session:
            user = self._get(session, user_id)
            if user.role == Role.ADMIN.value and role is not Role.ADMIN:
                self._keep_one_admin(session, user)
            user.role = role.value
            record_event(session, "update", f"把「{user.username}」的角色改为{role.label}", "user_account", user.id)

    def set_active(self, actor: Actor, user_id: str, active: bool) -> None:
        actor.require_admin()
        with self.db.session(actor.username) as session:
            user = self._get(session, user_id)
            if not active and user.role == Role.ADMIN.value:
                self._keep_one_admin(session, user)
            user.active = active
            record_event(session, "update", f"{'启用' if active else '停用'}账号「{user.username}」", "user_account", user.id)

    def reset_password(self, actor: Actor, user_id: str, new_password: str) -> None:
        actor.require_admin()
        check_password_strength(new_password)
        with self.db.session(actor.username) as session:
            user = self._get(session, user_id)
            user.password_hash = _HASHER.hash(new_password)
            user.must_change_password = user.id != actor.user_id
            user.failed_attempts = 0
            user.locked_until = None
            record_event(session, "update", f"重置了「{user.username}」的密码", "user_account", user.id)

    def unlock(self, actor: Actor, user_id: str) -> None:
        actor.require_admin()
        with self.db.session(actor.username) as session:
            user = self._get(session, user_id)
            user.failed_attempts = 0
            user.locked_until = None
            record_event(session, "update", f"解锁账号「{user.username}」", "user_account", user.id)

    @staticmethod
    def _get(session: Session, user_id: str) -> User:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("账号不存在。")
        return user

    @staticmethod
    def _keep_one_admin(session: Session, user: User) -> None:
        # Count the *other* active administrators: an inactive admin can be demoted while one other is active.
        others = session.scalar(
            select(func.count()).select_from(User).where(
                User.role == Role.ADMIN.value, User.active.is_(True), User.id != user.id
            )
        )
        if not others:
            raise ValidationError.single("role", "角色", f"「{user.username}」是唯一的管理员，不能降级或停用")
