"""The reflection journal of the conversation database: each thread's cursor, and
what each reflection decided, recorded before it is applied (DESIGN.md,
"Reflection"). A mixin of :class:`assistant.conversations.ConversationStore`."""

import sqlite3
import uuid
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING

from assistant.conversation_records import Message, Reflection, message_of, now_utc, reflection_of


class ReflectionJournal:
    """Reflection's part of the conversation database (see the module)."""

    if TYPE_CHECKING:

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...
        def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]: ...

    def unreflected(self, thread_id: str) -> list[Message]:
        """The complete messages after the thread's reflection cursor, oldest first."""
        rows = self._query(
            "SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id"
            " WHERE m.thread_id = ? AND m.id > t.reflected_through AND m.status = 'complete'"
            " ORDER BY m.id",
            (thread_id,),
        )
        return [message_of(row) for row in rows]

    def unreflected_threads(
        self, thread_id: str | None = None
    ) -> list[tuple[str, datetime, datetime]]:
        """Threads (all, or just ``thread_id``) with complete messages past their
        reflection cursor: ``(thread id, first such message's time, last one's
        time)``, oldest first."""
        only = " AND m.thread_id = ?" if thread_id else ""
        rows = self._query(
            "SELECT m.thread_id, MIN(m.created_at) AS first, MAX(m.created_at) AS last"
            " FROM messages m JOIN threads t ON t.id = m.thread_id"
            f" WHERE m.id > t.reflected_through AND m.status = 'complete'{only}"
            " GROUP BY m.thread_id ORDER BY first",
            (thread_id,) if thread_id else (),
        )
        read = datetime.fromisoformat
        return [(row["thread_id"], read(row["first"]), read(row["last"])) for row in rows]

    def record_reflection(
        self,
        thread_id: str,
        through_message: int,
        *,
        operations: str | None,
        raw_output: str | None = None,
        error: str | None = None,
        model_calls: int = 0,
        tokens: int = 0,
    ) -> Reflection | None:
        """Journal a reflection: ``pending`` with its operations (JSON), or ``failed``
        with the error and the model's raw output. The cursor does not move.

        Returns:
            The record; ``None`` for a ``pending`` one when another run (of this or
            another process) has already reflected through ``through_message`` or
            holds a pending record of its own: nothing is recorded, so two runs on
            one thread never both write.
        """
        reflection_id = uuid.uuid4().hex
        status = "failed" if error is not None else "pending"
        now = now_utc().isoformat()
        with self._transaction() as db:
            if (
                status == "pending"
                and db.execute(
                    "SELECT 1 FROM threads t WHERE t.id = ? AND (t.reflected_through >= ?"
                    " OR EXISTS (SELECT 1 FROM reflections r"
                    " WHERE r.thread_id = t.id AND r.status = 'pending'))",
                    (thread_id, through_message),
                ).fetchone()
            ):
                return None
            db.execute(
                "INSERT INTO reflections (id, thread_id, through_message, status, operations,"
                " raw_output, error, model_calls, tokens, created_at, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reflection_id,
                    thread_id,
                    through_message,
                    status,
                    operations,
                    raw_output,
                    error,
                    model_calls,
                    tokens,
                    now,
                    now if error is not None else None,
                ),
            )
        rows = self._query("SELECT * FROM reflections WHERE id = ?", (reflection_id,))
        return reflection_of(rows[0])

    def pending_reflection(self, thread_id: str) -> Reflection | None:
        """A reflection whose operations were recorded but not marked applied."""
        rows = self._query(
            "SELECT * FROM reflections WHERE thread_id = ? AND status = 'pending'"
            " ORDER BY created_at LIMIT 1",
            (thread_id,),
        )
        return reflection_of(rows[0]) if rows else None

    def finish_reflection(self, reflection_id: str) -> None:
        """Mark a reflection applied and advance its thread's cursor, in one transaction."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT thread_id, through_message FROM reflections WHERE id = ?", (reflection_id,)
            ).fetchone()
            db.execute(
                "UPDATE reflections SET status = 'applied', finished_at = ? WHERE id = ?",
                (now_utc().isoformat(), reflection_id),
            )
            db.execute(
                "UPDATE threads SET reflected_through = MAX(reflected_through, ?) WHERE id = ?",
                (row["through_message"], row["thread_id"]),
            )

    def reflections(self, thread_id: str) -> list[Reflection]:
        """The journal of a thread, oldest first."""
        rows = self._query(
            "SELECT * FROM reflections WHERE thread_id = ? ORDER BY created_at, rowid",
            (thread_id,),
        )
        return [reflection_of(row) for row in rows]

    def last_reflection(self, thread_id: str) -> Reflection | None:
        """The newest entry of a thread's journal, or ``None``."""
        rows = self._query(
            "SELECT * FROM reflections WHERE thread_id = ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (thread_id,),
        )
        return reflection_of(rows[0]) if rows else None

    def applied_reflections(self, limit: int = 20) -> list[Reflection]:
        """The last ``limit`` applied reflections that changed something, of any
        thread, newest first (what the memory pane reviews)."""
        rows = self._query(
            "SELECT * FROM reflections WHERE status = 'applied'"
            " AND json_array_length(operations, '$.changes') > 0"
            " ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [reflection_of(row) for row in rows]
