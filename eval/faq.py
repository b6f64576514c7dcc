"""Run an FAQ evaluation set (JSON Lines, see the knowledge-format spec) against a knowledge base."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from eval.metrics import first_rank, report


class Turn(BaseModel):
    role: str
    content: str


class Question(BaseModel):
    id: str
    question: str
    expect: list[str] = Field(default_factory=list)
    facts: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    history: list[Turn] = Field(default_factory=list)


class EvalSetError(ValueError):
    pass


def dev_sets_dir() -> Path:
    """Our own dev sets: ``demo.jsonl`` (the demo KB) and ``gd.jsonl`` (the Guangdong items)."""
    return Path(str(resources.files("eval").joinpath("dev")))


def load_questions(path: Path) -> list[Question]:
    questions = []
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise EvalSetError(f"cannot read {path}: {exc.strerror}") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise EvalSetError(f"{path}, line {n}: {str(exc).splitlines()[0]}") from exc
    if not questions:
        raise EvalSetError(f"{path} holds no questions")
    return questions


def retrieval_query(q: Question) -> str:
    """Retrieval-only runs give a follow-up the previous user turn as context."""
    previous = [t.content for t in q.history if t.role == "user"]
    return f"{previous[-1]} {q.question}" if previous else q.question


def run_retrieval(questions: list[Question], search: Callable[[str], list[str]]) -> dict:
    """Score ``search`` (question → ranked source ids) on ``questions``."""
    if questions:
        search(questions[0].question)  # warm-up: the first search loads the index and the model
    rows = []
    for q in questions:
        started = time.perf_counter()
        ranked = search(retrieval_query(q))
        latency = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "id": q.id,
                "expect": q.expect,
                "tags": q.tags,
                "rank": first_rank(ranked[:10], q.expect),
                "latency_ms": latency,
                "ranked": ranked[:5],
            }
        )
    result = report(rows)
    result["questions"] = rows
    return result


def run_chat(questions: list[Question], reply: Callable[[str, object], object]) -> dict:
    """Score the whole assistant: ``reply(message, state) -> Reply`` (see ``assistant.engine``).

    Earlier turns of a question's ``history`` are replayed in one conversation first. A
    clarifying question counts as a decline only if none of its choices is expected.
    """
    from eval.metrics import fact_recall

    if questions:
        reply(questions[0].question, None)  # warm-up
    rows = []
    for q in questions:
        state = None
        for turn in q.history:
            if turn.role == "user":
                state = reply(turn.content, state).state
        started = time.perf_counter()
        r = reply(q.question, state)
        latency = (time.perf_counter() - started) * 1000
        clarified_wrong = bool(r.choices) and not any(c.id in q.expect for c in r.choices)
        rows.append(
            {
                "id": q.id,
                "expect": q.expect,
                "tags": q.tags,
                "latency_ms": latency,
                "rank": None if r.declined else first_rank(r.ranked[:10], q.expect),
                "fact_recall": fact_recall(r.answer, q.facts) if q.expect else None,
                "declined": r.declined or clarified_wrong,
                "ranked": r.ranked[:5],
                "answer": r.answer,
            }
        )
    result = report(rows)
    result["questions"] = rows
    return result
