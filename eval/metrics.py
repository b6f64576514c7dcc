"""Retrieval and answer metrics, as the evaluation format in the knowledge-format spec defines."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence

HIT_KS = (1, 3, 5)
MRR_K = 10


def first_rank(ranked: Sequence[str], expected: Iterable[str]) -> int | None:
    """1-based rank of the first expected id in ``ranked``, or None."""
    wanted = set(expected)
    for rank, source_id in enumerate(ranked, start=1):
        if source_id in wanted:
            return rank
    return None


def squash(text: str) -> str:
    """Fact comparison: no whitespace, full-width folded to half-width."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    if not facts:
        return None
    body = squash(answer)
    return sum(1 for f in facts if squash(f) in body) / len(facts)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def summarise(rows: list[dict]) -> dict:
    """Aggregate per-question rows ({rank, expect, latency_ms, ...}) into the report's metrics."""
    scored = [r for r in rows if r["expect"]]
    out: dict[str, float | int] = {"n": len(rows)}
    for k in HIT_KS:
        out[f"hit@{k}"] = _mean([1.0 if r["rank"] is not None and r["rank"] <= k else 0.0 for r in scored])
    out[f"mrr@{MRR_K}"] = _mean(
        [1.0 / r["rank"] if r["rank"] is not None and r["rank"] <= MRR_K else 0.0 for r in scored]
    )
    latencies = [r["latency_ms"] for r in rows]
    out["latency_ms_p50"] = round(percentile(latencies, 50), 1)
    out["latency_ms_p95"] = round(percentile(latencies, 95), 1)
    recalls = [r["fact_recall"] for r in scored if r.get("fact_recall") is not None]
    if recalls:
        out["fact_recall"] = _mean(recalls)
    oos = [r for r in rows if not r["expect"]]
    if oos and all("declined" in r for r in oos):
        out["oos_declined"] = _mean([1.0 if r["declined"] else 0.0 for r in oos])
    if scored and all("declined" in r for r in scored):
        out["in_scope_declined"] = _mean([1.0 if r["declined"] else 0.0 for r in scored])
    return out


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def report(rows: list[dict]) -> dict:
    """``{"overall": {...}, "by_tag": {tag: {...}}}``"""
    tags = sorted({t for r in rows for t in r.get("tags", [])})
    return {
        "overall": summarise(rows),
        "by_tag": {t: summarise([r for r in rows if t in r.get("tags", [])]) for t in tags},
    }
