"""Test helpers for the network sync client: an in-process transport into the county's ASGI app, a
fault-injecting httpx transport (drop, cut mid-body either way, lost response, delay, duplicate) and a
fault-injecting TCP proxy in front of a real uvicorn process (cut, stall, refuse at the socket level)."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx

from app.server.app import ServerSettings, create_app
from app.sync.http_client import SyncClient
from tests.server.conftest import LiveCounty, NetWorld, free_port
from tests.sync.sync_world import Pc

SYNCED_TABLES = ("township", "village", "contact")


# -- in-process ------------------------------------------------------------------------------------
class AsgiTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app (the county server) running in this process, for
    quick tests: httpx's own ASGITransport is async-only, so an event-loop thread (anyio portal) runs it."""

    def __init__(self, app: Any) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._inner.handle_async_request(inner)
            content = b"".join([chunk async for chunk in response.stream])
            return response.status_code, list(response.headers.raw), content

        status, headers, content = self._portal.call(call)
        return httpx.Response(status, headers=headers, content=content)

    def close(self) -> None:
        self._stack.close()


# -- fault-injecting transport -----------------------------------------------------------------------
FAULTS = ("drop", "cut_request", "lose_response", "cut_response", "delay", "duplicate")


@dataclass
class Exchange:
    method: str
    path: str
    status: int | None  # None: the client got no answer
    body_to_server: int  # body bytes the server received (0 when the request never arrived)
    fault: str | None


@dataclass
class Armed:
    fault: str
    skip: int  # let this many matching requests through first
    match: Callable[[httpx.Request], bool]
    arg: float = 0.5  # cut: fraction of the body that gets through; delay: seconds


class FaultTransport(httpx.BaseTransport):
    """Wraps a real transport and spoils chosen requests, each fault once:

    - ``drop``: the request never reaches the server (connection refused/reset before sending);
    - ``cut_request``: part of the body is read from the client, then the connection breaks (the server
      never gets a complete request — what a broken line does to an HTTP request);
    - ``lose_response``: the server handles the request, the answer is lost on the way back;
    - ``cut_response``: the answer's body breaks off after a part of it;
    - ``delay``: the server handles the request, its answer comes ``arg`` seconds late (a client read
      timeout shorter than that gives up, as a socket read would);
    - ``duplicate``: the request reaches the server twice; the client sees the second answer."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.armed: list[Armed] = []
        self.log: list[Exchange] = []
        self._lock = threading.Lock()

    def arm(self, fault: str, skip: int = 0, match: Callable[[httpx.Request], bool] | None = None,
            arg: float = 0.5) -> None:
        assert fault in FAULTS, fault
        self.armed.append(Armed(fault, skip, match or (lambda _r: True), arg))

    def _take(self, request: httpx.Request) -> Armed | None:
        with self._lock:
            for armed in self.armed:
                if armed.match(request):
                    if armed.skip == 0:
                        self.armed.remove(armed)
                        return armed
                    armed.skip -= 1
            return None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        armed = self._take(request)
        fault = armed.fault if armed else None
        path = request.url.path
        if fault == "drop":
            self.log.append(Exchange(request.method, path, None, 0, fault))
            raise httpx.ConnectError("injected: connection refused", request=request)
        body = request.read()
        if fault == "cut_request":
            self.log.append(Exchange(request.method, path, None, 0, fault))
            raise httpx.WriteError("injected: connection cut while sending", request=request)
        response = self._forward(request, body)
        if fault == "delay":  # the server has done its work; its answer is late
            timeout = (request.extensions.get("timeout") or {}).get("read") or 1e9
            time.sleep(min(armed.arg, timeout))
            if armed.arg >= timeout:
                self.log.append(Exchange(request.method, path, None, len(body), fault))
                raise httpx.ReadTimeout("injected: no answer in time", request=request)
        if fault == "duplicate":
            response = self._forward(request, body)
        status = response.status_code
        if fault == "lose_response":
            self.log.append(Exchange(request.method, path, None, len(body), fault))
            raise httpx.ReadError("injected: answer lost", request=request)
        self.log.append(Exchange(request.method, path, status, len(body), fault))
        if fault == "cut_response" and len(response.content) > 1:
            keep = max(1, int(len(response.content) * armed.arg))
            return httpx.Response(status, headers=response.headers, stream=_Broken(response.content[:keep]),
                                  request=request)
        return response

    def _forward(self, request: httpx.Request, body: bytes) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body,
                             extensions=request.extensions)
        response = self.inner.handle_request(copy)
        content = response.read()
        response.close()
        return httpx.Response(response.status_code, headers=response.headers, content=content, request=request)

    def sent_body(self, method: str, path_prefix: str) -> int:
        """Body bytes of matching requests that reached the server."""
        return sum(e.body_to_server for e in self.log if e.method == method and e.path.startswith(path_prefix))

    def close(self) -> None:
        """Shared by several clients (one per PC): closing one client must not close it for the others."""

    def shutdown(self) -> None:
        self.inner.close()


class _Broken(httpx.SyncByteStream):
    """A response body that breaks off: the bytes that arrived, then a read error."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("injected: connection cut while receiving")


