"""Staff sessions and CSRF for the web pages: who is logged in, what they may do, and that a posted form
came from one of our own pages.

The session is Starlette's signed cookie (HttpOnly, SameSite=Lax, 8 hours). It holds only the account id
and the CSRF token; the account is re-read on every request, so a deactivated account is out at once.
Every POST form carries ``csrf_token`` (one random token per session, compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request

from app.errors import PermissionDenied
from app.server.staff import Staff, current_staff

SESSION_COOKIE = "xiangan_staff"
SESSION_SECONDS = 8 * 3600  # one working day; then log in again
CSRF_FIELD = "csrf_token"
# Sent with every page: no framing, no third-party anything (everything is served by this server).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to 登录 that comes back here afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """The account must set its own password before it sees anything else."""


class CsrfRejected(Exception):
    """A POST without this session's token: forged elsewhere, or the page is older than the session."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: Mapping[str, Any]) -> None:
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(given, str) or not hmac.compare_digest(
            expected.encode(), given.encode()):
        raise CsrfRejected


def start_session(request: Request, staff: Staff) -> None:
    """A fresh session (new token) at log-in: nothing from before the log-in carries over."""
    request.session.clear()
    request.session["uid"] = staff.user_id
    csrf_token(request)


def end_session(request: Request) -> None:
    request.session.clear()


def flash(request: Request, message: str) -> None:
    """A one-line notice shown on the next page (after a redirect)."""
    request.session["flash"] = [*request.session.get("flash", []), message][-3:]


def take_flashes(request: Request) -> list[str]:
    return list(request.session.pop("flash", []) or [])


def local_path(target: str | None, default: str = "/") -> str:
    """Where to go after log-in: only a path on this server (never ``//elsewhere`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


def staff_of(request: Request) -> Staff:
    """FastAPI dependency of every staff page."""
    staff = session_staff(request)
    if staff is None:
        query = f"?{request.url.query}" if request.url.query else ""
        raise LoginRequired(request.url.path + query)
    if staff.must_change_password:
        raise PasswordChangeRequired
    return staff


def session_staff(request: Request) -> Staff | None:
    user_id = request.session.get("uid")
    if not isinstance(user_id, str):
        return None
    return current_staff(request.app.state.web.store.db, user_id)


def writer_of(request: Request) -> Staff:
    """FastAPI dependency of pages that change data: 管理员 only (只读 accounts look, they do not act)."""
    staff = staff_of(request)
    if not staff.can_write:
        raise PermissionDenied(f"当前账号「{staff.username}」是只读账号，只能查看，不能上传、登记或督办。")
    return staff


LoggedIn = Annotated[Staff, Depends(staff_of)]
Writer = Annotated[Staff, Depends(writer_of)]
