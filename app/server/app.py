"""The county server's ASGI application: the township sync API under /api/v1 and the staff web pages."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from app import __version__
from app.server.limits import BodyLimit
from app.server.sync_api import create_sync_api
from app.server.web import install_web
from app.sync.county import CountyStore
from app.sync.http_auth import H_SERVER_TIME, WINDOW_SECONDS
from app.sync.limits import DEFAULT_LIMITS, MIB

API_PREFIX = "/api/v1"
SECRET_FILE = "secret.key"


@dataclass(frozen=True)
class ServerSettings:
    """Limits and secrets of one county server. Defaults suit production; tests shrink them."""

    max_piece: int = 4 * MIB  # one upload piece (the client sends 1 MiB)
    max_json: int = 64 * 1024  # any other request body
    max_upload: int = DEFAULT_LIMITS.max_file_bytes  # a whole bundle: what a USB stick could carry
    rate_per_minute: int = 240  # per PC, on average
    rate_burst: int = 60  # per PC, back to back
    time_window: int = WINDOW_SECONDS
    # Signs the staff's session cookies; "" = a random key kept in <http_dir>/secret.key (survives restarts).
    secret_key: str = ""
    # The staff's browsers reach the server over HTTPS (its own TLS or a proxy): the session cookie is then
    # never sent in clear.
    secure_cookies: bool = False
    http_dir: Path | None = None  # uploads and returns; default <county data dir>/http
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def resolved(self, store: CountyStore) -> ServerSettings:
        """These settings with the folder and the secret filled in for ``store``."""
        http_dir = Path(self.http_dir) if self.http_dir is not None else Path(store.data_dir) / "http"
        http_dir.mkdir(parents=True, exist_ok=True)
        return replace(self, http_dir=http_dir, secret_key=self.secret_key or _stored_secret(http_dir / SECRET_FILE))


def _stored_secret(path: Path) -> str:
    """A random key made once and kept (owner-readable only), so staff stay logged in across restarts."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if len(text) >= 32:
        return text
    text = secrets.token_hex(32)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="ascii")
    tmp.chmod(0o600)
    tmp.replace(path)
    return text


class ServerTime:
    """ASGI middleware: every response says the server's clock, so a client with a wrong clock can sign
    its next request with the server's time instead (and show the difference)."""

    def __init__(self, app: Any, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_time(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != H_SERVER_TIME.lower().encode()]
                headers.append((H_SERVER_TIME.lower().encode(), str(int(self.clock())).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_time)


def _body_limit(settings: ServerSettings) -> Callable[[dict[str, Any]], int | None]:
    pieces = f"{API_PREFIX}/uploads/"

    def limit_for(scope: dict[str, Any]) -> int | None:
        path = scope.get("path", "")
        if not path.startswith(API_PREFIX + "/"):
            return None  # the web pages set their own limit (a USB bundle uploaded through the browser)
        if scope.get("method") == "PUT" and path.startswith(pieces):
            return settings.max_piece
        return settings.max_json

    return limit_for


def create_app(store: CountyStore, settings: ServerSettings | None = None) -> FastAPI:
    """The whole county server for ``store``: sync API, web pages, limits, the server-time header."""
    settings = (settings or ServerSettings()).resolved(store)
    app = FastAPI(title="乡安县级平台", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store
    app.state.settings = settings
    app.mount(API_PREFIX, create_sync_api(store, settings))
    install_web(app, store, settings)
    app.add_middleware(BodyLimit, limit_for=_body_limit(settings))
    app.add_middleware(ServerTime, clock=settings.clock)
    return app
