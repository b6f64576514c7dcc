"""Chat over HTTP: ``/api/chat`` (+ server-sent events), ``/v1/chat/completions`` (OpenAI-compatible),
``/api/feedback``. Routes are thin: parse, call the chat service, shape the response."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from assistant.engine import Reply, SourceRef
from assistant.summary import Block
from zhiyin.web.deps import ChatDep, SessionsDep
from zhiyin.web.limits import RowId

PLACE_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
router = APIRouter()


class ChatRequest(BaseModel):
    session_id: str | None = Field(None, max_length=64)
    message: str = Field(..., min_length=1, max_length=1000)
    place: str | None = Field(None, pattern=PLACE_ID)


class ChatResponse(BaseModel):
    session_id: str
    turn_id: int
    answer: str
    sources: list[SourceRef]
    aspect: str
    declined: bool
    reason: str | None = Field(
        None,
        description="Why it declined (or, with choices, asks back): no_match, not_covered, "
        "personal_lookup, other_region, other_group, chatter, personal_data, injection or abuse.",
    )
    handoff: dict | None = None
    choices: list[SourceRef] | None = None
    suggestions: list[str] = []
    summary: str = Field("", description="The direct answer first, at most 80 characters.")
    blocks: list[Block] = Field(
        default_factory=list,
        description="The guide part by part: materials, conditions, time, fee, where, steps, online, faq.",
    )


def _response(session_id: str, turn_id: int, reply: Reply) -> ChatResponse:
    return ChatResponse(
        session_id=session_id,
        turn_id=turn_id,
        answer=reply.answer,
        sources=reply.sources,
        aspect=reply.aspect,
        declined=reply.declined,
        reason=reply.reason,
        handoff=reply.handoff,
        choices=reply.choices,
        suggestions=reply.suggestions,
        summary=reply.summary,
        blocks=reply.blocks,
    )


@router.post("/api/chat", response_model=ChatResponse)
def chat(body: ChatRequest, service: ChatDep) -> ChatResponse:
    if not body.message.strip():
        raise HTTPException(422, "message is empty")
    session_id, reply, turn_id = service.chat(body.message, body.session_id, body.place)
    return _response(session_id, turn_id, reply)


class HistoryTurn(BaseModel):
    role: str
    content: str
    sources: list[SourceRef] = []


@router.get("/api/chat/{session_id}", response_model=list[HistoryTurn])
def history(session_id: Annotated[str, Path(max_length=64)], sessions: SessionsDep) -> list[HistoryTurn]:
    """The turns of a live conversation (masked as stored), e.g. to continue it on a phone."""
    return [HistoryTurn(**t) for t in sessions.history(session_id)]


def _pieces(text: str, size: int = 24) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.post("/api/chat/stream")
def chat_stream(body: ChatRequest, service: ChatDep) -> StreamingResponse:
    """The same turn as /api/chat, as server-sent events: ``delta`` pieces of the answer, then ``done``
    with the full response (sources, handoff, choices …)."""
    if not body.message.strip():
        raise HTTPException(422, "message is empty")
    session_id, reply, turn_id = service.chat(body.message, body.session_id, body.place)
    full = _response(session_id, turn_id, reply).model_dump()

    def events() -> Iterator[str]:
        yield _sse("start", {"session_id": session_id})
        for piece in _pieces(reply.answer):
            yield _sse("delta", {"text": piece})
        yield _sse("done", full)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list | None = None


class CompletionRequest(BaseModel):
    model: str = "zhiyin"
    messages: list[OpenAIMessage] = Field(..., min_length=1, max_length=50)
    stream: bool = False
    user: str | None = None
    place: str | None = Field(None, pattern=PLACE_ID)  # extension: answer as at this doorplate


def _text(content: str | list | None) -> str:
    if isinstance(content, list):  # OpenAI content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


@router.post("/v1/chat/completions")
def completions(body: CompletionRequest, service: ChatDep):
    """OpenAI-compatible chat: the user messages are the conversation; sources come in ``sources``."""
    users = [_text(m.content) for m in body.messages if m.role == "user" and _text(m.content).strip()]
    if not users:
        raise HTTPException(422, "messages must contain a user message")
    if any(len(u) > 1000 for u in users):
        raise HTTPException(422, "a user message is longer than 1000 characters")
    reply = service.replay(users, body.place)
    created, cid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    extra = {
        "sources": [s.model_dump() for s in reply.sources],
        "declined": reply.declined,
        "reason": reply.reason if reply.declined else None,
        "handoff": reply.handoff,
    }
    if not body.stream:
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": sum(len(u) for u in users),
                "completion_tokens": len(reply.answer),
                "total_tokens": sum(len(u) for u in users) + len(reply.answer),
            },
            **extra,
        }

    def chunks() -> Iterator[str]:
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model}
        yield (
            "data: "
            + json.dumps(
                {**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
            )
            + "\n\n"
        )
        for piece in _pieces(reply.answer):
            yield (
                "data: "
                + json.dumps(
                    {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]},
                    ensure_ascii=False,
                )
                + "\n\n"
            )
        yield (
            "data: "
            + json.dumps(
                {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], **extra},
                ensure_ascii=False,
            )
            + "\n\n"
        )
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


class FeedbackRequest(BaseModel):
    session_id: str | None = Field(None, max_length=64)
    turn_id: RowId | None = None
    rating: Literal["good", "bad"]
    comment: str | None = Field(None, max_length=500)


@router.post("/api/feedback", status_code=201)
def feedback(body: FeedbackRequest, sessions: SessionsDep) -> dict:
    """好差评: a rating (and optional comment) on one answer."""
    fid = sessions.add_feedback(body.session_id, body.turn_id, body.rating, body.comment)
    return {"id": fid, "status": "recorded"}
