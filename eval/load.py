"""A load script for a running server: varied questions, N concurrent clients, bounded in time.

Targets only the URL it is given (loopback in this project's benchmarks).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from eval.metrics import percentile


@dataclass
class LoadResult:
    clients: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "clients": self.clients,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(self.per_second, 1),
            "latency_ms_p50": round(self.p50_ms, 1),
            "latency_ms_p95": round(self.p95_ms, 1),
        }


def run_load(
    base_url: str, questions: list[str], clients: int, seconds: float, max_requests: int = 100_000
) -> LoadResult:
    """Each client asks the questions in turn (each client from a different offset) until time is up."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(max_requests))

    def client(offset: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=base_url, timeout=30) as http:
            i = offset
            while time.monotonic() < deadline and next(counter, None) is not None:
                question = questions[i % len(questions)]
                i += 1
                started = time.perf_counter()
                try:
                    ok = http.post("/api/chat", json={"message": question}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += 0 if ok else 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n * 97,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return LoadResult(
        clients, len(latencies), errors, elapsed, percentile(latencies, 50), percentile(latencies, 95)
    )
