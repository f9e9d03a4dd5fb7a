"""Local accounts: first administrator, log-in and lock-out, passwords, user administration."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.errors import AuthenticationError, NotFound, PermissionDenied, ValidationError
from app.models import AuditEntry, Role, User, utcnow
from app.services import accounts as accounts_module
from app.services.accounts import LOCK_MINUTES, MAX_FAILED_ATTEMPTS, AccountService, check_password_strength
from app.services.context import Actor
from app.storage import Database

PASSWORD = "Qingshan2024"
OTHER_PASSWORD = "Anyuan2025x"


@pytest.fixture
def accounts(db: Database) -> AccountService:
    return AccountService(db)


@pytest.fixture
def admin(accounts: AccountService) -> Actor:
    return accounts.create_first_admin("admin", PASSWORD, "王主任")


def _user(db: Database, username: str) -> User:
    with db.session() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def _audit(db: Database, action: str | None = None) -> list[AuditEntry]:
    with db.session() as session:
        stmt = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return list(session.scalars(stmt))


def _add(accounts: AccountService, admin: Actor, username: str, role: Role = Role.CLERK) -> Actor:
    accounts.add_user(admin, username, PASSWORD, "", role)
    return accounts.authenticate(username, PASSWORD)


# ── first administrator ──────────────────────────────────────────────────────────────────────────


def test_first_admin_only_when_no_users(accounts: AccountService) -> None:
    assert accounts.has_users() is False
    actor = accounts.create_first_admin("admin", PASSWORD, "王主任")
    assert actor.role is Role.ADMIN
    assert actor.username == "admin"
    assert actor.display_name == "王主任"
    assert actor.user_id
    assert accounts.has_users() is True
    with pytest.raises(ValidationError, match="已存在账号") as info:
        accounts.create_first_admin("second", PASSWORD)
    assert "username" in info.value.errors
    assert [u.username for u in accounts.list_users(actor)] == ["admin"]


def test_first_admin_display_name_defaults_to_username(accounts: AccountService) -> None:
    actor = accounts.create_first_admin("  zhang  ", PASSWORD)
    assert actor.username == "zhang"
    assert actor.display_name == "zhang"
    assert accounts.must_change_password(actor) is False


@pytest.mark.parametrize(
    "password, problem",
    [("", "密码至少8位"), ("Ab1", "密码至少8位"), ("abcdefgh", "密码需同时包含字母和数字"),
     ("12345678", "密码需同时包含字母和数字"), ("密码密码密码密码", "密码需同时包含字母和数字")],
)
def test_password_policy(accounts: AccountService, password: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        accounts.create_first_admin("admin", password)
    assert info.value.errors == {"password": problem}
    assert str(info.value) == f"密码：{problem}"
    assert accounts.has_users() is False


def test_password_strength_accepts_letters_and_digits() -> None:
    check_password_strength("abcdefg1")
    check_password_strength("1234567a")
    with pytest.raises(ValidationError) as info:
        check_password_strength("short", "new_password")
    assert list(info.value.errors) == ["new_password"]


@pytest.mark.parametrize("username", ["a", "has space", "x" * 33, "semi;colon", ""])
def test_username_rules(accounts: AccountService, username: str) -> None:
    with pytest.raises(ValidationError, match="用户名：应为2–32位"):
        accounts.create_first_admin(username, PASSWORD)


def test_chinese_usernames_are_allowed(accounts: AccountService) -> None:
    actor = accounts.create_first_admin("王小明", PASSWORD)
    assert accounts.authenticate("王小明", PASSWORD).user_id == actor.user_id


# ── passwords are stored as Argon2 hashes ────────────────────────────────────────────────────────


def test_passwords_are_argon2_hashes_never_plaintext(db: Database, accounts: AccountService, admin: Actor) -> None:
    accounts.add_user(admin, "clerk1", OTHER_PASSWORD, "", Role.CLERK)
    for name, password in (("admin", PASSWORD), ("clerk1", OTHER_PASSWORD)):
        stored = _user(db, name).password_hash
        assert stored.startswith("$argon2id$")
        assert password not in stored
    a, b = _user(db, "admin").password_hash, _user(db, "clerk1").password_hash
    assert a != b
    # Nowhere in the database files (main file and write-ahead log) does a password appear.
    blobs = b"".join(p.read_bytes() for p in (db.path, Path(f"{db.path}-wal")) if p.exists())
    for password in (PASSWORD, OTHER_PASSWORD):
        assert password.encode() not in blobs
        assert password.encode("utf-16-le") not in blobs


def test_same_password_hashes_differently_each_time(db: Database, accounts: AccountService, admin: Actor) -> None:
    accounts.add_user(admin, "clerk1", PASSWORD, "", Role.CLERK)
    assert _user(db, "admin").password_hash != _user(db, "clerk1").password_hash  # salted


# ── log-in ───────────────────────────────────────────────────────────────────────────────────────


def test_authenticate_success(db: Database, accounts: AccountService, admin: Actor) -> None:
    actor = accounts.authenticate("admin", PASSWORD)
    assert actor == admin
    user = _user(db, "admin")
    assert user.last_login_at is not None
    assert abs(user.last_login_at - utcnow()) < timedelta(minutes=1)
    assert user.failed_attempts == 0


def test_authenticate_ignores_case_and_spaces_in_username(accounts: AccountService, admin: Actor) -> None:
    assert accounts.authenticate("  ADMIN ", PASSWORD).user_id == admin.user_id


@pytest.mark.parametrize("username, password", [("admin", "wrong-pass1"), ("nobody", PASSWORD), ("admin", "")])
def test_authenticate_failure(accounts: AccountService, admin: Actor, username: str, password: str) -> None:
    with pytest.raises(AuthenticationError, match="用户名或密码错误"):
        accounts.authenticate(username, password)


def test_unknown_user_and_wrong_password_do_not_reveal_which(accounts: AccountService, admin: Actor) -> None:
    with pytest.raises(AuthenticationError) as unknown:
        accounts.authenticate("nobody", PASSWORD)
    with pytest.raises(AuthenticationError) as wrong:
        accounts.authenticate("admin", "wrong-pass1")
    assert str(unknown.value).startswith("用户名或密码错误")
    assert str(wrong.value).startswith("用户名或密码错误")


def test_login_events_are_audited(db: Database, accounts: AccountService, admin: Actor) -> None:
    accounts.authenticate("admin", PASSWORD)
    logins = _audit(db, "login")
    assert len(logins) == 1
    assert logins[0].summary == "「admin」登录"
    assert logins[0].username == "admin"
    assert logins[0].entity == "user_account"
    assert logins[0].entity_id == admin.user_id
    with pytest.raises(AuthenticationError):
        accounts.authenticate("admin", "wrong-pass1")
    assert len(_audit(db, "login")) == 1  # a single wrong password is not a log-in


def test_account_creation_is_audited(db: Database, accounts: AccountService, admin: Actor) -> None:
    accounts.add_user(admin, "clerk1", PASSWORD, "李四", Role.CLERK)
    created = _audit(db, "create")
    assert [e.summary for e in created] == ["新增账号「admin」（管理员）", "新增账号「clerk1」（录入员）"]
    assert created[1].username == "admin"


# ── lock-out ─────────────────────────────────────────────────────────────────────────────────────


def test_failed_attempts_are_committed_even_though_an_error_is_raised(
    db: Database, accounts: AccountService, admin: Actor
) -> None:
    for attempt in range(1, MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationError) as info:
            accounts.authenticate("admin", f"wrong-pass{attempt}")
        assert str(info.value) == f"用户名或密码错误，还可以再试{MAX_FAILED_ATTEMPTS - attempt}次。"
        assert _user(db, "admin").failed_attempts == attempt
    assert _user(db, "admin").locked_until is None


def test_lock_after_five_failures(db: Database, accounts: AccountService, admin: Actor) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("admin", "wrong-pass1")
    with pytest.raises(AuthenticationError) as info:
        accounts.authenticate("admin", "wrong-pass1")
    assert str(info.value) == f"密码错误次数过多，账号已锁定{LOCK_MINUTES}分钟。"
    user = _user(db, "admin")
    assert user.locked_until is not None
    assert timedelta(minutes=LOCK_MINUTES - 1) < user.locked_until - utcnow() <= timedelta(minutes=LOCK_MINUTES)
    assert any("已锁定" in e.summary for e in _audit(db, "login"))
    # The right password is refused while locked, with how long to wait.
    with pytest.raises(AuthenticationError) as locked:
        accounts.authenticate("admin", PASSWORD)
    assert "账号已锁定" in str(locked.value)
    assert f"请{LOCK_MINUTES}分钟后再试" in str(locked.value)
    assert "请管理员解锁" in str(locked.value)
    assert _user(db, "admin").last_login_at is None


def _lock(accounts: AccountService, username: str) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(username, "wrong-pass1")


def test_lock_expires(db: Database, accounts: AccountService, admin: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    _lock(accounts, "admin")
    later = utcnow() + timedelta(minutes=LOCK_MINUTES - 1)
    monkeypatch.setattr(accounts_module, "utcnow", lambda: later)
    with pytest.raises(AuthenticationError, match=r"请[12]分钟后再试"):
        accounts.authenticate("admin", PASSWORD)
    after = utcnow() + timedelta(minutes=LOCK_MINUTES, seconds=5)
    monkeypatch.setattr(accounts_module, "utcnow", lambda: after)
    assert accounts.authenticate("admin", PASSWORD).user_id == admin.user_id
    user = _user(db, "admin")
    assert user.locked_until is None
    assert user.failed_attempts == 0


def test_lock_in_the_past_does_not_block(db: Database, accounts: AccountService, admin: Actor) -> None:
    _lock(accounts, "admin")
    with db.session() as session:
        session.get(User, admin.user_id).locked_until = utcnow() - timedelta(seconds=1)
    assert accounts.authenticate("admin", PASSWORD).user_id == admin.user_id


def test_admin_unlocks_a_locked_account(db: Database, accounts: AccountService, admin: Actor) -> None:
    clerk = _add(accounts, admin, "clerk1")
    _lock(accounts, "clerk1")
    with pytest.raises(AuthenticationError, match="已锁定"):
        accounts.authenticate("clerk1", PASSWORD)
    info = {u.username: u for u in accounts.list_users(admin)}
    assert info["clerk1"].locked is True
    assert info["admin"].locked is False
    accounts.unlock(admin, clerk.user_id)
    assert accounts.authenticate("clerk1", PASSWORD).user_id == clerk.user_id
    assert {u.username: u for u in accounts.list_users(admin)}["clerk1"].locked is False
    assert any(e.summary == "解锁账号「clerk1」" for e in _audit(db, "update"))


def test_successful_login_resets_the_counter(db: Database, accounts: AccountService, admin: Actor) -> None:
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(AuthenticationError):
            accounts.authenticate("admin", "wrong-pass1")
    accounts.authenticate("admin", PASSWORD)
    assert _user(db, "admin").failed_attempts == 0
    with pytest.raises(AuthenticationError, match="还可以再试4次"):
        accounts.authenticate("admin", "wrong-pass1")


def test_deactivated_account_cannot_log_in(accounts: AccountService, admin: Actor) -> None:
    clerk = _add(accounts, admin, "clerk1")
    accounts.set_active(admin, clerk.user_id, False)
    with pytest.raises(AuthenticationError, match="用户名或密码错误"):
        accounts.authenticate("clerk1", PASSWORD)
    accounts.set_active(admin, clerk.user_id, True)
    assert accounts.authenticate("clerk1", PASSWORD).user_id == clerk.user_id


# ── changing passwords ───────────────────────────────────────────────────────────────────────────


def test_change_password(db: Database, accounts: AccountService, admin: Actor) -> None:
    old_hash = _user(db, "admin").password_hash
    accounts.change_password(admin, PASSWORD, OTHER_PASSWORD)
    assert _user(db, "admin").password_hash != old_hash
    with pytest.raises(AuthenticationError):
        accounts.authenticate("admin", PASSWORD)
    assert accounts.authenticate("admin", OTHER_PASSWORD).user_id == admin.user_id
    assert any(e.summary == "「admin」修改了密码" for e in _audit(db, "update"))


def test_change_password_wrong_old_password(db: Database, accounts: AccountService, admin: Actor) -> None:
    old_hash = _user(db, "admin").password_hash
    with pytest.raises(ValidationError) as info:
        accounts.change_password(admin, "not-the-old-1", OTHER_PASSWORD)
    assert info.value.errors == {"old_password": "原密码不正确"}
    assert "原密码" in str(info.value)
    assert _user(db, "admin").password_hash == old_hash


def test_change_password_checks_new_password(accounts: AccountService, admin: Actor) -> None:
    with pytest.raises(ValidationError) as weak:
        accounts.change_password(admin, PASSWORD, "weak")
    assert list(weak.value.errors) == ["new_password"]
    with pytest.raises(ValidationError, match="新密码不能与原密码相同"):
        accounts.change_password(admin, PASSWORD, PASSWORD)


def test_change_password_of_missing_account(accounts: AccountService, admin: Actor) -> None:
    ghost = Actor("ghost", "", Role.CLERK, "no-such-id")
    with pytest.raises(NotFound):
        accounts.change_password(ghost, PASSWORD, OTHER_PASSWORD)


# ── administration ───────────────────────────────────────────────────────────────────────────────


def test_add_user_forces_password_change(accounts: AccountService, admin: Actor) -> None:
    accounts.add_user(admin, "clerk1", PASSWORD, "李四", Role.CLERK)
    clerk = accounts.authenticate("clerk1", PASSWORD)
    assert clerk.role is Role.CLERK
    assert clerk.display_name == "李四"
    assert accounts.must_change_password(clerk) is True
    accounts.change_password(clerk, PASSWORD, OTHER_PASSWORD)
    assert accounts.must_change_password(clerk) is False


def test_add_user_refuses_taken_name_ignoring_case(accounts: AccountService, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="用户名「ADMIN」已被使用"):
        accounts.add_user(admin, "ADMIN", PASSWORD, "", Role.CLERK)
    assert len(accounts.list_users(admin)) == 1


def test_list_users(accounts: AccountService, admin: Actor) -> None:
    _add(accounts, admin, "clerk1")
    _add(accounts, admin, "reader1", Role.READONLY)
    users = accounts.list_users(admin)
    assert [(u.username, u.role, u.active) for u in users] == [
        ("admin", Role.ADMIN, True), ("clerk1", Role.CLERK, True), ("reader1", Role.READONLY, True)
    ]
    assert all(u.last_login_at is not None for u in users[1:])


def test_reset_password(accounts: AccountService, admin: Actor, db: Database) -> None:
    clerk = _add(accounts, admin, "clerk1")
    accounts.change_password(clerk, PASSWORD, OTHER_PASSWORD)
    _lock(accounts, "clerk1")
    accounts.reset_password(admin, clerk.user_id, "Temporary99")
    assert accounts.authenticate("clerk1", "Temporary99").user_id == clerk.user_id  # also unlocked
    assert accounts.must_change_password(clerk) is True
    accounts.reset_password(admin, admin.user_id, "Mine12345")  # one's own: no forced change
    assert accounts.must_change_password(admin) is False
    with pytest.raises(ValidationError, match="密码至少8位"):
        accounts.reset_password(admin, clerk.user_id, "x1")
    with pytest.raises(NotFound):
        accounts.reset_password(admin, "no-such-id", "Temporary99")


def test_set_role(accounts: AccountService, admin: Actor) -> None:
    clerk = _add(accounts, admin, "clerk1")
    accounts.set_role(admin, clerk.user_id, Role.ADMIN)
    assert accounts.authenticate("clerk1", PASSWORD).role is Role.ADMIN
    accounts.set_role(admin, clerk.user_id, Role.READONLY)
    assert accounts.authenticate("clerk1", PASSWORD).role is Role.READONLY


def test_cannot_demote_or_deactivate_the_last_admin(accounts: AccountService, admin: Actor) -> None:
    with pytest.raises(ValidationError, match="唯一的管理员") as info:
        accounts.set_role(admin, admin.user_id, Role.CLERK)
    assert "role" in info.value.errors
    with pytest.raises(ValidationError, match="唯一的管理员"):
        accounts.set_active(admin, admin.user_id, False)
    assert accounts.authenticate("admin", PASSWORD).role is Role.ADMIN


def test_one_of_two_admins_can_go(accounts: AccountService, admin: Actor) -> None:
    second = _add(accounts, admin, "admin2", Role.ADMIN)
    accounts.set_role(admin, second.user_id, Role.CLERK)
    with pytest.raises(ValidationError, match="唯一的管理员"):
        accounts.set_role(admin, admin.user_id, Role.CLERK)


def test_deactivated_admins_do_not_count_as_the_remaining_admin(accounts: AccountService, admin: Actor) -> None:
    second = _add(accounts, admin, "admin2", Role.ADMIN)
    accounts.set_active(admin, second.user_id, False)
    with pytest.raises(ValidationError, match="唯一的管理员"):
        accounts.set_active(admin, admin.user_id, False)
    with pytest.raises(ValidationError, match="唯一的管理员"):
        accounts.set_role(admin, admin.user_id, Role.CLERK)


def test_an_inactive_admin_can_be_demoted_while_another_is_active(accounts: AccountService, admin: Actor) -> None:
    second = _add(accounts, admin, "admin2", Role.ADMIN)
    accounts.set_active(admin, second.user_id, False)
    accounts.set_role(admin, second.user_id, Role.CLERK)  # 'admin' stays the active administrator
    roles = {u.username: u.role for u in accounts.list_users(admin)}
    assert roles == {"admin": Role.ADMIN, "admin2": Role.CLERK}


@pytest.mark.parametrize("role", [Role.CLERK, Role.READONLY])
def test_non_admins_cannot_administer(accounts: AccountService, admin: Actor, db: Database, role: Role) -> None:
    other = _add(accounts, admin, "user1", role)
    target = admin.user_id
    attempts = [
        lambda: accounts.list_users(other),
        lambda: accounts.add_user(other, "sneaky", PASSWORD, "", Role.ADMIN),
        lambda: accounts.set_role(other, other.user_id, Role.ADMIN),
        lambda: accounts.set_active(other, target, False),
        lambda: accounts.reset_password(other, target, "Hijacked123"),
        lambda: accounts.unlock(other, other.user_id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="只有管理员可以进行此操作"):
            attempt()
    assert [u.username for u in accounts.list_users(admin)] == ["admin", "user1"]
    assert _user(db, "user1").role == role.value
    assert accounts.authenticate("admin", PASSWORD).user_id == admin.user_id


def test_admin_operations_on_missing_accounts(accounts: AccountService, admin: Actor) -> None:
    for op in (
        lambda: accounts.set_role(admin, "missing", Role.CLERK),
        lambda: accounts.set_active(admin, "missing", False),
        lambda: accounts.unlock(admin, "missing"),
    ):
        with pytest.raises(NotFound, match="账号不存在"):
            op()
