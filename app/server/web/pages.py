"""The staff pages that read and act on township data: 登录/退出/修改密码, 乡镇总览, 乡镇详情 and 督办."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.errors import AuthenticationError, ValidationError
from app.models.base import utcnow
from app.models.validation import normalize_date
from app.server.overview import totals
from app.server.staff import Staff, change_password, log_in
from app.server.web.context import render, web
from app.server.web.security import (
    LoggedIn,
    LoginRequired,
    Writer,
    check_csrf,
    end_session,
    flash,
    local_path,
    session_staff,
    start_session,
)

router = APIRouter()

MAX_TITLE = 128  # supervision_order.title
MAX_CONTENT = 2000
SUPERVISION_LABELS = {"title": "督办标题", "content": "督办内容", "deadline": "整改期限", "hazard": "隐患编号",
                      "township": "乡镇代码"}
PASSWORD_LABELS = {"old_password": "原密码", "new_password": "新密码", "confirm": "确认新密码"}


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def read_form(request: Request) -> dict[str, str]:
    """The posted text fields (CSRF checked first); anything that is not text is ignored."""
    form = await request.form(max_files=0, max_fields=20)
    check_csrf(request, form)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def field_errors(exc: ValidationError, labels: dict[str, str]) -> dict[str, str]:
    """A service's ValidationError as "label：problem" per field (this form's label first: "新密码", not "密码")."""
    return {name: f"{labels.get(name) or exc.labels.get(name, '')}：{problem}".lstrip("：")
            for name, problem in exc.errors.items()}


# -- log-in ---------------------------------------------------------------------------------------------
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next_path: Annotated[str, Query(alias="next")] = "/") -> Response:
    if session_staff(request) is not None:
        return redirect(local_path(next_path))
    return render(request, "login.html", {"next": local_path(next_path), "username": "", "error": ""})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await read_form(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    target = local_path(form.get("next"))
    error = "" if username and password else "请输入用户名和密码。"
    if not error:
        try:
            staff = await run_in_threadpool(log_in, web(request).store.db, username, password)
        except AuthenticationError as exc:
            error = str(exc)
    if error:
        return render(request, "login.html", {"next": target, "username": username, "error": error}, staff=None)
    start_session(request, staff)
    return redirect("/password" if staff.must_change_password else target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    await read_form(request)
    end_session(request)
    flash(request, "已退出登录。")
    return redirect("/login")


def _logged_in(request: Request) -> Staff:
    """The session's account even when it still has to change its password (the one page it may see)."""
    staff = session_staff(request)
    if staff is None:
        raise LoginRequired(request.url.path)
    return staff


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request) -> Response:
    staff = _logged_in(request)
    return render(request, "password.html", {"errors": {}}, staff=staff)


@router.post("/password", response_class=HTMLResponse)
async def password(request: Request) -> Response:
    staff = _logged_in(request)
    form = await read_form(request)
    old, new, confirm = form.get("old_password", ""), form.get("new_password", ""), form.get("confirm", "")
    errors: dict[str, str] = {}
    if new != confirm:
        errors["confirm"] = "确认新密码：与新密码不一致"
    else:
        try:
            await run_in_threadpool(change_password, web(request).store.db, staff, old, new)
        except ValidationError as exc:
            errors = field_errors(exc, PASSWORD_LABELS)
    if errors:
        return render(request, "password.html", {"errors": errors}, staff=staff)
    flash(request, "密码已修改。")
    return redirect("/")


# -- overview and detail ---------------------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def overview(request: Request, staff: LoggedIn) -> Response:
    lines = web(request).overview.townships()
    now = utcnow()
    return render(request, "overview.html", {"lines": lines, "totals": totals(lines, now), "now": now}, staff=staff)


@router.get("/townships/{code}", response_class=HTMLResponse)
def township(request: Request, code: str, staff: LoggedIn) -> Response:
    detail = web(request).overview.township(code)
    return render(request, "township.html", {"d": detail, "line": detail.line}, staff=staff)


# -- 督办 ---------------------------------------------------------------------------------------------------
@router.get("/townships/{code}/supervise", response_class=HTMLResponse)
def supervise_page(request: Request, code: str, staff: Writer, hazard: str = "") -> Response:
    return _supervise_form(request, code, hazard, {"title": "", "content": "", "deadline": ""}, {}, staff)


@router.post("/townships/{code}/supervise", response_class=HTMLResponse)
async def supervise(request: Request, code: str, staff: Writer) -> Response:
    form = await read_form(request)
    number = form.get("hazard", "")
    values = {name: form.get(name, "").strip() for name in ("title", "content", "deadline")}
    errors, deadline = check_supervision(values, web(request).overview.today())
    if not errors:
        try:
            await run_in_threadpool(web(request).store.send_supervision, code, number, values["title"],
                                    values["content"], deadline, staff.username)
        except ValidationError as exc:
            errors = field_errors(exc, SUPERVISION_LABELS)
    if errors:
        return _supervise_form(request, code, number, values, errors, staff)
    flash(request, f"已下发督办「{values['title']}」（隐患 {number}），乡镇下次同步时收到。")
    return redirect(f"/townships/{code}#hazards")


def check_supervision(values: dict[str, str], today: date) -> tuple[dict[str, str], date | None]:
    """What the form itself can tell (the store checks the township and the hazard)."""
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = "督办标题：不能为空"
    elif len(values["title"]) > MAX_TITLE:
        errors["title"] = f"督办标题：不能超过{MAX_TITLE}个字（现有{len(values['title'])}个）"
    if len(values["content"]) > MAX_CONTENT:
        errors["content"] = f"督办内容：不能超过{MAX_CONTENT}个字（现有{len(values['content'])}个）"
    deadline = None
    try:
        deadline = normalize_date(values["deadline"])
    except ValueError as exc:
        errors["deadline"] = f"整改期限：{exc}"
    if deadline is not None and deadline < today:
        errors["deadline"] = f"整改期限：{deadline.isoformat()} 已经过去，不能早于今天（{today.isoformat()}）"
    return errors, deadline


def _supervise_form(request: Request, code: str, number: str, values: dict[str, Any], errors: dict[str, str],
                    staff: Staff) -> Response:
    view = web(request).overview.hazard(code, number)
    return render(request, "supervise.html", {"code": code, "h": view.row, "township_name": view.township_name,
                                              "orders": view.orders, "values": values, "errors": errors},
                  staff=staff)
