"""One turn of a conversation, end to end (DESIGN.md, "One turn").

``ChatSession.send`` saves the user's message, builds the prompt from the system
prompt and the thread's recent history, streams the reply from the chat model
and saves it. It speaks in an async iterator of plain events; front ends turn
those into output (the CLI) or widget updates (the TUI).
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately, trim_messages

from assistant.assets import read_text
from assistant.config import Settings
from assistant.conversations import ConversationStore, Message, MessageStatus
from assistant.errors import AssistantError, InputError
from assistant.llm import BackendChoice, explain_failure
from assistant.llm.gate import ModelGate
from assistant.memory.recall import MemoryContext, Recall

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserMessageSaved:
    """The user's message is committed; the model has not been called yet."""

    message: Message


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
    """The whole reply, as saved."""

    message: Message


TurnEvent = UserMessageSaved | MemoriesRecalled | ReplyToken | ReplyFinished


def to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    """Saved messages as langchain messages, skipping empty ones (failed replies)."""
    kinds = {"user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages if m.content.strip()]


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

    def recall_memories(self, thread_id: str, text: str) -> MemoryContext:
        """The memories for a turn of ``thread_id`` whose message is ``text``: none
        in an incognito thread or without a recall. Blocking (embeds, reads the store).

        Raises:
            StorageError: the memory store cannot be read.
        """
        if self.recall is None or self.store.get_thread(thread_id).incognito:
            return MemoryContext()
        earlier = [m.content for m in self.store.messages(thread_id)[:-1] if m.content.strip()]
        return self.recall.recall(text, earlier[-2:])

    def build_prompt(
        self, thread_id: str, memories: MemoryContext | None = None
    ) -> list[BaseMessage]:
        """System prompt (then the fenced memory block) + as much recent history as
        fits ``history_tokens``.

        The latest message is always kept, even when it alone is over the budget.
        The memory block comes after the system prompt's stable text, so a prompt
        cache keyed on the prefix keeps working.
        """
        stable = self._system_template.format(today=date.today().isoformat())
        block = memories.block() if memories else ""
        system = SystemMessage(f"{stable}\n\n{block}" if block else stable)
        history = to_langchain(self.store.messages(thread_id))
        if not history:
            return [system]
        *past, latest = history
        budget = self.settings.history_tokens - count_tokens_approximately([latest])
        kept = (
            trim_messages(
                past,
                max_tokens=budget,
                token_counter=count_tokens_approximately,
                strategy="last",
                start_on="human",
            )
            if budget > 0 and past
            else []
        )
        return [system, *kept, latest]

    async def send(self, thread_id: str, text: str) -> AsyncIterator[TurnEvent]:
        """Send ``text`` in thread ``thread_id`` and stream the reply.

        Consume it inside ``contextlib.aclosing(session.send(...))``: a consumer that
        is cancelled between two events then closes the stream at once, which saves
        the partial reply (otherwise that waits for garbage collection).

        Yields:
            ``UserMessageSaved`` once, ``MemoriesRecalled`` once, then
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
        yield UserMessageSaved(self.store.add_message(thread_id, "user", text))
        error = None
        try:
            # Embedding and the store are blocking: off the event loop.
            memories = await asyncio.to_thread(self.recall_memories, thread_id, text)
        except AssistantError as exc:
            log.warning("recall failed: %s", exc)
            memories, error = MemoryContext(), str(exc)
        yield MemoriesRecalled(memories, error)
        prompt = self.build_prompt(thread_id, memories)
        used = memories.keys
        parts: list[str] = []
        try:
            with self.gate.chat():
                async for chunk in self.model.astream(prompt):
                    if piece := chunk.text:
                        parts.append(piece)
                        yield ReplyToken(piece)
        except (asyncio.CancelledError, GeneratorExit):
            self._save_reply(thread_id, parts, "cancelled", "Stopped before the end.", used)
            raise
        except Exception as exc:
            failure = explain_failure(exc, self.choice)
            self._save_reply(thread_id, parts, "error", str(failure), used)
            raise failure from exc
        reply = self._save_reply(thread_id, parts, "complete", None, used)
        assert reply is not None
        yield ReplyFinished(reply)

    def _save_reply(
        self,
        thread_id: str,
        parts: list[str],
        status: MessageStatus,
        error: str | None,
        memories_used: list[str],
    ) -> Message | None:
        content = "".join(parts).strip()
        if status != "complete" and not content:
            return None
        return self.store.add_message(
            thread_id,
            "assistant",
            content,
            status=status,
            error=error,
            backend=self.choice.backend,
            model=self.choice.model,
            memories_used=memories_used,
        )
