"""When the township PC syncs on its own: every few minutes while things work, backing off with jitter
while the county server cannot be reached, and a watchdog that gives up on a transfer that stopped moving.

Plain Python with an injectable clock and random source, so the timing rules are unit-tested without
sleeping; the desktop app's background worker (a Qt timer) asks ``SyncSchedule`` when the next round is
due, runs ``SyncClient.round`` and reports the outcome back.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable

from app.sync.errors import SyncError

Clock = Callable[[], float]

INTERVAL_SECONDS = 5 * 60  # periodic round while everything works
BACKOFF_MIN_SECONDS = 30.0  # first retry after a failure
BACKOFF_MAX_SECONDS = 15 * 60.0  # retries never wait longer than this
STALL_SECONDS = 60.0  # a transfer with no progress for this long is aborted (and resumed next round)


class Backoff:
    """Exponential backoff with "equal jitter": the n-th consecutive failure waits a random time in
    [cap/2, cap] where cap = min(maximum, minimum · 2ⁿ), never less than ``minimum``. The jitter keeps the
    townships of a county from all retrying at the same second after the server comes back."""

    def __init__(self, minimum: float = BACKOFF_MIN_SECONDS, maximum: float = BACKOFF_MAX_SECONDS,
                 rng: _random.Random | None = None) -> None:
        if not 0 < minimum <= maximum:
            raise ValueError("backoff needs 0 < minimum <= maximum")
        self.minimum = minimum
        self.maximum = maximum
        self.rng = rng or _random.Random()

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1 = the first)."""
        exponent = min(max(failures, 1), 32)  # 2**32 · 30 s is far beyond any maximum
        cap = min(self.maximum, self.minimum * 2 ** exponent)
        return max(self.minimum, self.rng.uniform(cap / 2, cap))


class SyncSchedule:
    """The timetable of automatic rounds.

    Due at once after start-up; after a successful round the next is due ``interval`` seconds later;
    after a failure it is due after ``Backoff.delay`` (or the server's Retry-After, if longer); ``request_now``
    (the 立即同步 button, or the network coming back) makes it due immediately."""

    def __init__(self, interval: float = INTERVAL_SECONDS, backoff: Backoff | None = None,
                 clock: Clock = time.monotonic) -> None:
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.failures = 0
        self.next_at = clock()

    def due(self) -> bool:
        return self.clock() >= self.next_at

    def seconds_until_due(self) -> float:
        """For a one-shot timer: 0 when due now."""
        return max(0.0, self.next_at - self.clock())

    def request_now(self) -> None:
        self.next_at = self.clock()

    def succeeded(self) -> float:
        """A round finished: back to the normal interval. Returns the seconds until the next round."""
        self.failures = 0
        self.next_at = self.clock() + self.interval
        return self.interval

    def failed(self, retry_after: float | None = None) -> float:
        """A round failed: wait longer after every consecutive failure (at least ``retry_after`` when the
        server asked for it, never more than the backoff maximum). Returns the seconds until the retry."""
        self.failures += 1
        delay = self.backoff.delay(self.failures)
        if retry_after is not None and retry_after > delay:
            delay = min(float(retry_after), self.backoff.maximum)
        self.next_at = self.clock() + delay
        return delay

    def outcome(self, error: BaseException | None) -> float:
        """``succeeded``/``failed`` from what a round raised (None: it worked); honours a SyncError's
        ``retry_after`` (rate limiting). Returns the seconds until the next round."""
        if error is None:
            return self.succeeded()
        return self.failed(getattr(error, "retry_after", None))


class Watchdog:
    """Notices a transfer that stopped moving: the transfer calls ``progress()`` whenever bytes move and
    ``check()`` between steps; ``check`` raises SyncError("stalled") once ``stall_seconds`` passed without
    progress. (A socket that blocks outright is caught by the HTTP client's read/write timeouts, which the
    sync client sets to the same number of seconds.)"""

    def __init__(self, stall_seconds: float = STALL_SECONDS, clock: Clock = time.monotonic) -> None:
        if stall_seconds <= 0:
            raise ValueError("stall_seconds must be positive")
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.last_progress = clock()

    def restart(self) -> None:
        self.last_progress = self.clock()

    def progress(self) -> None:
        self.last_progress = self.clock()

    def idle(self) -> float:
        return self.clock() - self.last_progress

    def stalled(self) -> bool:
        return self.idle() >= self.stall_seconds

    def check(self) -> None:
        if self.stalled():
            raise stalled_error(self.stall_seconds)


def stalled_error(seconds: float) -> SyncError:
    return SyncError("stalled", f"超过 {seconds:g} 秒没有进展")