def is_piece(request: httpx.Request) -> bool:
    return request.method == "PUT" and "/uploads/" in request.url.path


def is_return(request: httpx.Request) -> bool:
    return request.method == "GET" and "/returns/" in request.url.path


def is_complete(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/complete")


# -- fault-injecting TCP proxy ------------------------------------------------------------------------
@dataclass
class Trigger:
    """Once ``pattern`` went by in ``direction`` ("up": client→server, "down": server→client), let
    ``after`` more bytes through, then ``action``: "cut" both sockets, or "stall" for ``seconds``."""

    direction: str
    pattern: bytes
    after: int
    action: str
    seconds: float = 0.0
    seen: bool = False  # the pattern went by; ``after`` counts down from there
    fired: bool = False


@dataclass
class FaultProxy:
    """A TCP proxy on loopback between the sync client and a real county server process."""

    upstream_port: int
    port: int = 0
    forwarded: dict[str, int] = field(default_factory=lambda: {"up": 0, "down": 0})
    triggers: list[Trigger] = field(default_factory=list)
    refusing: bool = False
    _server: socket.socket | None = None
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FaultProxy:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(16)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, direction: str, pattern: bytes, after: int, action: str = "cut", seconds: float = 0.0) -> Trigger:
        trigger = Trigger(direction, pattern, after, action, seconds)
        with self._lock:
            self.triggers.append(trigger)
        return trigger

    def cut_all(self) -> None:
        """Break every open connection (the line goes down)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _close(sock)

    def stop(self) -> None:
        if self._server is not None:
            _close(self._server)
            self._server = None
        self.cut_all()

    def _accept(self) -> None:
        while self._server is not None:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.refusing:
                _close(client)
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            for source, target, direction in ((client, server, "up"), (server, client, "down")):
                threading.Thread(target=self._pump, args=(source, target, direction), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, direction: str) -> None:
        tail = b""  # the end of the previous chunk: a pattern may straddle two chunks
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                forward = self._apply(direction, data, tail, source, target)
                tail = data[-64:]
                if forward is None:
                    return
                target.sendall(forward)
                with self._lock:
                    self.forwarded[direction] += len(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)

    def _apply(self, direction: str, data: bytes, tail: bytes, source: socket.socket,
               target: socket.socket) -> bytes | None:
        """What of ``data`` to forward (None: the connection was cut) — all of it, or the part before an
        armed trigger fires."""
        joined = tail + data
        with self._lock:
            trigger = next((t for t in self.triggers if not t.fired and t.direction == direction
                            and (t.seen or t.pattern in joined)), None)
        if trigger is None:
            return data
        start = 0
        if not trigger.seen:
            trigger.seen = True
            start = max(0, joined.find(trigger.pattern) + len(trigger.pattern) - len(tail))
        at = start + trigger.after
        if at >= len(data):
            trigger.after = at - len(data)  # the rest of the budget applies to the next chunks
            return data
        trigger.fired = True
        target.sendall(data[:at])
        with self._lock:
            self.forwarded[direction] += at
        if trigger.action == "stall":
            time.sleep(trigger.seconds)
            target.sendall(data[at:])
            with self._lock:
                self.forwarded[direction] += len(data) - at
            return b""
        _close(source)
        _close(target)
        return None


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


# -- checking the outcome ---------------------------------------------------------------------------
def live_rows(db_path: Path, partition: str, tables: tuple[str, ...] = SYNCED_TABLES) -> set[tuple]:
    """(table, id, version, replica, deleted) of every row of ``partition``: what must match everywhere."""
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        found: set[tuple] = set()
        for table in tables:
            found |= {(table, *row) for row in conn.execute(
                f"SELECT id, version, version_replica, deleted FROM {table} WHERE partition = ?", (partition,))}
        return found
    finally:
        conn.close()


def row_counts(db_path: Path, tables: tuple[str, ...] = SYNCED_TABLES) -> dict[str, int]:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def staging_residue(pc: Pc) -> list[str]:
    """Files a finished round must not leave behind: bundles, partial downloads, temporary files."""
    folder = pc.folder / "sync-http"
    return sorted(p.name for p in folder.iterdir() if p.name != "state.json") if folder.exists() else []


def client_for(pc: Pc, url: str, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> SyncClient:
    kwargs.setdefault("sleep", lambda _s: None)
    return SyncClient(pc.sync, url, transport=transport, **kwargs)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_scan(pc: Pc, size: int, name: str = "应急预案扫描件") -> str:
    """A document with an incompressible scan of ``size`` bytes attached: makes a bundle of about that size."""
    services = pc.sv()
    document = services.register("org_documents").save({"name": name, "kind": "工作制度"})
    scan = pc.folder / f"{name}.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + os.urandom(size))
    services.attachments("org_documents").add(document, scan, role="scan")
    scan.unlink()
    return document


# -- worlds ------------------------------------------------------------------------------------------
FAST = ServerSettings(rate_per_minute=1_000_000, rate_burst=100_000)  # tests make many requests quickly


@dataclass
class InProcessCounty:
    """The county server app in this process, reached through a FaultTransport (quick tests)."""

    world: NetWorld
    transport: FaultTransport

    def client(self, pc: Pc, **kwargs: Any) -> SyncClient:
        return client_for(pc, self.world.server_url, self.transport, **kwargs)


@contextmanager
def in_process_county(tmp_path: Path) -> Iterator[InProcessCounty]:
    """A world whose county server app runs in this process; enrolment files name http://testserver."""
    world = NetWorld(tmp_path, server_url="http://testserver")
    transport = FaultTransport(AsgiTransport(create_app(world.county, FAST)))
    try:
        yield InProcessCounty(world, transport)
    finally:
        transport.shutdown()
        world.close()


