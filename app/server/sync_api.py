"""The township sync API (/api/v1): a cheap state call, resumable uploads applied once on completion,
return bundles with Range downloads, downstream bundles and acknowledgements.

HTTP only moves bytes: an upload is the same bundle file a USB stick carries, applied by the same
``CountyStore.import_bundle``; a return is the same return file the township imports.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app import __version__
from app.server.errors import ApiError, install_error_handlers
from app.server.limits import RateLimiter
from app.server.uploads import ID_PATTERN, ReturnArea, Upload, UploadArea, sha256_file
from app.sync.bundle import peek_envelope
from app.sync.county import CountyImportResult, CountyStore
from app.sync.errors import SyncError, describe
from app.sync.http_auth import H_ENROL, NonceCache, decode_enrol, verify_request

if TYPE_CHECKING:
    from app.server.app import ServerSettings

MAX_LISTED_UPLOADS = 4  # keeps the state answer small; a PC stages one upload at a time anyway
CONTACT_SECONDS = 60  # resolution of a PC's last contact (sync_peer.last_seen_at)


# -- request and response shapes (they are also the OpenAPI schema) ------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _json_integer(value: Any) -> Any:
    """JSON Schema's integer: 12 and 12.0, never "12" or true (pydantic's lax mode would take both)."""
    if isinstance(value, (str, bool)):
        raise ValueError("应为整数")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class UploadRequest(_Strict):
    bundle_id: str = Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                           description="The bundle's id (its envelope's bundle_id)")
    size: JsonInt = Field(ge=1, description="Bytes of the bundle file")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the bundle file, lower-case hex")


class AckRequest(_Strict):
    downstream: JsonInt = Field(ge=0, description="Highest downstream sequence the PC applied")


class UploadInfo(BaseModel):
    upload_id: str
    bundle_id: str
    size: int
    committed: int
    applied: bool


class StateResponse(BaseModel):
    server_time: int
    county_name: str
    township_id: str
    node_status: str
    upstream_acked: int
    downstream_acked: int
    downstream_top: int
    uploads: list[UploadInfo]


class Committed(BaseModel):
    committed: int


class ReturnInfo(BaseModel):
    return_id: str
    size: int
    sha256: str


class CompleteResponse(BaseModel):
    ack: dict[str, int]
    applied: int
    unchanged: int
    conflicts: int
    messages: list[str]
    replay: bool
    return_: ReturnInfo | None = Field(alias="return")


class DownstreamResponse(BaseModel):
    return_: ReturnInfo | None = Field(alias="return")


class AckResponse(BaseModel):
    downstream_acked: int


class HealthResponse(BaseModel):
    ok: bool
    version: str
    server_time: int


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


# -- context and authentication --------------------------------------------------------------------
@dataclass
class ApiContext:
    store: CountyStore
    settings: ServerSettings
    uploads: UploadArea
    returns: ReturnArea
    limiter: RateLimiter
    nonces: NonceCache
    import_lock: threading.Lock  # one import at a time: SQLite has one writer, and so the ledger is simple
    # when each PC's contact was last written: the no-op state call then takes no database write lock
    contact_written: dict[str, int] = field(default_factory=dict)

    def now(self) -> int:
        return int(self.settings.clock())

    def contact_due(self, node: str) -> bool:
        """True at most once a minute per PC: the county pages show last contact to the minute."""
        now = self.now()
        if now - self.contact_written.get(node, -CONTACT_SECONDS) < CONTACT_SECONDS:
            return False
        self.contact_written[node] = now
        return True

    def throttle(self, key: str) -> None:
        wait = self.limiter.take(key)
        if wait:
            raise ApiError("rate_limited", describe("rate_limited", f"请 {wait} 秒后再试"),
                           extra={"retry_after": wait}, headers={"Retry-After": str(wait)})


@dataclass(frozen=True)
class Caller:
    node_id: str
    body: bytes
    enrol: dict[str, Any] | None


def _signed_path(request: Request) -> str:
    """The path exactly as the client sent (and signed) it, with its query string."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    path = raw.decode("latin-1").split("?", 1)[0]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _context(request: Request) -> ApiContext:
    return request.app.state.ctx


