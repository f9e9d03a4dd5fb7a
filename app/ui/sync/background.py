"""Network sync in the background: a worker on its own thread runs sync rounds (at start-up, every few
minutes, on demand); a controller in the UI thread schedules them with app.sync.scheduler (backing off
with jitter while the county server cannot be reached) and publishes how things stand as ``SyncState``.

The UI thread never waits for the network or the database work of a round: the worker gets its cancel
token by a queued signal and reports progress and the outcome by signals.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from app.errors import XiangAnError
from app.models.base import utcnow
from app.storage.database import Database
from app.sync.http_client import RoundResult, SyncClient
from app.sync.scheduler import SyncSchedule
from app.sync.township import OFFLINE_CODES, SyncStatus, TownshipSync
from app.ui.workers import CancelToken

# phases of SyncState
NOT_ENROLLED = "not_enrolled"  # no network sync at all
NO_SERVER = "no_server"  # enrolled, but no county server address known (USB only)
WAITING = "waiting"  # enrolled, between rounds, no round finished in this session yet
SYNCING = "syncing"
SYNCED = "synced"
OFFLINE = "offline"  # the county server could not be reached: retried on its own
ERROR = "error"  # the county (or this PC) refused: the exact message is shown
CANCELLED = "cancelled"

CANCEL_WAIT_MS = 3_000  # closing the app: time for a round to notice its cancellation …
STOP_WAIT_MS = 30_000  # … and, after its connections were closed, to give up


class RoundClient(Protocol):
    def round(self, progress: Any = None, cancelled: Any = None, stage: Any = None) -> RoundResult: ...

    def close(self) -> None: ...


ClientFactory = Callable[[TownshipSync], RoundClient]


@dataclass(frozen=True)
class RoundOutcome:
    """What the worker reports after a round (or a status check): plain data, safe across threads."""

    status: SyncStatus
    ran: bool = False  # a round was attempted (False: only the status was read)
    result: RoundResult | None = None
    error: str = ""
    code: str = ""
    retry_after: float | None = None
    finished_at: datetime | None = None

    @property
    def failed(self) -> bool:
        return bool(self.error)


@dataclass(frozen=True)
class SyncState:
    """How network sync stands, for the status bar and the 同步 screen."""

    phase: str
    pending: int = 0
    last_sync_at: datetime | None = None
    progress: tuple[int, int] | None = None
    stage: str = ""  # the step of a running round ("正在上传…")
    message: str = ""  # the error of a failed round
    retry_in: float | None = None  # seconds until the next automatic round
    last: RoundOutcome | None = None  # the last round that ran in this session

    @property
    def percent(self) -> int | None:
        if self.progress is None or self.progress[1] <= 0:
            return None
        done, total = self.progress
        return max(0, min(100, done * 100 // total))


def default_client(township: TownshipSync) -> RoundClient:
    return SyncClient(township)


class SyncWorker(QObject):
    """Lives on the sync thread; one request at a time (the controller never asks for two)."""

    progressed = Signal(int, int)
    staged = Signal(str)
    finished = Signal(object)  # RoundOutcome

    def __init__(self, db: Database, data_dir: Path, client_factory: ClientFactory) -> None:
        super().__init__()
        self.township = TownshipSync(db, data_dir)
        self.client_factory = client_factory
        self._client: RoundClient | None = None
        self._client_url = ""
        self._status = SyncStatus(enrolled=True)  # the last status read, should reading it fail

    def _client_for(self, server_url: str) -> RoundClient:
        """One HTTP client (and its connection pool) per server address; a new address, a new client."""
        if self._client is None or self._client_url != server_url:
            self.close()
            self._client = self.client_factory(self.township)
            self._client_url = server_url
        return self._client

    def _read_status(self) -> SyncStatus:
        self._status = self.township.status()
        return self._status

    @Slot(object)
    def run_round(self, token: CancelToken) -> None:
        """A round, if this PC (still) can sync; the outcome always comes back, whatever happened."""
        try:
            status = self._read_status()
            if not status.enrolled or not status.server_url:
                self.finished.emit(RoundOutcome(status))
                return
            result = self._client_for(status.server_url).round(self.progressed.emit, token, self.staged.emit)
            self.finished.emit(RoundOutcome(self._read_status(), ran=True, result=result, finished_at=utcnow()))
        except Exception as exc:
            self.finished.emit(self._failure(exc))

    def _failure(self, exc: Exception) -> RoundOutcome:
        if not isinstance(exc, XiangAnError):  # one sentence for the user; the traceback goes to the log
            traceback.print_exc()
            exc = XiangAnError(f"同步时发生意外错误：{type(exc).__name__}: {exc}。将自动重试。")
        try:
            status = self._read_status()
        except Exception:  # the database itself failed: the last status known is the best there is
            status = self._status
        return RoundOutcome(status, ran=True, error=str(exc), code=getattr(exc, "code", "unexpected"),
                            retry_after=getattr(exc, "retry_after", None), finished_at=utcnow())

    @Slot()
    def check(self) -> None:
        try:
            self.finished.emit(RoundOutcome(self._read_status()))
        except Exception as exc:
            self.finished.emit(replace(self._failure(exc), ran=False))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class BackgroundSync(QObject):
    """Schedules rounds and publishes ``SyncState``. ``start()`` once the window is up, ``stop()`` on close."""

    state_changed = Signal(object)  # SyncState
    round_finished = Signal(object)  # RoundOutcome of a round that ran
    _run = Signal(object)  # → worker.run_round(token), queued onto the sync thread
    _check = Signal()  # → worker.check()

    def __init__(self, db: Database, data_dir: Path, client_factory: ClientFactory = default_client,
                 schedule: SyncSchedule | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.township = TownshipSync(db, data_dir)
        self.schedule = schedule or SyncSchedule()
        self.worker = SyncWorker(db, data_dir, client_factory)
        self.thread = QThread()
        self.thread.setObjectName("xiangan-sync")
        self.worker.moveToThread(self.thread)
        self._run.connect(self.worker.run_round)
        self._check.connect(self.worker.check)
        self.worker.progressed.connect(self._on_progress)
        self.worker.staged.connect(self._on_stage)
        self.worker.finished.connect(self._on_finished)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._wake)
        self._token: CancelToken | None = None  # set while a round runs
        self._busy = False  # a round or a status check is on the worker
        self._round_wanted = False  # a round asked for while a status check was on the worker
        self._stopped = False
        self.state = SyncState(WAITING)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # -- public ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._token is not None

    def start(self) -> None:
        """The start-up round, when this PC is enrolled and knows its county server."""
        self._stopped = False
        self._wake()

    def sync_now(self) -> bool:
        """The 立即同步 button: a round now. False when one is already running or sync is not possible."""
        if self.running or self._stopped:
            return False
        self.schedule.request_now()
        return self._wake()

    def cancel(self) -> None:
        if self._token is not None:
            self._token.cancel()

    def refresh(self) -> None:
        """Re-read the status (the pending count after an edit or a USB round; an enrolment; a new server
        address): a PC that just became able to sync starts its first round."""
        if self._stopped or self._busy:
            return
        if self.state.phase in (NOT_ENROLLED, NO_SERVER) or not self.thread.isRunning():
            self._wake()
        else:
            self._ask(check=True)

    def stop(self) -> None:
        """Cancel a running round and end the thread (the window closes). A round notices 取消 between
        pieces; one blocked in a network read is woken by closing its connections."""
        self._stopped = True
        self.timer.stop()
        self.cancel()
        if self.thread.isRunning():
            self.thread.quit()
            if not self.thread.wait(CANCEL_WAIT_MS):
                self.worker.close()
                self.thread.wait(STOP_WAIT_MS)
        self.worker.close()

    # -- scheduling --------------------------------------------------------------------------------
    def _wake(self) -> bool:
        """A round if this PC can sync, else say why not. Cheap checks first: a PC that is not enrolled
        never even starts the thread."""
        if self._stopped or self.running:
            return False
        if not self.township.enrolled():
            self._publish(SyncState(NOT_ENROLLED))
            return False
        if self._busy:  # a status check is on its way: the round follows it
            self._round_wanted = True
            return True
        has_server = bool(self.township.server_url())
        self._ask(check=not has_server)
        return has_server

    def _ask(self, check: bool) -> None:
        if not self.thread.isRunning():
            self.thread.start()
        self.timer.stop()
        self._busy = True
        if check:
            self._check.emit()
            return
        self._token = CancelToken()
        self._publish(replace(self.state, phase=SYNCING, progress=None, stage="正在连接县级平台…", retry_in=None))
        self._run.emit(self._token)

    def _next(self, outcome: RoundOutcome) -> float | None:
        """Seconds until the next automatic round (None: none until something changes)."""
        if outcome.ran and outcome.code == "cancelled":
            return self.schedule.succeeded()  # the user stopped it: the normal interval, no hammering
        if outcome.ran and outcome.failed:
            return self.schedule.failed(outcome.retry_after)
        if not outcome.status.enrolled or not outcome.status.server_url:
            return None
        return self.schedule.succeeded() if outcome.ran else self.schedule.seconds_until_due()

    # -- worker signals ----------------------------------------------------------------------------
    def _on_progress(self, done: int, total: int) -> None:
        if self.running:
            self._publish(replace(self.state, progress=(done, total)))

    def _on_stage(self, text: str) -> None:
        if self.running:
            self._publish(replace(self.state, stage=text, progress=None))

    def _on_finished(self, outcome: RoundOutcome) -> None:
        self._busy = False
        self._token = None
        if self._stopped:
            return
        delay = self._next(outcome)
        self._publish(self._state_after(outcome, delay))
        if outcome.ran:
            self.round_finished.emit(outcome)
        if self._round_wanted:
            self._round_wanted = False
            self.schedule.request_now()
            self._wake()
        elif delay is not None:
            self.timer.start(int(delay * 1000))

    def _state_after(self, outcome: RoundOutcome, delay: float | None) -> SyncState:
        status = outcome.status
        base = SyncState(WAITING, pending=status.pending_records, last_sync_at=status.last_sync_at,
                         retry_in=delay, last=outcome if outcome.ran else self.state.last)
        if not status.enrolled:
            return SyncState(NOT_ENROLLED)
        if outcome.code == "cancelled":
            return replace(base, phase=CANCELLED)
        if outcome.failed:
            return replace(base, phase=OFFLINE if outcome.code in OFFLINE_CODES else ERROR, message=outcome.error)
        if not status.server_url:
            return replace(base, phase=NO_SERVER, retry_in=None)
        if outcome.ran:
            return replace(base, phase=SYNCED)
        if self.state.phase in (NOT_ENROLLED, NO_SERVER, SYNCING):
            return base
        return replace(self.state, pending=status.pending_records, last_sync_at=status.last_sync_at, retry_in=delay)

    def _publish(self, state: SyncState) -> None:
        self.state = state
        self.state_changed.emit(state)
