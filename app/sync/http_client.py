"""The township PC's network sync: one round moves the SAME bundle files as the USB flow over HTTP.

A round: the cheap state call (nothing to do → that one request is all) → finish an upload staged by an
earlier, interrupted round, or export a new bundle → upload it in pieces from the offset the server
committed → complete (the server applies it with the same code as a USB import and answers with the
acknowledgement and a return bundle) → download the return, resuming with Range → import it with the same
code as a USB return → acknowledge what was applied. Without anything to send, only the county's new data
comes down. Every request is signed with the PC's enrolled keys (app/sync/http_auth.py).

What survives a crash or a restart of the app lives in ``<data_dir>/sync-http/``: the staged bundle, the
partly downloaded return and ``state.json`` describing them, so the next round resumes where the last
stopped — never from zero. Every failure is a SyncError with a Chinese sentence; being offline is just
"将自动重试", never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app import __version__
from app.errors import XiangAnError
from app.sync.enrolment import check_server_url
from app.sync.errors import SyncError
from app.sync.http_auth import H_SERVER_TIME, sign_request
from app.sync.keys import KeyPair
from app.sync.scheduler import STALL_SECONDS, Watchdog, stalled_error
from app.sync.state import Cancelled, Progress
from app.sync.township import NETWORK_DIR, ImportResult, SyncStatus, TownshipSync

API = "/api/v1"
PIECE_SIZE = 1024 * 1024  # bytes per PUT; the server accepts up to 4 MiB
STAGING_DIR = NETWORK_DIR  # "sync-http": the township labels files staged there "联网" in its history
STATE_FILE = "state.json"
CHUNK = 64 * 1024  # granularity of progress and watchdog checks within a transfer
MAX_MESSAGE = 500  # a server's error sentence is shown to the user: bounded
REFUSED = 422  # the county refused the bundle itself (wrong township, fork, damaged …)
UP_TO_DATE = "up_to_date"
SYNCED = "synced"

Stage = Callable[[str], None]


class NetworkSyncError(SyncError):
    """A SyncError from a network round, with what the server said: HTTP ``status`` (None: no answer),
    the error body's ``extra`` fields, and ``retry_after`` seconds when the server asked to slow down."""

    def __init__(self, code: str, detail: str = "", *, message: str | None = None, status: int | None = None,
                 extra: dict[str, Any] | None = None, retry_after: float | None = None) -> None:
        super().__init__(code, detail, message=message)
        self.status = status
        self.extra = dict(extra or {})
        self.retry_after = retry_after


@dataclass
class RoundResult:
    """What one round did. ``state``: "up_to_date" (nothing to do; one request) or "synced"."""

    state: str = UP_TO_DATE
    uploaded: int = 0  # records in the bundle the county applied this round
    received: dict[str, int] = field(default_factory=dict)  # table label → rows that came down
    acknowledged_to: int = 0  # the county has everything up to this outbox sequence
    requests: int = 0  # HTTP requests sent (retries included)
    bytes_sent: int = 0  # request lines, headers and bodies
    bytes_received: int = 0  # status lines, headers and bodies
    upload_bytes: int = 0  # bundle bytes put on the wire (a piece cut off and sent again counts twice)
    download_bytes: int = 0  # return bytes received (a resumed download continues, so nothing twice)
    conflicts: int = 0
    pending: int = 0  # records still waiting to go up after the round (edited meanwhile)
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One Chinese line for the status bar or the command line."""
        if self.state == UP_TO_DATE:
            return "已是最新，没有需要同步的内容。"
        parts = [f"上报 {self.uploaded} 条记录" if self.uploaded else "没有需要上报的记录"]
        received = "、".join(f"{label} {count} 条" for label, count in self.received.items())
        parts.append(f"收到 {received}" if received else "没有新的下发内容")
        parts.append(f"县里已确认到第 {self.acknowledged_to} 号")
        return "；".join(parts) + "。"

    def to_dict(self) -> dict[str, Any]:
        return {"state": self.state, "uploaded": self.uploaded, "received": dict(self.received),
                "acknowledged_to": self.acknowledged_to, "requests": self.requests, "bytes_sent": self.bytes_sent,
                "bytes_received": self.bytes_received, "upload_bytes": self.upload_bytes,
                "download_bytes": self.download_bytes, "conflicts": self.conflicts, "pending": self.pending,
                "messages": list(self.messages)}


def cancelled_error() -> SyncError:
    return SyncError("cancelled", message="已取消同步。已上传或下载的部分会保留，下次同步从中断处继续。")


def _protocol(detail: str) -> NetworkSyncError:
    return NetworkSyncError("protocol", detail)


def _certificate_refused(exc: BaseException) -> bool:
    """httpx wraps the ssl error; retrying cannot help, so it must not read as "offline"."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _transport_error(exc: httpx.HTTPError, stall_seconds: float) -> NetworkSyncError:
    """What a failed exchange means for the user: no route to the server, a cut connection, or a stall."""
    if not isinstance(exc, httpx.TransportError):  # undecodable content and the like
        return _protocol(type(exc).__name__)
    if isinstance(exc, httpx.ConnectError) and _certificate_refused(exc):
        return NetworkSyncError("certificate")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol)):
        return NetworkSyncError("offline", message="无法连接县级平台（网络不通），将自动重试。")
    if isinstance(exc, httpx.TimeoutException):
        stalled = stalled_error(stall_seconds)
        return NetworkSyncError("stalled", message=str(stalled))
    return NetworkSyncError("interrupted")