@contextmanager
def live_county_world(tmp_path: Path) -> Iterator[tuple[NetWorld, LiveCounty]]:
    """A real uvicorn county process and the test's world sharing one county; enrolment files name it."""
    port = free_port()
    world = NetWorld(tmp_path, server_url=f"http://127.0.0.1:{port}")
    live = LiveCounty(world.root / "county", port, extra_args=("--rate", "1000000"))
    try:
        yield world, live.start()
    finally:
        live.stop()
        world.close()


def partition_of(pc: Pc) -> str:
    return f"twp:{pc.sv().scope.township_id}"


def assert_exactly_once(county_path: Path, *pcs: Pc) -> None:
    """No loss: every PC's township rows are at the county in the same versions. No duplicates: no row
    was applied at the county twice (each applied row writes one downstream change entry; the tests that
    use this write every row once)."""
    for pc in pcs:
        assert live_rows(county_path, partition_of(pc)) == live_rows(pc.path, partition_of(pc)), pc.name
    conn = sqlite3.connect(f"{county_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        twice = conn.execute("SELECT table_name, row_id, count(*) FROM sync_change GROUP BY table_name, row_id "
                             "HAVING count(*) > 1").fetchall()
    finally:
        conn.close()
    assert twice == [], f"rows applied more than once: {twice}"
