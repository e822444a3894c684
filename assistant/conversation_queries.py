"""Bulk work on the conversation database: importing history, and the reads of
conversation search. A mixin of :class:`assistant.conversations.ConversationStore`."""

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from assistant.conversation_records import (
    ImportedThread,
    Message,
    Thread,
    as_utc,
    message_of,
    now_utc,
    thread_of,
)


class HistoryQueries:
    """Imports and conversation search's reads (see the module)."""

    if TYPE_CHECKING:

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]: ...

    def import_threads(self, threads: Sequence[ImportedThread]) -> tuple[int, int]:
        """Add imported conversations in one transaction (all or nothing). A thread
        whose id exists is extended; a message it holds already (same role, text
        and time) is skipped, so importing a file twice adds nothing.

        Returns:
            ``(threads created, messages added)``.
        """
        created = added = 0
        with self._transaction() as db:
            for thread in threads:
                times = [as_utc(when).isoformat() for _, _, when in thread.messages]
                first, last = (min(times), max(times)) if times else (now_utc().isoformat(),) * 2
                if db.execute("SELECT 1 FROM threads WHERE id = ?", (thread.id,)).fetchone():
                    db.execute(
                        "UPDATE threads SET updated_at = MAX(updated_at, ?) WHERE id = ?",
                        (last, thread.id),
                    )
                else:
                    db.execute(
                        "INSERT INTO threads (id, title, created_at, updated_at, incognito)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (thread.id, thread.title, first, last, int(thread.incognito)),
                    )
                    created += 1
                rows = db.execute(
                    "SELECT role, content, created_at FROM messages WHERE thread_id = ?",
                    (thread.id,),
                )
                held = {(r[0], r[1], r[2]) for r in rows}
                for (role, content, _), when in zip(thread.messages, times, strict=True):
                    if (role, content, when) in held:
                        continue
                    held.add((role, content, when))
                    db.execute(
                        "INSERT INTO messages (thread_id, role, content, created_at)"
                        " VALUES (?, ?, ?, ?)",
                        (thread.id, role, content, when),
                    )
                    added += 1
        return created, added

    def messages_after(self, after_id: int, limit: int) -> list[tuple[Message, bool]]:
        """Up to ``limit`` messages with an id above ``after_id``, in every thread,
        oldest first, each with whether its thread is incognito."""
        rows = self._query(
            "SELECT m.*, t.incognito AS private FROM messages m JOIN threads t"
            " ON t.id = m.thread_id WHERE m.id > ? ORDER BY m.id LIMIT ?",
            (after_id, limit),
        )
        return [(message_of(row), bool(row["private"])) for row in rows]

    def exchange(self, message_ids: list[int]) -> dict[int, tuple[Thread, list[Message]]]:
        """For each id that still exists in a thread that is not incognito: its thread
        and the message with its neighbours in the thread (the one before and the
        one after, where there are), oldest first. One query per id, on an index."""
        found: dict[int, tuple[Thread, list[Message]]] = {}
        for message_id in message_ids:
            rows = self._query(
                "SELECT * FROM messages WHERE id = ?1 OR id = (SELECT MAX(id) FROM messages"
                " WHERE thread_id = (SELECT thread_id FROM messages WHERE id = ?1) AND id < ?1)"
                " OR id = (SELECT MIN(id) FROM messages WHERE thread_id ="
                " (SELECT thread_id FROM messages WHERE id = ?1) AND id > ?1) ORDER BY id",
                (message_id,),
            )
            messages = [message_of(row) for row in rows]
            if not any(m.id == message_id for m in messages):
                continue
            threads = self._query("SELECT * FROM threads WHERE id = ?", (messages[0].thread_id,))
            if threads and not threads[0]["incognito"]:
                found[message_id] = (thread_of(threads[0]), messages)
        return found