def _int_field(data: dict[str, Any], key: str, minimum: int = 0) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _protocol(f"字段「{key}」无效")
    return value


def _return_field(data: Any) -> dict[str, Any] | None:
    """A return descriptor {"return_id", "size", "sha256"} from an answer (None: nothing to fetch)."""
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("return_id"), str) or not data["return_id"].isalnum():
        raise _protocol("回执信息无效")
    sha = data.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise _protocol("回执校验值无效")
    return {"return_id": data["return_id"], "size": _int_field(data, "size", 1), "sha256": sha.lower()}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(PIECE_SIZE), b""):
            h.update(block)
    return h.hexdigest()


class Staging:
    """``<data_dir>/sync-http/``: the upload and download in flight, kept across crashes and restarts.

    ``state.json`` = {"node_id", "active", "upload": {...} | null, "download": {...} | null}. It is written
    atomically after every step that must not be redone (bundle exported, upload completed, return
    imported), and files it does not name are leftovers of a crash and removed."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir) / STAGING_DIR
        self.state: dict[str, Any] = {}

    @property
    def path(self) -> Path:
        return self.dir / STATE_FILE

    def load(self, node_id: str) -> None:
        """Read the staged state for this PC identity (a re-enrolled PC starts afresh) and tidy up."""
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = None
        if not isinstance(state, dict) or state.get("node_id") != node_id:
            state = {"node_id": node_id, "active": False, "upload": None, "download": None}
        self.state = state
        self._check_upload()
        self.tidy()

    def _check_upload(self) -> None:
        """A staged bundle that is not on disk intact any more is forgotten (a fresh one is exported)."""
        upload = self.upload
        if upload is None or upload.get("completed"):
            return
        path = self.dir / str(upload.get("file", ""))
        try:
            intact = path.is_file() and path.stat().st_size == upload["size"] and sha256_file(path) == upload["sha256"]
        except (OSError, KeyError):
            intact = False
        if not intact:
            self.state["upload"] = None
            self.save()

    @property
    def upload(self) -> dict[str, Any] | None:
        return self.state.get("upload")

    @property
    def download(self) -> dict[str, Any] | None:
        return self.state.get("download")

    def wanted(self) -> set[str]:
        names = {STATE_FILE}
        if self.upload:
            names.add(str(self.upload.get("file")))
        if self.download:
            names |= {self.part_path(self.download).name, self.final_path(self.download).name}
        return names

    def tidy(self) -> None:
        wanted = self.wanted()
        for item in self.dir.iterdir():
            if item.is_file() and item.name not in wanted:
                item.unlink(missing_ok=True)

    def part_path(self, item: dict[str, Any]) -> Path:
        return self.dir / f"return-{item['return_id']}.part"

    def final_path(self, item: dict[str, Any]) -> Path:
        return self.dir / f"return-{item['return_id']}.xab"

    def set(self, **changes: Any) -> None:
        self.state.update(changes)
        self.save()

    def save(self) -> None:
        tmp = self.path.with_name(STATE_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(self.state, out, ensure_ascii=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def finish_upload(self) -> None:
        self.set(upload=None, download=None)
        self.tidy()

    def finish_download(self) -> None:
        self.set(download=None)
        self.tidy()


@dataclass
class _Round:
    """Per-round bookkeeping: counters for the result, the user's callbacks and the watchdog."""

    progress: Progress | None
    cancelled: Cancelled | None
    stage: Stage | None
    watchdog: Watchdog
    result: RoundResult = field(default_factory=RoundResult)
    reached: bool = False  # the server answered at least once this round
    imported: bool = False  # a return was imported this round

    def check(self) -> None:
        if self.cancelled is not None and self.cancelled():
            raise cancelled_error()
        self.watchdog.check()

    def moved(self, done: int, total: int) -> None:
        self.watchdog.progress()
        if self.progress is not None:
            self.progress(done, total)

    def say(self, text: str) -> None:
        if self.stage is not None:
            self.stage(text)

    def absorb(self, imported: ImportResult) -> None:
        self.imported = True
        self.result.state = SYNCED
        for label, count in imported.received.items():
            self.result.received[label] = self.result.received.get(label, 0) + count
        self.result.conflicts += imported.conflicts
        self.result.acknowledged_to = max(self.result.acknowledged_to, imported.acknowledged_to)
        self.result.messages.extend(m for m in imported.messages if m not in self.result.messages)


