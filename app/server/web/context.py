"""What every page handler shares: the county store, the overview, the templates and the file area, and
one way to render a page (with the logged-in staff, the CSRF token, notices and security headers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app import __version__
from app.localtime import format_local
from app.server.overview import STALE_DAYS, CountyOverview
from app.server.staff import Staff
from app.server.web.files import FileArea
from app.server.web.security import SECURITY_HEADERS, csrf_token, session_staff, take_flashes
from app.sync.county import CountyStore

WEB_DIR = Path(__file__).resolve().parent


@dataclass
class WebContext:
    store: CountyStore
    overview: CountyOverview
    templates: Jinja2Templates
    files: FileArea
    max_upload: int

    @property
    def county_name(self) -> str:
        return self.store.name


def web(request: Request) -> WebContext:
    return request.app.state.web


def _number(value: float | int | None) -> str:
    """Scores as people write them: 97.5, 100 (never 100.0)."""
    return "" if value is None else f"{value:g}"


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return format_local(value) if isinstance(value, datetime) else value.isoformat()


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    env = templates.env
    env.filters["num"] = _number
    env.filters["when"] = _when
    env.globals["version"] = __version__
    env.globals["stale_days"] = STALE_DAYS
    return templates


LOOK_UP = object()  # render's default: find the session's staff member (pages without a dependency)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200,
           staff: Staff | object | None = LOOK_UP) -> HTMLResponse:
    """``staff`` None renders the page as for nobody logged in (the log-in page, database errors)."""
    ctx = web(request)
    values = {
        "county_name": ctx.county_name,
        "staff": session_staff(request) if staff is LOOK_UP else staff,
        "csrf": csrf_token(request),
        "flashes": take_flashes(request),
        "page": name.removesuffix(".html"),
        **(context or {}),
    }
    response = ctx.templates.TemplateResponse(request, name, values, status_code=status)
    response.headers.update(SECURITY_HEADERS)
    return response
