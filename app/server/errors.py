"""The sync API's error answers: ``{"error": {"code", "message", ...}}`` with a stable code, a Chinese
sentence and the HTTP status the contract gives each code — for every failure, expected or not."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import StorageError, XiangAnError
from app.sync.errors import SyncError, describe

log = logging.getLogger("xiangan.server")

# Codes not listed answer 422: the bundle was refused (wrong_township, fork, damaged, hash_mismatch …).
STATUS: dict[str, int] = {
    "bad_request": 400, "unauthenticated": 401, "bad_signature": 401, "unknown_sender": 401, "clock_skew": 401,
    "replayed_request": 401, "revoked": 403, "forbidden": 403, "not_found": 404, "method_not_allowed": 405,
    "offset_mismatch": 409, "too_large": 413, "rate_limited": 429, "internal": 500, "storage_unavailable": 503,
}
REFUSED = 422

_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_PROBLEMS = {
    "missing": "缺少该字段", "json_invalid": "不是有效的JSON", "model_attributes_type": "应为JSON对象",
    "dict_type": "应为JSON对象", "int_type": "应为整数", "int_parsing": "应为整数", "int_from_float": "应为整数",
    "string_type": "应为文本", "string_pattern_mismatch": "格式不对", "uuid_parsing": "应为UUID",
    "uuid_type": "应为UUID", "greater_than_equal": "数值过小", "less_than_equal": "数值过大",
    "string_too_long": "过长", "string_too_short": "过短", "extra_forbidden": "不认识该字段",
}


class ApiError(Exception):
    """An expected refusal raised by the API code itself (not by the sync core)."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None,
                 extra: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.code = code
        self.message = message or describe(code)
        self.status = status or STATUS.get(code, REFUSED)
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(self.message)


def error_response(code: str, message: str, status: int | None = None, extra: Mapping[str, Any] | None = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, **(extra or {})}}
    return JSONResponse(body, status_code=status or STATUS.get(code, REFUSED), headers=dict(headers or {}))


def validation_message(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """(field, Chinese sentence) for the first problem pydantic found in a request."""
    if not errors:
        return "", "请求格式错误。"
    first = errors[0]
    names = [str(part) for part in first.get("loc", ()) if str(part) not in _LOCATIONS]
    field = ".".join(names)
    problem = _PROBLEMS.get(str(first.get("type", "")), "格式不对")
    if not field:
        return "", f"请求内容{problem}。"
    return field, f"请求字段「{field}」{problem}。"


def install_error_handlers(api: FastAPI, clock: Callable[[], float] = time.time) -> None:
    """JSON error bodies for everything the sync API can raise (registered on the API's own app, so the
    web pages keep their HTML errors)."""

    @api.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.code, exc.message, exc.status, exc.extra, exc.headers)

    @api.exception_handler(SyncError)
    async def sync_error(_request: Request, exc: SyncError) -> JSONResponse:
        extra = {"server_time": int(clock())} if exc.code == "clock_skew" else {}
        return error_response(exc.code, str(exc), extra=extra)

    @api.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> JSONResponse:
        log.error("county database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return error_response("storage_unavailable", describe("storage_unavailable"))

    @api.exception_handler(XiangAnError)
    async def refused(_request: Request, exc: XiangAnError) -> JSONResponse:
        return error_response("bad_request", str(exc))

    @api.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = validation_message(exc.errors())
        return error_response("bad_request", message, extra={"field": field} if field else None)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "bad_request")
        message = {"method_not_allowed": "该地址不支持这种请求方法。"}.get(code) or describe(code)
        return error_response(code, message, exc.status_code, headers=exc.headers)

    @api.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected failure during %s %s", request.method, request.url.path)
        return error_response("internal", describe("internal", type(exc).__name__))