async def caller(request: Request) -> Caller:
    """Authenticate the request (signature by the PC's enrolled keys) and count it against its rate."""
    ctx = _context(request)
    body = await request.body()
    try:
        node = await run_in_threadpool(verify_request, request.method, _signed_path(request), request.headers,
                                       body, ctx.now(), ctx.store.peer_keys, ctx.nonces,
                                       ctx.settings.time_window)
    except SyncError:
        # failed attempts count against the caller's address: guessing keys costs time
        ctx.throttle(f"addr:{request.client.host if request.client else ''}")
        raise
    ctx.throttle(f"node:{node}")
    if ctx.contact_due(node):
        await run_in_threadpool(ctx.store.seen, node)
    enrol_text = request.headers.get(H_ENROL)
    return Caller(node, body, decode_enrol(enrol_text) if enrol_text else None)


# -- handlers ----------------------------------------------------------------------------------------
Authenticated = Annotated[Caller, Depends(caller)]
UploadId = Annotated[str, PathParam(pattern=ID_PATTERN, description="32 hex digits, from POST /uploads")]
ReturnId = Annotated[str, PathParam(pattern=ID_PATTERN, description="32 hex digits, from a return descriptor")]
PIECE_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 422, 429, 503)}


def _answer(result: CountyImportResult) -> dict[str, Any]:
    return {"ack": {"upstream": result.acknowledged_to}, "applied": result.applied, "unchanged": result.unchanged,
            "conflicts": result.conflicts, "messages": list(result.messages), "replay": result.replay}


