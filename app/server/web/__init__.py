"""The county staff's web pages: server-rendered Chinese HTML (Jinja2), a local style sheet and one small
script for sortable, filterable tables — nothing loaded from anywhere but this server.

``install_web(app, store, settings)`` adds them to the county server's application (app/server/app.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from app.errors import NotFound, PermissionDenied, StorageError
from app.server.overview import CountyOverview
from app.server.web import pages, transfers
from app.server.web.context import WEB_DIR, WebContext, make_templates, render
from app.server.web.files import FileArea
from app.server.web.security import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    CsrfRejected,
    LoginRequired,
    PasswordChangeRequired,
    login_url,
)
from app.sync.county import CountyStore

if TYPE_CHECKING:  # app.server.app imports this package when it builds the application
    from app.server.app import ServerSettings

HTTP_PROBLEMS = {404: "页面不存在。", 405: "该页面不支持这种操作。"}


def install_web(app: FastAPI, store: CountyStore, settings: ServerSettings) -> None:
    """Mount /static, add the pages at "/", the session cookie and the HTML error pages.

    From ``settings``: ``secret_key`` signs the session cookie (when empty, the random key kept in the
    county data folder is used), ``http_dir`` holds the files staff download, ``max_upload`` bounds a
    bundle uploaded in the browser."""
    if not settings.secret_key or settings.http_dir is None:
        settings = settings.resolved(store)
    app.state.web = WebContext(store=store, overview=CountyOverview(store), templates=make_templates(),
                               files=FileArea(Path(settings.http_dir) / "web"), max_upload=settings.max_upload)
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")
    app.include_router(pages.router)
    app.include_router(transfers.router)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_SECONDS, same_site="lax", https_only=settings.secure_cookies)
    _install_error_pages(app)


def _error_page(request: Request, status: int, message: str, look_up: bool = True) -> Response:
    extra = {} if look_up else {"staff": None}
    return render(request, "error.html", {"status": status, "message": message}, status=status, **extra)


def _install_error_pages(app: FastAPI) -> None:
    """HTML answers for the pages (the sync API under /api/v1 keeps its own JSON errors)."""

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_required(_request: Request, _exc: PasswordChangeRequired) -> Response:
        return RedirectResponse("/password", status_code=303)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, _exc: CsrfRejected) -> Response:
        return _error_page(request, 403, "安全校验未通过：页面已过期或不是从本系统的页面提交的。请返回上一页，刷新后重新提交。")

    @app.exception_handler(PermissionDenied)
    async def denied(request: Request, exc: PermissionDenied) -> Response:
        return _error_page(request, 403, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _error_page(request, 404, str(exc))

    @app.exception_handler(StorageError)
    async def storage(request: Request, exc: StorageError) -> Response:
        return _error_page(request, 503, f"县级数据库暂时无法使用：{exc}", look_up=False)

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException) -> Response:
        return _error_page(request, exc.status_code, HTTP_PROBLEMS.get(exc.status_code, "请求无法处理。"))