def _request_size(request: httpx.Request, body_length: int) -> int:
    line = len(request.method) + len(request.url.raw_path) + len(" HTTP/1.1\r\n") + 1
    return line + sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2 + body_length


def _response_head_size(response: httpx.Response) -> int:
    line = len("HTTP/1.1 000 \r\n") + len(response.reason_phrase)
    return line + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2


class SyncClient:
    """Runs sync rounds of one township PC against its county server (thread-safe: one round at a time).

    ``server_url`` defaults to the address stored on the PC (enrolment file or ``xiangan sync --server``);
    ``transport`` lets tests put a fault-injecting or in-process transport underneath. Read and write
    timeouts equal ``stall_seconds``: a transfer that stops moving is aborted and the next round resumes it.
    """

    def __init__(self, township: TownshipSync, server_url: str | None = None,
                 transport: httpx.BaseTransport | None = None, piece_size: int = PIECE_SIZE,
                 timeout: float = 15.0, stall_seconds: float = STALL_SECONDS, retries: int = 2,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        url = server_url or township.server_url()
        if not url:
            raise NetworkSyncError("no_server")
        self.server_url = check_server_url(url)
        self.township = township
        self.piece_size = piece_size
        self.stall_seconds = stall_seconds
        self.retries = retries
        self.clock = clock
        self.sleep = sleep
        self.clock_offset = 0  # server time − local time, from X-XiangAn-Server-Time
        self.keys: KeyPair | None = None  # this PC's identity, read at the start of every round
        self.last_result: RoundResult | None = None  # the latest round's counters, also when it failed
        self.enrol: dict[str, Any] | None = None
        self.staging = Staging(township.data_dir)
        self._lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.server_url, transport=transport, follow_redirects=False,
            timeout=httpx.Timeout(timeout, read=stall_seconds, write=stall_seconds, pool=stall_seconds),
            headers={"User-Agent": f"xiangan/{__version__}"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the round ---------------------------------------------------------------------------------
    def round(self, progress: Progress | None = None, cancelled: Cancelled | None = None,
              stage: Stage | None = None) -> RoundResult:
        """One sync round. ``progress(done, total)`` reports bytes moved or rows applied per step,
        ``stage(text)`` names the step in Chinese, ``cancelled()`` → True stops at the next piece.
        Raises SyncError (NetworkSyncError for network failures); the outcome is recorded for the
        status bar (TownshipSync.status().last_sync_at / last_sync_error)."""
        with self._lock:
            rnd = _Round(progress, cancelled, stage, Watchdog(self.stall_seconds))
            self.last_result = rnd.result
            try:
                try:
                    result = self._round(rnd)
                except OSError as exc:  # the staging folder (disk full, permissions): a sentence, not a traceback
                    raise SyncError("write_failed", message=(
                        f"无法读写同步暂存文件（{self.staging.dir}）：{exc.strerror or exc}。请检查磁盘空间和文件夹权限，"
                        "然后重试。")) from exc
            except XiangAnError as exc:
                self.township.note_network_round(exc)
                raise
            self.township.note_network_round(None)
            return result

    def _round(self, rnd: _Round) -> RoundResult:
        try:
            self.keys, self.enrol = self.township.credentials()
        except SyncError:
            raise
        except XiangAnError:
            raise NetworkSyncError("not_enrolled") from None
        assert self.keys is not None
        self.staging.load(self.keys.node_id)
        rnd.say("正在连接县级平台…")
        state = self._state(rnd)
        status = self.township.status()
        staged = self.staging.upload is not None
        if staged or self._needs_upload(state, status):
            self._upstream(rnd, state)
            if staged and self.township.status().pending_records:
                self._upstream(rnd, None)  # edits made while the staged bundle waited go up too
        elif self.staging.download is not None:
            self._import(rnd, self.staging.download, self._new_downstream)
            self.staging.finish_download()
        status = self.township.status()
        if not rnd.imported and _int_field(state, "downstream_top") > status.downstream_seq:
            self._downstream(rnd)
            status = self.township.status()
        if status.downstream_seq > _int_field(state, "downstream_acked"):
            self._acknowledge(rnd, status.downstream_seq)
        rnd.result.pending = status.pending_records
        rnd.result.acknowledged_to = max(rnd.result.acknowledged_to, status.acknowledged_to)
        return rnd.result

    @staticmethod
    def _needs_upload(state: dict[str, Any], status: SyncStatus) -> bool:
        """Records wait, the county has not activated this PC yet (its first bundle proves the enrolment),
        or the county lost what it had acknowledged (restored from a backup: it asks for a resend)."""
        return (status.pending_records > 0 or state.get("node_status") != "active"
                or _int_field(state, "upstream_acked") < status.acknowledged_to)

    # -- state -------------------------------------------------------------------------------------
    def _state(self, rnd: _Round) -> dict[str, Any]:
        state = self._json(self._send(rnd, "GET", "/state"))
        for key in ("upstream_acked", "downstream_acked", "downstream_top"):
            _int_field(state, key)
        if not isinstance(state.get("uploads", []), list):
            raise _protocol("字段「uploads」无效")
        active = state.get("node_status") == "active"
        if active != bool(self.staging.state.get("active")):
            self.staging.set(active=active)
        return state

    # -- upstream ----------------------------------------------------------------------------------
    def _upstream(self, rnd: _Round, state: dict[str, Any] | None) -> None:
        """Send the staged bundle (or a new one) and import the county's answer to it."""
        upload = self.staging.upload or self._export(rnd)
        if not upload.get("completed"):
            known = self._listed(state, upload)
            answer = self._deliver(rnd, upload, known)
            self.staging.state["active"] = True  # the county applied a bundle of ours: this PC is active
            upload.update(completed=True, upstream=_int_field(answer.get("ack") or {}, "upstream"))
            self.staging.set(upload=upload, download=_return_field(answer.get("return")))
        rnd.result.state = SYNCED
        rnd.result.uploaded += int(upload.get("records", 0))
        rnd.result.acknowledged_to = max(rnd.result.acknowledged_to, int(upload.get("upstream", 0)))

        def answer_again(r: _Round) -> dict[str, Any] | None:  # the county replays its stored answer
            return _return_field(self._complete(r, upload).get("return"))

        download = self.staging.download or answer_again(rnd)
        if download is not None:
            self.staging.set(download=download)
            self._import(rnd, download, answer_again)
        self.staging.finish_upload()

    def _export(self, rnd: _Round) -> dict[str, Any]:
        rnd.say("正在准备上报数据…")
        exported = self.township.export_bundle(self.staging.dir, rnd.progress, rnd.cancelled)
        upload = {"bundle_id": exported.bundle_id, "file": exported.path.name, "size": exported.path.stat().st_size,
                  "sha256": sha256_file(exported.path), "records": exported.records, "completed": False}
        self.staging.set(upload=upload, download=None)
        self.staging.tidy()
        return upload

    @staticmethod
    def _listed(state: dict[str, Any] | None, upload: dict[str, Any]) -> dict[str, Any] | None:
        """The server's record of this upload from the state call, saving a request when resuming."""
        for item in (state or {}).get("uploads", []):
            if isinstance(item, dict) and item.get("bundle_id") == upload["bundle_id"]:
                return item
        return None

    def _deliver(self, rnd: _Round, upload: dict[str, Any], known: dict[str, Any] | None) -> dict[str, Any]:
        """Pieces from the committed offset, then complete; an upload the server lost or holds in a
        different state is reopened (twice at most) instead of failing the round."""
        attempt = 0
        while True:
            attempt += 1
            info = known or self._open(rnd, upload)
            known = None
            upload_id = str(info.get("upload_id", ""))
            if not upload_id.isalnum():
                raise _protocol("上传编号无效")
            committed = _int_field(info, "committed")
            try:
                if not info.get("applied") and committed < upload["size"]:
                    self._send_pieces(rnd, upload, upload_id, committed)
                upload["upload_id"] = upload_id
                return self._complete(rnd, upload)
            except NetworkSyncError as exc:
                if exc.code in ("not_found", "offset_mismatch") and attempt < 3:
                    continue
                if exc.status == REFUSED:  # the county will never take this bundle: the next round exports anew
                    self.staging.finish_upload()
                raise

    def _open(self, rnd: _Round, upload: dict[str, Any]) -> dict[str, Any]:
        body = {"bundle_id": upload["bundle_id"], "size": upload["size"], "sha256": upload["sha256"]}
        return self._json(self._send(rnd, "POST", "/uploads", json_body=body))

    def _send_pieces(self, rnd: _Round, upload: dict[str, Any], upload_id: str, committed: int) -> None:
        size = upload["size"]
        rnd.say("正在上传…")
        stuck = 0
        with open(self.staging.dir / upload["file"], "rb") as source:
            while committed < size:
                source.seek(committed)
                piece = source.read(self.piece_size)
                before = committed
                try:
                    answer = self._json(self._send(rnd, "PUT", f"/uploads/{upload_id}?offset={committed}",
                                                   body=piece, upload=(committed, size)))
                    committed = _int_field(answer, "committed")
                except NetworkSyncError as exc:
                    if exc.code != "offset_mismatch":
                        raise
                    committed = _int_field(exc.extra, "committed")  # the server has more (or less): go on from there
                if committed > size:
                    raise _protocol("已上传字节数超出文件大小")
                stuck = stuck + 1 if committed <= before else 0
                if stuck > 2:
                    raise _protocol("上传进度没有前进")
                rnd.moved(committed, size)

    def _complete(self, rnd: _Round, upload: dict[str, Any]) -> dict[str, Any]:
        rnd.say("县级平台正在导入…")
        return self._json(self._send(rnd, "POST", f"/uploads/{upload['upload_id']}/complete"))

    # -- downstream --------------------------------------------------------------------------------
    def _new_downstream(self, rnd: _Round) -> dict[str, Any] | None:
        return _return_field(self._json(self._send(rnd, "POST", "/downstream", json_body={})).get("return"))

    def _downstream(self, rnd: _Round) -> None:
        item = self._new_downstream(rnd)
        if item is None:
            return
        self.staging.set(download=item)
        self._import(rnd, item, self._new_downstream)
        self.staging.finish_download()

    def _import(self, rnd: _Round, item: dict[str, Any],
                again: Callable[[_Round], dict[str, Any] | None]) -> None:
        """Download a return (resuming) and import it; a return the server no longer has is asked for again."""
        try:
            path = self._download(rnd, item)
        except NetworkSyncError as exc:
            if exc.code != "not_found":
                raise
            fresh = again(rnd)
            self.staging.set(download=fresh)
            self.staging.tidy()
            if fresh is None:
                return
            path = self._download(rnd, fresh)
        rnd.say("正在导入县里下发的数据…")
        try:
            imported = self.township.import_return(path, rnd.progress, rnd.cancelled)
        except SyncError as exc:
            if exc.code != "cancelled":  # refused (damaged, fork …): the next round asks for a fresh one
                self.staging.set(download=None)
                self.staging.tidy()
            raise
        rnd.absorb(imported)

    def _download(self, rnd: _Round, item: dict[str, Any]) -> Path:
        final, part = self.staging.final_path(item), self.staging.part_path(item)
        if final.is_file():
            return final  # downloaded and verified before a crash; the import is idempotent
        rnd.say("正在下载回执…")
        for _attempt in range(2):  # bytes that do not add up are fetched whole once more
            have = part.stat().st_size if part.is_file() else 0
            if have > item["size"]:
                part.unlink()
                have = 0
            if have < item["size"]:
                self._fetch(rnd, item, part, have)
            if sha256_file(part) == item["sha256"]:
                os.replace(part, final)
                return final
            part.unlink()
        raise NetworkSyncError("damaged", "下载的回执与县级平台记录的校验值不一致")

    def _fetch(self, rnd: _Round, item: dict[str, Any], part: Path, have: int) -> None:
        """Append the rest of a return to ``part`` from byte ``have`` (Range), retrying a cut connection."""
        attempts = 0
        while have < item["size"]:
            headers = {"Accept-Encoding": "identity"}
            if have:
                headers["Range"] = f"bytes={have}-"
            response = self._send(rnd, "GET", f"/returns/{item['return_id']}", headers=headers, stream=True)
            start = have
            try:
                have = self._receive(rnd, response, part, have, item["size"])
                if have <= start < item["size"]:
                    raise _protocol("回执下载没有进展")
            except httpx.HTTPError as exc:
                error = _transport_error(exc, self.stall_seconds)
                attempts += 1
                if error.code != "interrupted" or attempts > self.retries:
                    raise error from None
                have = part.stat().st_size
            finally:
                response.close()

    def _receive(self, rnd: _Round, response: httpx.Response, part: Path, have: int, size: int) -> int:
        if response.status_code == 200 and have:
            have = 0  # the server sent the whole file: start over
        elif response.status_code == 206 and not response.headers.get("content-range", "").startswith(
                f"bytes {have}-"):
            raise _protocol("断点续传的位置不一致")
        rnd.result.bytes_received += _response_head_size(response)
        with open(part, "ab" if have else "wb") as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                have += len(chunk)
                rnd.result.bytes_received += len(chunk)
                rnd.result.download_bytes += len(chunk)
                if have > size:
                    raise _protocol("回执比记录的大小更大")
                rnd.moved(have, size)
                rnd.check()
            out.flush()
            os.fsync(out.fileno())
        return have

    def _acknowledge(self, rnd: _Round, downstream: int) -> None:
        self._json(self._send(rnd, "POST", "/ack", json_body={"downstream": downstream}))

    # -- one exchange ------------------------------------------------------------------------------
    def _json(self, response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            raise _protocol("应答不是JSON") from None
        if not isinstance(data, dict):
            raise _protocol("应答格式不对")
        return data

    def _send(self, rnd: _Round, method: str, path: str, *, body: bytes = b"", json_body: Any = None,
              headers: dict[str, str] | None = None, stream: bool = False,
              upload: tuple[int, int] | None = None) -> httpx.Response:
        """One signed exchange that succeeded (2xx). Retries, within the round: a connection cut after
        the server was reached, a clock the server says is off (once, with the server's time), a request
        the server saw twice, and proof of enrolment it needs again. Anything else → NetworkSyncError."""
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            headers = {**(headers or {}), "Content-Type": "application/json"}
        once = {"clock_skew", "replayed_request", "unknown_sender"}
        cuts = 0
        while True:
            rnd.watchdog.restart()  # it watches transfers only, not the export or import in between
            rnd.check()
            response = self._exchange(rnd, method, path, body, headers or {}, stream, upload)
            if isinstance(response, NetworkSyncError):
                cuts += 1
                if response.code in ("interrupted", "offline") and rnd.reached and cuts <= self.retries:
                    self.sleep(min(0.5 * cuts, 2.0))
                    continue
                raise response
            rnd.reached = True
            if response.is_success:
                return response
            error = self._api_error(response)
            if error.code in once and not (error.code == "unknown_sender" and not self.staging.state.get("active")):
                once.discard(error.code)
                if error.code == "unknown_sender":
                    self.staging.set(active=False)  # the county forgot us (restored?): prove the enrolment again
                continue
            raise error

    def _exchange(self, rnd: _Round, method: str, path: str, body: bytes, headers: dict[str, str],
                  stream: bool, upload: tuple[int, int] | None) -> httpx.Response | NetworkSyncError:
        sent = [0]

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(body), CHUNK):
                rnd.check()
                chunk = body[start:start + CHUNK]
                sent[0] += len(chunk)
                yield chunk
                if upload is not None:
                    rnd.moved(upload[0] + sent[0], upload[1])

        content: bytes | Iterator[bytes] = pieces() if upload is not None else body
        request = self._http.build_request(method, API + path, content=content,
                                           headers={**headers, "Content-Length": str(len(body))} if body else headers)
        enrol = None if self.staging.state.get("active") else self.enrol
        target = request.url.raw_path.decode("ascii")
        request.headers.update(sign_request(self.keys, method, target, body, int(self.clock()) + self.clock_offset,
                                            enrol))
        rnd.result.requests += 1
        try:
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            rnd.result.bytes_sent += _request_size(request, sent[0] if upload is not None else 0)
            rnd.result.upload_bytes += sent[0]
            return _transport_error(exc, self.stall_seconds)
        rnd.result.bytes_sent += _request_size(request, len(body))
        rnd.result.upload_bytes += len(body) if upload is not None else 0
        self._note_server_time(response)
        if stream and response.is_success:
            return response
        try:
            response.read()
        except httpx.HTTPError as exc:
            response.close()
            return _transport_error(exc, self.stall_seconds)
        rnd.result.bytes_received += _response_head_size(response) + len(response.content)
        return response

    def _note_server_time(self, response: httpx.Response) -> None:
        text = response.headers.get(H_SERVER_TIME, "")
        if text.isdigit():
            self.clock_offset = int(text) - int(self.clock())

    def _api_error(self, response: httpx.Response) -> NetworkSyncError:
        """The server's error body as a NetworkSyncError (its Chinese sentence when it sent one)."""
        try:
            data = response.json()
            error = data["error"] if isinstance(data, dict) else None
        except (ValueError, KeyError):
            error = None
        retry_after = _retry_after(response.headers.get("retry-after", ""))
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            code = "unavailable" if response.status_code >= 500 or response.status_code == 429 else "protocol"
            return NetworkSyncError(code, f"HTTP {response.status_code}", status=response.status_code,
                                    retry_after=retry_after)
        message = error.get("message")
        message = message[:MAX_MESSAGE] if isinstance(message, str) and message.strip() else None
        extra = {k: v for k, v in error.items() if k not in ("code", "message")}
        if error["code"] == "clock_skew" and isinstance(extra.get("server_time"), int):
            self.clock_offset = extra["server_time"] - int(self.clock())
        return NetworkSyncError(error["code"], message=message, status=response.status_code, extra=extra,
                                retry_after=retry_after)


def _retry_after(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0 <= seconds < 24 * 3600 else None