def _router() -> APIRouter:
    router = APIRouter(responses=ERRORS)

    @router.get("/health", response_model=HealthResponse, summary="Is the server up (no authentication)")
    def health(request: Request) -> dict[str, Any]:
        return {"ok": True, "version": __version__, "server_time": _context(request).now()}

    @router.get("/state", response_model=StateResponse, summary="Where this PC stands (the one cheap call)")
    def state(request: Request, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        node = ctx.store.node_state(who.node_id, who.enrol)
        uploads = ctx.uploads.for_node(who.node_id)[-MAX_LISTED_UPLOADS:]
        return {"server_time": ctx.now(), "county_name": ctx.store.name, **node,
                "uploads": [ctx.uploads.describe(u) for u in uploads]}

    @router.post("/uploads", response_model=UploadInfo, summary="Start (or find) the upload of one bundle")
    def create_upload(request: Request, upload: UploadRequest, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        if upload.size > ctx.settings.max_upload:
            raise ApiError("too_large", describe("too_large", f"同步文件 {upload.size} 字节，上限 {ctx.settings.max_upload} 字节"))
        ack = ctx.store.bundle_ack(who.node_id, upload.bundle_id)
        stored = None if ack is None else {
            "ack": {"upstream": int(ack.get("upstream", 0))}, "applied": 0, "unchanged": 0, "conflicts": 0,
            "messages": ["该同步文件县里已经导入过，数据没有变化。"], "replay": True}
        found = ctx.uploads.create(who.node_id, upload.bundle_id, upload.size, upload.sha256, stored)
        if stored is not None and not found.applied:  # applied meanwhile (e.g. the same file by USB)
            ctx.uploads.mark_applied(found, stored)
            ctx.uploads.drop_data(found)
        return ctx.uploads.describe(found)

    @router.put("/uploads/{upload_id}", response_model=Committed, openapi_extra=PIECE_BODY,
                summary="Append one piece at the committed offset")
    def put_piece(request: Request, upload_id: UploadId, offset: Annotated[int, Query(ge=0)],
                  who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        upload = ctx.uploads.get(upload_id, who.node_id)
        return {"committed": ctx.uploads.append(upload, offset, who.body)}

    @router.get("/uploads/{upload_id}", response_model=UploadInfo, summary="The committed offset of an upload")
    def get_upload(request: Request, upload_id: UploadId, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        return ctx.uploads.describe(ctx.uploads.get(upload_id, who.node_id))

    @router.post("/uploads/{upload_id}/complete", response_model=CompleteResponse, response_model_by_alias=True,
                 summary="Check and apply the uploaded bundle; the acknowledgement and a return bundle")
    def complete(request: Request, upload_id: UploadId, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        ctx.uploads.get(upload_id, who.node_id)  # 404/403 before a lock exists for the id
        with ctx.uploads.lock(upload_id):  # a retry racing the original waits, then sees it applied
            return _complete(ctx, ctx.uploads.get(upload_id, who.node_id))

    @router.post("/downstream", response_model=DownstreamResponse, response_model_by_alias=True,
                 summary="A return bundle with county changes after this PC's cursor (null: nothing new)")
    def downstream(request: Request, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        return {"return": _new_return(ctx, who.node_id, lambda folder: ctx.store.write_downstream(who.node_id, folder))}

    @router.get("/returns/{return_id}", summary="Download a return bundle (Range: bytes=N- resumes)",
                responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "Partial"},
                           416: {"model": ErrorResponse}})
    def get_return(request: Request, return_id: ReturnId, who: Authenticated) -> Response:
        item = _context(request).returns.get(return_id, who.node_id)
        start = _range_start(request.headers.get("range"))
        if start is not None and start >= item.size:
            return JSONResponse({"error": {"code": "bad_request", "message": f"请求的下载位置超出回执文件大小（{item.size} 字节）。"}},
                                status_code=416, headers={"Content-Range": f"bytes */{item.size}"})
        return FileResponse(item.path, media_type="application/octet-stream", filename=item.path.name,
                            headers={"X-XiangAn-SHA256": item.sha256})

    @router.post("/ack", response_model=AckResponse, summary="This PC applied county changes up to a sequence")
    def ack(request: Request, body: AckRequest, who: Authenticated) -> dict[str, Any]:
        ctx = _context(request)
        acked = ctx.store.acknowledge_downstream(who.node_id, body.downstream)
        ctx.returns.acknowledged(who.node_id)
        for upload in ctx.uploads.for_node(who.node_id):
            if upload.applied:  # the PC has its answer: the bytes are no longer needed
                ctx.uploads.drop_data(upload)
        return {"downstream_acked": acked}

    return router


def _range_start(header: str | None) -> int | None:
    """N of a single ``bytes=N-`` / ``bytes=N-M`` range (what a resuming client sends); None otherwise
    (a malformed Range is ignored, as HTTP says: the whole file is sent)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first = header[6:].split("-", 1)[0].strip()
    return int(first) if first.isdigit() else None


def _new_return(ctx: ApiContext, node_id: str, write: Any) -> dict[str, Any] | None:
    """Have the county write a return bundle into a fresh folder and publish it (or None)."""
    return_id, folder = ctx.returns.new_folder(node_id)
    try:
        path = write(folder)
    except BaseException:
        ctx.returns.discard(folder)
        raise
    if path is None:
        ctx.returns.discard(folder)
        return None
    return ctx.returns.register(return_id, node_id, path).describe()


def _complete(ctx: ApiContext, upload: Upload) -> dict[str, Any]:
    data = ctx.uploads.data_path(upload.upload_id)
    if upload.applied and not data.exists():
        # answered before and the bytes are gone: the stored acknowledgement, and county changes again
        returned = _new_return(ctx, upload.node_id,
                               lambda folder: ctx.store.write_downstream(upload.node_id, folder, force=True))
        return {**(upload.result or {}), "replay": True, "return": returned}
    committed = ctx.uploads.committed(upload)
    if committed != upload.size:
        raise ApiError("offset_mismatch", f"上传尚未完成（已收到 {committed} / {upload.size} 字节），请继续上传。",
                       extra={"committed": committed})
    if sha256_file(data) != upload.sha256:
        ctx.uploads.reset(upload)
        raise ApiError("damaged", describe("damaged", "收到的内容与声明的SHA-256不符，已清空，请重新上传"),
                       extra={"committed": 0})
    if peek_envelope(data).sender != upload.node_id:
        raise ApiError("forbidden", "该同步文件不是本机导出的，不能由本机上传。")
    answer: dict[str, Any] = {}

    def apply(folder: Any) -> Any:
        with ctx.import_lock:
            result = ctx.store.import_bundle(data, folder)
        answer.update(_answer(result))
        return result.return_path

    returned = _new_return(ctx, upload.node_id, apply)
    if not upload.applied:
        ctx.uploads.mark_applied(upload, answer)
    return {**answer, "return": returned}


def create_sync_api(store: CountyStore, settings: ServerSettings) -> FastAPI:
    """The /api/v1 application (mounted by ``create_app``), with its own JSON error handling."""
    api = FastAPI(title="乡安县级平台同步接口", version=__version__, openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None,
                  description="Township PCs sync with the county. Every call except /health is signed with the "
                              "PC's enrolled Ed25519 key (headers X-XiangAn-Node, -Time, -Nonce, -Signature).")
    uploads = UploadArea(settings.http_dir / "uploads")
    returns = ReturnArea(settings.http_dir / "returns")
    uploads.purge_stale()
    returns.purge_stale()
    api.state.ctx = ApiContext(store, settings, uploads, returns,
                               RateLimiter(settings.rate_per_minute, settings.rate_burst),
                               NonceCache(settings.time_window), threading.Lock())
    install_error_handlers(api, settings.clock)
    api.include_router(_router())
    return api
