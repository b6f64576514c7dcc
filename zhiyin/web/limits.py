"""The guards in front of every route: the body size limit and the per-client rate limit."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque

from fastapi import Request

LIMITED_PATHS = ("/api/chat", "/v1/", "/api/feedback")
# public writes that anyone can script: bookings, check-ins, walk-in tickets, the booking forms
LIMITED_WRITES = re.compile(r"^/(?:api/bookings|api/checkin|api/places/[^/]+/tickets$|book$|b/)")
WINDOW_SECONDS = 60  # the rate limit counts requests per client over this sliding window


def rate_limited(request: Request) -> bool:
    path = request.url.path
    if path.startswith(LIMITED_PATHS) or "ask" in request.query_params:
        return True
    return request.method == "POST" and LIMITED_WRITES.match(path) is not None


class RateLimiter:
    """A sliding one-minute window of requests per client."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """0 if the request may go ahead (and count it), else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            window = self._hits.setdefault(client, deque())
            while window and now - window[0] >= WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.per_minute:
                return max(1, math.ceil(WINDOW_SECONDS - (now - window[0])))
            window.append(now)
            return 0
