"""One turn of a conversation, end to end (DESIGN.md, "One turn").

``ChatSession.send`` saves the user's message, builds the prompt from the system
prompt and the thread's recent history, streams the reply from the chat model
and saves it. It speaks in an async iterator of plain events; front ends turn
those into output (the CLI) or widget updates (the TUI).
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately

from assistant.assets import read_text
from assistant.config import Settings
from assistant.context_window import history_window, to_langchain
from assistant.conversations import INTERRUPTED, ConversationStore, Message, MessageStatus, Thread
from assistant.errors import AssistantError, InputError
from assistant.llm import BackendChoice, explain_failure
from assistant.llm.gate import ModelGate
from assistant.llm.guard import STOPPED_NOTE, RepetitionGuard
from assistant.memory.recall import MemoryContext, Recall

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserMessageSaved:
    """The user's message is committed; the model has not been called yet."""

    message: Message


@dataclass(frozen=True, slots=True)
class RulesSaved:
    """Rules the message asked for ("From now on, answer briefly."), saved at once
    so that this very reply follows them."""

    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MemoriesRecalled:
    """The memories put into this turn's prompt (maybe none), or why there are none."""

    context: MemoryContext
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyToken:
    """A piece of the reply as the model streams it."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyFinished:
    """The whole reply, as saved. A reply stopped because the model repeated itself
    has status ``cancelled``, the note in ``error``, and the repetition cut off."""

    message: Message


TurnEvent = UserMessageSaved | RulesSaved | MemoriesRecalled | ReplyToken | ReplyFinished


#: How often a reply being written is saved as it stands (seconds).
PARTIAL_SAVE_SECONDS = 1.0


@dataclass(slots=True)
class _Draft:
    """A reply saved while it streams: its message, once saved, and when."""

    saved_at: float
    message_id: int | None = None


#: Messages indexed for conversation search after a reply, at most (a turn's two,
#: and a few that an earlier turn or another process left).
INDEX_PER_TURN = 16


def check_message(text: str, limit: int) -> str:
    """The message to send, or an error before anything is saved.

    Args:
        text: the message as typed.
        limit: the longest message accepted, in characters (``max_message_chars``).

    Raises:
        InputError: the message is empty or longer than ``limit``.
    """
    if not text.strip():
        raise InputError("Nothing to send: the message is empty.")
    if len(text) > limit:
        raise InputError(
            f"The message has {len(text):,} characters; the limit is {limit:,} "
            "(max_message_chars). Shorten it, or raise the limit in the config file."
        )
    return text


class ChatSession:
    """Sends messages of any thread in ``store`` to one chat model.

    Args:
        store: where threads and messages live.
        model: any langchain-core chat model (streaming via ``astream``).
        choice: the backend and model in use; recorded on every reply.
        settings: token budgets and limits.
        recall: chooses the memories of each turn; ``None``: no memories.
        gate: held while a reply streams, so that background reflection on the
            same model gives way (:mod:`assistant.llm.gate`); one is made if none
            is given.
    """

    def __init__(
        self,
        store: ConversationStore,
        model: BaseChatModel,
        choice: BackendChoice,
        settings: Settings,
        recall: Recall | None = None,
        gate: ModelGate | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.choice = choice
        self.settings = settings
        self.recall = recall
        self.gate = gate or ModelGate()
        self._system_template = read_text("prompts/system.md")

    def check_message(self, text: str) -> str:
        """:func:`check_message` with this session's limit."""
        return check_message(text, self.settings.max_message_chars)

    def save_rules(
        self, thread_id: str, message: Message, *, private: bool | None = None
    ) -> tuple[str, ...]:
        """The rules ``message`` asks for, saved now (none in an incognito thread or
        without memories; ``private``: whether it is incognito, read when not
        given). Blocking (embeds, writes the store).

        Raises:
            StorageError: the memory store cannot be written.
        """
        from assistant.memory.editing import asks_for_rules, remember_requests

        if self.recall is None or not asks_for_rules(message.content):
            return ()  # most messages: no rule, and no read of the thread
        if self.store.get_thread(thread_id).incognito if private is None else private:
            return ()
        saved = remember_requests(
            self.recall.memories, message.content, thread_id=thread_id, message_id=message.id
        )
        return tuple(r.memory.render() for r in saved if r.status != "known")

    def recall_memories(
        self,
        thread_id: str,
        text: str,
        *,
        history: Sequence[Message] | None = None,
        private: bool | None = None,
    ) -> MemoryContext:
        """The memories for a turn of ``thread_id`` whose message is ``text``: none
        in an incognito thread or without a recall. ``history`` (the thread's
        messages, ``text`` last) and ``private`` (incognito) are read when not
        given. Blocking (embeds, reads the store).

        Raises:
            StorageError: the memory store cannot be read.
        """
        if self.recall is None:
            return MemoryContext()
        if self.store.get_thread(thread_id).incognito if private is None else private:
            return MemoryContext()
        if history is None:
            history = self.store.messages(thread_id)
        earlier = [m.content for m in history[:-1] if m.content.strip()]
        return self.recall.recall(text, earlier[-2:], shown=self._window_ids(history))

    def _window_ids(self, history: Sequence[Message]) -> set[int]:
        """Ids of the messages :meth:`build_prompt` puts into the prompt (its history
        window and the latest message): conversation search leaves them out."""
        said = [m for m in history if m.content.strip()]
        if not said:
            return set()
        *past, latest = said
        budget = self.settings.history_tokens - count_tokens_approximately(to_langchain([latest]))
        kept = history_window(to_langchain(past), budget, step=self.settings.history_tokens // 2)
        return {m.id for m in said[len(past) - len(kept) :]}

    def build_prompt(
        self,
        thread_id: str,
        memories: MemoryContext | None = None,
        *,
        history: Sequence[Message] | None = None,
    ) -> list[BaseMessage]:
        """System prompt + as much recent history as fits ``history_tokens`` + the
        fenced memory block + the latest message (``history``: the thread's
        messages, read when not given).

        The layout keeps llama.cpp's key/value cache useful: what changes every
        turn (the recalled memories) comes last, just before the latest message,
        so the system prompt and the history before it are the same tokens as in
        the previous turn's prompt and are not read again. The history window's
        start moves in steps of half the budget (see :func:`history_window`), so it
        too stays put for several turns. The latest message is always kept, even
        when it alone is over the budget.
        """
        system = SystemMessage(self._system_template.format(today=date.today().isoformat()))
        if history is None:
            history = self.store.messages(thread_id)
        turns = to_langchain(history)
        block = memories.block() if memories else ""
        recalled = [SystemMessage(block)] if block else []
        if not turns:
            return [system, *recalled]
        *past, latest = turns
        budget = self.settings.history_tokens - count_tokens_approximately([latest])
        kept = history_window(past, budget, step=self.settings.history_tokens // 2)
        return [system, *kept, *recalled, latest]

    async def send(self, thread_id: str, text: str) -> AsyncIterator[TurnEvent]:
        """Send ``text`` in thread ``thread_id`` and stream the reply.

        Consume it inside ``contextlib.aclosing(session.send(...))``: a consumer that
        is cancelled between two events then closes the stream at once, which saves
        the partial reply (otherwise that waits for garbage collection).

        Yields:
            ``UserMessageSaved`` once, ``RulesSaved`` when the message asks for a
            rule ("From now on, ..."), ``MemoriesRecalled`` once, then
            ``ReplyToken`` per piece of the reply, then ``ReplyFinished`` with the
            saved reply (its ``memories_used`` lists the recalled memories' keys).
            A memory store that cannot be read costs the turn its memories, not
            the reply (``MemoriesRecalled.error`` says why).

        Raises:
            InputError: the message was refused (nothing saved).
            ModelError: the model failed; the user's message and any partial reply
                (status ``error``) are saved.
            asyncio.CancelledError: the turn was stopped; the partial reply is saved
                with status ``cancelled``.
        """
        text = self.check_message(text)
        saved = self.store.add_message(thread_id, "user", text)
        yield UserMessageSaved(saved)
        error = None
        # The thread is read once per turn; it, embedding and the store are
        # blocking: off the event loop.
        thread, history = await asyncio.to_thread(self._read_thread, thread_id)
        try:
            rules = await asyncio.to_thread(
                self.save_rules, thread_id, saved, private=thread.incognito
            )
            if rules:
                yield RulesSaved(rules)
            memories = await asyncio.to_thread(
                self.recall_memories, thread_id, text, history=history, private=thread.incognito
            )
        except AssistantError as exc:
            log.warning("recall failed: %s", exc)
            memories, error = MemoryContext(), str(exc)
        yield MemoriesRecalled(memories, error)
        prompt = self.build_prompt(thread_id, memories, history=history)
        used = memories.keys
        parts: list[str] = []
        guard = RepetitionGuard()
        draft = _Draft(time.monotonic())
        try:
            with self.gate.chat():
                async with aclosing(self.model.astream(prompt)) as stream:
                    while (chunk := await self._next_chunk(stream, first=not parts)) is not None:
                        if piece := chunk.text:
                            parts.append(piece)
                            self._keep_partial(thread_id, parts, used, draft)
                            yield ReplyToken(piece)
                            if guard.feed(piece):
                                break
        except (asyncio.CancelledError, GeneratorExit):
            self._save_reply(thread_id, parts, "cancelled", "Stopped before the end.", used, draft)
            raise
        except Exception as exc:
            failure = explain_failure(exc, self.choice)
            self._save_reply(thread_id, parts, "error", str(failure), used, draft)
            raise failure from exc
        if guard.looping:
            log.info("reply in %s stopped: the model repeated itself", thread_id)
            kept = [guard.kept()]
            reply = self._save_reply(thread_id, kept, "cancelled", STOPPED_NOTE, used, draft)
        else:
            reply = self._save_reply(thread_id, parts, "complete", None, used, draft)
        assert reply is not None
        yield ReplyFinished(reply)
        if self.recall is not None and not thread.incognito:
            try:  # the turn into conversation search, off the next turn's path
                await asyncio.to_thread(self.recall.index_new, INDEX_PER_TURN)
            except AssistantError as exc:
                log.warning("conversation search not updated: %s", exc)

    async def _next_chunk(self, stream: AsyncIterator[Any], *, first: bool) -> Any | None:
        """The stream's next chunk (``None`` at its end). From Ollama, a server that
        accepted the request may hang: the reply must begin within
        ``first_token_timeout_seconds`` and go on with at most
        ``inter_token_timeout_seconds`` between pieces (the embedded model runs in
        this process and cannot hang so).

        Raises:
            TimeoutError: the wait was longer; the message says which limit.
        """
        if self.choice.backend != "ollama":
            return await anext(stream, None)
        limit = (
            self.settings.first_token_timeout_seconds
            if first
            else self.settings.inter_token_timeout_seconds
        )
        try:
            async with asyncio.timeout(limit):
                return await anext(stream, None)
        except TimeoutError:
            name = "first_token_timeout_seconds" if first else "inter_token_timeout_seconds"
            what = "no reply began" if first else "the reply stopped"
            raise TimeoutError(f"{what} within {limit:g} s, {name}") from None

    def _read_thread(self, thread_id: str) -> tuple[Thread, list[Message]]:
        return self.store.get_thread(thread_id), self.store.messages(thread_id)

    def _save_reply(
        self,
        thread_id: str,
        parts: list[str],
        status: MessageStatus,
        error: str | None,
        memories_used: list[str],
        draft: "_Draft | None" = None,
    ) -> Message | None:
        content = "".join(parts).strip()
        if draft is not None and draft.message_id is not None:
            return self.store.update_message(
                draft.message_id, content, status=status, error=error, memories_used=memories_used
            )
        if status != "complete" and not content:
            return None
        message = self.store.add_message(
            thread_id,
            "assistant",
            content,
            status=status,
            error=error,
            backend=self.choice.backend,
            model=self.choice.model,
            memories_used=memories_used,
        )
        if draft is not None:
            draft.message_id = message.id
        return message

    def _keep_partial(
        self, thread_id: str, parts: list[str], memories_used: list[str], draft: "_Draft"
    ) -> None:
        """Save the reply as it stands, at most every :data:`PARTIAL_SAVE_SECONDS`,
        marked ``cancelled`` until it ends: a process killed mid-reply (``kill -9``,
        a crash) keeps what the user saw. One small WAL commit a second; a failed
        one costs a warning, not the reply."""
        now = time.monotonic()
        if now - draft.saved_at < PARTIAL_SAVE_SECONDS:
            return
        draft.saved_at = now
        try:
            self._save_reply(thread_id, parts, "cancelled", INTERRUPTED, memories_used, draft)
        except AssistantError as exc:
            log.warning("partial reply not saved: %s", exc)
