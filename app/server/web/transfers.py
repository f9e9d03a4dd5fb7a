"""Files through the browser: upload a township's USB bundle (the same CountyStore.import_bundle as
``xiangan-county import``), enrol a township, and download the return and enrolment files."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.errors import NotFound, ValidationError, XiangAnError
from app.server.staff import Staff
from app.server.web.context import WebContext, render, web
from app.server.web.files import safe_file_name
from app.server.web.fonts import WEB_FONT, web_font
from app.server.web.pages import field_errors, read_form
from app.server.web.security import SECURITY_HEADERS, Writer, check_csrf
from app.sync.county import CountyImportResult

router = APIRouter()

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields beside the file
ENROL_LABELS = {"code": "乡镇代码", "name": "乡镇名称", "server_url": "县级平台地址"}


def _size_text(size: int) -> str:
    return f"{size / 1024 ** 3:.1f} GB" if size >= 1024 ** 3 else f"{size / 1024 ** 2:.0f} MB"


# -- upload ---------------------------------------------------------------------------------------------
def _upload_page(request: Request, staff: Staff, error: str = "", status: int = 200) -> Response:
    limit = _size_text(web(request).max_upload)
    return render(request, "upload.html", {"error": error, "limit": limit}, status=status, staff=staff)


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, staff: Writer) -> Response:
    return _upload_page(request, staff)


@router.post("/upload", response_class=HTMLResponse)
async def upload(request: Request, staff: Writer) -> Response:
    """The size is refused from the header before any byte is read; the file is imported exactly as the
    command line imports a file from a USB stick, and the return file is kept for download."""
    ctx = web(request)
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return _upload_page(request, staff, "上传请求缺少文件大小，请使用本页的表单上传。", 411)
    if int(declared) > ctx.max_upload + FORM_OVERHEAD:
        return _upload_page(request, staff, f"文件太大（{_size_text(int(declared))}），U盘同步文件不能超过"
                                            f"{_size_text(ctx.max_upload)}。", 413)
    async with request.form(max_files=1, max_fields=5) as form:
        check_csrf(request, form)
        bundle = form.get("bundle")
        if not isinstance(bundle, UploadFile) or not bundle.filename:
            return _upload_page(request, staff, "请选择要上传的U盘同步文件（.xab）。")
        try:
            token, result = await _import(ctx, bundle)
        except XiangAnError as exc:
            return _upload_page(request, staff, str(exc))
    return render(request, "upload_result.html", {"result": result, "token": token,
                                                  "file_name": result.return_path.name}, staff=staff)


async def _import(ctx: WebContext, bundle: UploadFile) -> tuple[str, CountyImportResult]:
    """Copy the upload beside the county's files, import it, keep the return file; nothing stays behind
    when it fails (the upload is always removed: the county database now holds what it carried)."""
    incoming = ctx.files.incoming()
    try:
        path = incoming / safe_file_name(bundle.filename or "", "upload.xab")
        await run_in_threadpool(_save, bundle, path)
        if path.stat().st_size == 0:
            raise XiangAnError(f"文件「{path.name}」是空的（0 字节），请重新从乡镇电脑导出。")
        token, return_dir = ctx.files.new_folder("returns")
        try:
            return token, await run_in_threadpool(ctx.store.import_bundle, path, return_dir)
        except XiangAnError as exc:
            ctx.files.discard(return_dir)
            raise XiangAnError(f"「{path.name}」未能导入：{exc}") from exc
    finally:
        ctx.files.discard(incoming)


def _save(upload: UploadFile, path: Path) -> None:
    upload.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)


# -- enrol ----------------------------------------------------------------------------------------------
def _enrol_page(request: Request, staff: Staff, values: dict[str, str], errors: dict[str, str]) -> Response:
    townships = web(request).store.status()
    return render(request, "enrol.html", {"values": values, "errors": errors, "townships": townships}, staff=staff)


@router.get("/enrol", response_class=HTMLResponse)
def enrol_page(request: Request, staff: Writer, code: str = "", name: str = "") -> Response:
    values = {"code": code, "name": name, "server_url": web(request).store.server_url}
    return _enrol_page(request, staff, values, {})


@router.post("/enrol", response_class=HTMLResponse)
async def enrol(request: Request, staff: Writer) -> Response:
    ctx = web(request)
    form = await read_form(request)
    values = {name: form.get(name, "").strip() for name in ("code", "name", "server_url")}
    token, folder = ctx.files.new_folder("enrolments")
    try:
        path: Path = await run_in_threadpool(ctx.store.add_township, values["code"], values["name"], folder,
                                             values["server_url"] or None)
    except ValidationError as exc:
        ctx.files.discard(folder)
        return _enrol_page(request, staff, values, field_errors(exc, ENROL_LABELS))
    server_url = values["server_url"] or ctx.store.server_url
    return render(request, "enrol_result.html", {"values": values, "token": token, "file_name": path.name,
                                                 "server_url": server_url}, staff=staff)


# -- downloads ------------------------------------------------------------------------------------------
@router.get("/files/{kind}/{token}")
def download(request: Request, kind: str, token: str, staff: Writer) -> Response:
    """A return or enrolment file: both are for 管理员 only (an enrolment file holds a one-time code)."""
    path = web(request).files.find(kind, token)
    if path is None:
        raise NotFound("该文件不存在或已过期（文件保留30天），请重新上传或登记。")
    return FileResponse(path, media_type="application/octet-stream", filename=path.name,
                        headers={k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"})


@router.get(f"/fonts/{WEB_FONT}")
def font(request: Request) -> Response:
    """The bundled Chinese font; the style sheet lists it last, so only a PC without one of its own loads it."""
    path = web_font(web(request).files.root / "fonts")
    if path is None:
        raise NotFound("字体文件不存在。")
    return FileResponse(path, media_type="font/ttf", headers={"Cache-Control": "public, max-age=2592000"})
