"""Conversation search: what was said in past conversations, found by meaning.

Every final message (the user's, and the assistant's replies, marked as such) of
every conversation that is not incognito is embedded into the store under its
own namespace (``("conversations", "<user_id>", "messages")``, one item per
message, keyed by its id), next to the memories. This is the field's
conversation search (Letta's recall memory, ChatGPT's reference to chat
history): it finds what reflection did not keep. A hit is checked against the
conversation database before it is used, so a deleted message or a conversation
made incognito is never recalled, whatever the index still holds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from langgraph.store.base import BaseStore, PutOp

from assistant.conversations import INTERRUPTED, ConversationStore, Message, Thread
from assistant.formats import local_time

#: Statuses of a message that no longer changes (an error reply keeps no text).
FINAL = frozenset({"complete", "cancelled", "error"})
#: Characters of a message that are embedded (MiniLM reads about 256 tokens).
EMBEDDED_CHARS = 1000
#: Characters of a message shown in a prompt: the match, and each neighbour.
MATCH_CHARS = 400
NEIGHBOUR_CHARS = 160
#: How long a reply saved as it streams may still be being written (seconds).
STREAMING_SECONDS = 300


@dataclass(frozen=True, slots=True)
class PastExchange:
    """A past message that matched a query, with its neighbours and its thread.

    Attributes:
        message_id: the matching message.
        thread: its conversation.
        messages: the match and the messages just before and after it in the
            thread, oldest first.
        score: cosine similarity of the match to the query.
    """

    message_id: int
    thread: Thread
    messages: tuple[Message, ...]
    score: float

    @property
    def when(self) -> datetime:
        """When the matching message was written (UTC)."""
        return next(m.created_at for m in self.messages if m.id == self.message_id)

    def text(self) -> str:
        """The exchange as a prompt shows it: date, title, who said what."""
        lines = [f'{local_time(self.when)[:10]}, in "{self.thread.title}":']
        for message in self.messages:
            limit = MATCH_CHARS if message.id == self.message_id else NEIGHBOUR_CHARS
            content = " ".join(message.content.split())
            if len(content) > limit:
                content = content[: limit - 1].rsplit(" ", 1)[0] + "…"
            who = "the user said" if message.role == "user" else "you answered"
            lines.append(f"  {who}: {content}")
        return "\n".join(lines)


class ConversationIndex:
    """The searchable index of past messages, kept in step with the database.

    Args:
        store: the LangGraph store (it must embed the ``text`` field).
        conversations: the conversation database, the truth the index follows.
        namespace: the index's namespace prefix, e.g. ``("conversations", "me")``.

    Raises:
        StorageError: from the store or the database, on any method.
    """

    def __init__(
        self, store: BaseStore, conversations: ConversationStore, namespace: tuple[str, ...]
    ) -> None:
        self.store = store
        self.conversations = conversations
        self.items = (*namespace, "messages")
        self.state = (*namespace, "state")
        self._through: int | None = None  # the cursor, once read

    def cursor(self) -> int:
        """The id through which every final message has been indexed (0: none).
        Read from the store once, then kept: a sync finds in the database (a cheap
        query) whether there is anything new, so a turn with nothing to index costs
        the store nothing. (Another process's progress is seen by the next
        instance; indexing a message again is harmless, its key is its id.)"""
        if self._through is None:
            item = self.store.get(self.state, "cursor")
            self._through = int(item.value.get("through", 0)) if item is not None else 0
        return self._through

    def sync(self, limit: int | None = None) -> int:
        """Index the messages written since the last sync, up to ``limit`` of them
        (``None``: all), in batches. A message still being written stops the sync
        at it, so it is indexed whole later; incognito threads are skipped.

        Returns:
            How many messages were indexed.
        """
        done = 0
        through = self.cursor()
        while limit is None or done < limit:
            size = 256 if limit is None else min(256, limit - done)
            batch = self.conversations.messages_after(through, size)
            ops: list[PutOp] = []
            last = through
            for message, private in batch:
                if message.status not in FINAL or _streaming(message):
                    break  # indexed whole once it ends
                last = message.id
                if not private and message.content.strip():
                    ops.append(PutOp(self.items, str(message.id), _value(message)))
            if last == through:
                break
            # The items and the cursor in one batch: all or nothing.
            ops.append(PutOp(self.state, "cursor", {"through": last}, index=False))
            self.store.batch(ops)
            done += len(ops) - 1
            through = self._through = last
            if len(batch) < size:
                break
        return done

    def search(
        self,
        query: str,
        *,
        limit: int = 3,
        min_score: float = 0.3,
        exclude: Collection[int] = (),
    ) -> list[PastExchange]:
        """The past exchanges nearest to ``query``, best first.

        Args:
            query: what to look for (the user's message).
            limit: the most exchanges returned.
            min_score: the least cosine similarity of a match.
            exclude: message ids not to return (those already in the prompt).
        """
        hits = self.store.search(self.items, query=query, limit=limit * 3 + len(exclude))
        scored = [
            (int(hit.key), hit.score or 0.0)
            for hit in hits
            if (hit.score or 0.0) >= min_score and int(hit.key) not in exclude
        ]
        found: list[PastExchange] = []
        covered: set[int] = set()
        for key, score in scored:
            if key in covered:
                continue  # shown already as a neighbour
            live = self.conversations.exchange([key])  # best first: only as many as used
            if key not in live:
                continue  # deleted, or incognito now
            thread, messages = live[key]
            covered.update(m.id for m in messages)
            found.append(PastExchange(key, thread, tuple(messages), score))
            if len(found) == limit:
                break
        return found

    def forget_thread(self, thread_id: str) -> int:
        """Remove a thread's messages from the index (it was deleted or made
        incognito). Returns how many were removed."""
        keys: list[str] = []
        while page := self.store.search(
            self.items, filter={"thread_id": thread_id}, limit=500, offset=len(keys)
        ):
            keys.extend(item.key for item in page)
        if keys:
            self.store.batch([PutOp(self.items, key, None) for key in keys])
        return len(keys)

    def rebuild(self) -> int:
        """Drop the index and build it again from the database (``reindex``).

        Returns:
            How many messages were indexed.
        """
        keys: list[str] = []
        while page := self.store.search(self.items, limit=1000, offset=len(keys)):
            keys.extend(item.key for item in page)
        ops = [PutOp(self.items, key, None) for key in keys]
        self.store.batch([*ops, PutOp(self.state, "cursor", None)])
        self._through = 0
        return self.sync()


def _streaming(message: Message) -> bool:
    """Whether ``message`` is a reply still being written, maybe by another
    process: saved as it stands (:data:`assistant.conversations.INTERRUPTED`)
    within the last :data:`STREAMING_SECONDS`. Older, it was cut short by a crash
    and is final as it is."""
    if message.error != INTERRUPTED:
        return False
    return datetime.now(UTC) - message.created_at < timedelta(seconds=STREAMING_SECONDS)


def _value(message: Message) -> dict[str, object]:
    return {
        "text": message.content[:EMBEDDED_CHARS],
        "thread_id": message.thread_id,
        "role": message.role,
        "created_at": message.created_at.isoformat(),
    }
