"""A chat turn with memory: the assistant plus the session store."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.engine import Assistant, ConversationState, Reply
from assistant.sessions import SessionStore
from halls.asks import AskCounts


@dataclass
class ChatService:
    assistant: Assistant
    sessions: SessionStore
    asks: AskCounts

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
            self.asks.count(place, self.assistant.item_id(reply.sources[0].id))
        return sid, reply, turn_id

    def replay(self, user_messages: list[str], place: str | None = None) -> Reply:
        """Stateless use (the OpenAI-compatible API): earlier user turns rebuild the conversation."""
        state: ConversationState | None = None
        reply: Reply | None = None
        for n, message in enumerate(user_messages, start=1):
            # earlier turns only rebuild the state: one LLM rewrite per request, for the last one
            reply = self.assistant.reply(message, state, place=place, rewrite=n == len(user_messages))
            state = reply.state
        assert reply is not None
        return reply
