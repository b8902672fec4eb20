"""Options of the running sandbox server (set once by ``crm_sandbox serve``) and its rate limiter."""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from django.utils import timezone

DEFAULT_TOKEN_LIFETIME = 3599


@dataclass(frozen=True)
class Throttle:
    requests: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Throttle:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*", text)
        if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
            raise ValueError(f"Expected N/SECONDS (for example 6000/300), got '{text}'.")
        return cls(int(match.group(1)), float(match.group(2)))


@dataclass
class ServerOptions:
    latency_ms: int = 0
    throttle: Throttle | None = None
    fault_rate: float = 0.0
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    # The organization URL clients use, e.g. https://127.0.0.1:8001 (the token audience).
    public_url: str = ""
    # Test suites (crm_sandbox.snapshots): the next N Web API requests are answered by a dropped
    # connection after processing, so a test can show what one fault does, without chance.
    drop_next: int = 0


_drops_lock = threading.Lock()


def take_planned_drop() -> bool:
    """Whether this request is one of the ``drop_next`` planned dropped connections (and counts it)."""
    with _drops_lock:
        if options.drop_next <= 0:
            return False
        options.drop_next -= 1
        return True


@dataclass
class SlidingWindowLimiter:
    """Per-user request counts over a sliding window, as Dataverse's service protection counts them."""

    throttle: Throttle
    _hits: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, user_key) -> int | None:
        """Records a request; returns None when allowed, else the seconds to wait (Retry-After)."""
        now = monotonic()
        with self._lock:
            hits = self._hits.setdefault(user_key, deque())
            while hits and hits[0] <= now - self.throttle.seconds:
                hits.popleft()
            if len(hits) >= self.throttle.requests:
                return max(1, math.ceil(hits[0] + self.throttle.seconds - now))
            hits.append(now)
            return None


options = ServerOptions()
limiter: SlidingWindowLimiter | None = None
# Seconds a test suite moved the server's clock forward (crm_sandbox.snapshots): a test of Retry-After
# or of token expiry waits for nothing. Service protection and token lifetimes read the time here.
clock_advanced = 0.0


def monotonic() -> float:
    return time.monotonic() + clock_advanced


def now() -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=clock_advanced)


def advance_clock(seconds: float) -> None:
    global clock_advanced
    clock_advanced += seconds


def configure(new_options: ServerOptions) -> None:
    global options, limiter
    options = new_options
    limiter = SlidingWindowLimiter(new_options.throttle) if new_options.throttle else None
