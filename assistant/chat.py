"""A chat turn with memory: the assistant plus the session store."""

from __future__ import annotations

import json
from dataclasses import dataclass

from assistant.engine import Assistant, ConversationState, Reply
from assistant.sessions import SessionStore


@dataclass
class ChatService:
    assistant: Assistant
    sessions: SessionStore

    def chat(
        self, message: str, session_id: str | None = None, place: str | None = None
    ) -> tuple[str, Reply, int]:
        """Answer ``message`` in session ``session_id`` (a new one if absent or expired)."""
        sid, state = self.sessions.load(session_id, place)
        reply = self.assistant.reply(message, state, place=place)
        turn_id = self.sessions.save_turn(
            sid, message, reply.answer, [s.model_dump() for s in reply.sources], reply.state
        )
        if not reply.declined and not reply.choices and reply.sources:
            self.sessions.count_ask(place, self.assistant.item_id(reply.sources[0].id))
        return sid, reply, turn_id

    def history(self, session_id: str) -> list[dict]:
        """The stored turns of a conversation that has not expired; [] otherwise."""
        if not self.sessions.alive(session_id):
            return []
        return [
            {"role": t.role, "content": t.content, "sources": json.loads(t.sources or "[]")}
            for t in self.sessions.turns(session_id)
        ]

    def replay(self, user_messages: list[str], place: str | None = None) -> Reply:
        """Stateless use (the OpenAI-compatible API): earlier user turns rebuild the conversation."""
        state: ConversationState | None = None
        reply: Reply | None = None
        for message in user_messages:
            reply = self.assistant.reply(message, state, place=place)
            state = reply.state
        assert reply is not None
        return reply
