"""Threads and messages in SQLite, the source of truth for every conversation.

Schema upgrades are numbered steps keyed by ``PRAGMA user_version``, in the
manner of LangGraph's SQLite store ``MIGRATIONS`` and oterm's ``store/upgrades``.
The database runs in WAL mode with a busy timeout, so a TUI and a CLI process can
use one data directory at the same time. Every write commits before it returns:
a user's message is on disk before any model is called.
"""

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from assistant.errors import InputError, StorageError
from assistant.paths import ensure_private_dir

#: The note of a reply saved while it is written (``cancelled`` until it ends; it
#: stays so when the process was killed).
INTERRUPTED = "Interrupted while it was written (the app ended)."

Role = Literal["user", "assistant"]
MessageStatus = Literal["complete", "cancelled", "error"]

MIGRATIONS: tuple[str, ...] = (
    # 1: threads and messages.
    """
    CREATE TABLE threads (
        id          TEXT PRIMARY KEY,
        title       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL,
        backend     TEXT,
        model       TEXT
    );
    CREATE TABLE messages (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        thread_id   TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
        role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content     TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        status      TEXT NOT NULL DEFAULT 'complete'
                    CHECK (status IN ('complete', 'cancelled', 'error')),
        error       TEXT,
        backend     TEXT,
        model       TEXT
    );
    CREATE INDEX messages_by_thread ON messages(thread_id, id);
    CREATE INDEX threads_by_recency ON threads(updated_at DESC);
    """,
    # 2: reflection. A thread's cursor (the last message reflected on), incognito
    # threads, the memories a reply used, and a journal of reflections: the
    # operations of a reflection are recorded before they are applied, so a run
    # interrupted after the store write re-applies them instead of asking the
    # model again.
    """
    ALTER TABLE threads ADD COLUMN reflected_through INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE threads ADD COLUMN incognito INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN memories_used TEXT;
    CREATE TABLE reflections (
        id              TEXT PRIMARY KEY,
        thread_id       TEXT NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
        through_message INTEGER NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'applied', 'failed')),
        operations      TEXT,
        raw_output      TEXT,
        error           TEXT,
        model_calls     INTEGER NOT NULL DEFAULT 0,
        tokens          INTEGER NOT NULL DEFAULT 0,
        created_at      TEXT NOT NULL,
        finished_at     TEXT
    );
    CREATE INDEX reflections_by_thread ON reflections(thread_id, created_at);
    """,
)

UNTITLED = "New conversation"
TITLE_CHARS = 48


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation. Timestamps are timezone-aware UTC."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime
    backend: str | None = None
    model: str | None = None
    reflected_through: int = 0
    """Id of the last message reflection has read (0: none)."""
    incognito: bool = False
    """Nothing in the thread is remembered, and no memories are recalled into it."""


@dataclass(frozen=True, slots=True)
class Reflection:
    """One reflection run over a thread, as recorded in the journal."""

    id: str
    thread_id: str
    through_message: int
    status: Literal["pending", "applied", "failed"]
    operations: str | None
    raw_output: str | None
    error: str | None
    model_calls: int
    tokens: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a thread. ``id`` grows with time across all threads."""

    id: int
    thread_id: str
    role: Role
    content: str
    created_at: datetime
    status: MessageStatus = "complete"
    error: str | None = None
    backend: str | None = None
    model: str | None = None
    memories_used: tuple[str, ...] = ()
    """Keys of the memories recalled into the prompt of this reply."""


@dataclass(frozen=True, slots=True)
class ImportedThread:
    """A conversation read from a history file (:mod:`assistant.history`).

    Attributes:
        id: the thread's id here (stable for a source, so a second import finds it).
        title: its title.
        messages: ``(role, content, created_at)``, oldest first.
        incognito: whether it was private where it came from.
    """

    id: str
    title: str
    messages: tuple[tuple[Role, str, datetime], ...]
    incognito: bool = False


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def title_from_message(text: str, limit: int = TITLE_CHARS) -> str:
    """A short title from the first message: its first line, cut at a word boundary."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = " ".join(line.split())
    if not line:
        return UNTITLED
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] or line[: limit - 1]
    return cut.rstrip(" ,.;:") + "…"


class ConversationStore:
    """Threads and messages in ``path`` (created with mode 0o600).

    Safe to share between threads of one process (a lock serialises access) and
    between processes (SQLite WAL, 5 s busy timeout).

    Raises:
        StorageError: on open, when the file is unreadable, corrupted, from a newer
            version, or the directory is not writable; on writes, when the disk is full.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        ensure_private_dir(path.parent)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            path.chmod(0o600)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout = 5000")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._storage_error(exc) from exc
        except OSError as exc:
            raise StorageError(
                f"Cannot open the conversation database {path}: {exc.strerror or exc}. "
                "Fix its permissions or choose another --data-dir."
            ) from exc

    def _storage_error(self, exc: sqlite3.Error) -> StorageError:
        text = str(exc)
        if "full" in text:
            hint = "Free some disk space and try again; nothing already saved was lost."
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            hint = (
                "The file is damaged. Move it aside (for example to "
                f"{self.path.name}.broken) and start again, or restore a backup."
            )
        elif "readonly" in text or "unable to open" in text:
            hint = "Make the file and its directory writable, or choose another --data-dir."
        else:
            hint = "See the log for details."
        return StorageError(f"The conversation database {self.path} failed ({text}). {hint}")

    def _migrate(self) -> None:
        """Upgrade the schema to the latest step, once, whoever else starts now.

        The version is read again inside the upgrade's own exclusive transaction
        (``BEGIN IMMEDIATE``: one writer at a time, the others wait out the busy
        timeout), so of several processes opening a new file at once one makes the
        tables and the others find them made (issue 18: "table threads already
        exists"). The steps and the new version commit together or not at all.
        """
        if self._version() == len(MIGRATIONS):
            return  # the common case: no lock taken
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._version()
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _version(self) -> int:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StorageError(
                f"The conversation database {self.path} is from a newer version of assistant "
                f"(schema {version}, this one knows {len(MIGRATIONS)}). Upgrade assistant."
            )
        return int(version)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from exc

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._storage_error(exc) from exc

    def close(self) -> None:
        """Close the connection. Further calls fail."""
        with self._lock:
            self._db.close()

    # Threads ---------------------------------------------------------------

    def create_thread(self, title: str = UNTITLED) -> Thread:
        """Create an empty thread and return it."""
        now = _now()
        thread = Thread(id=uuid.uuid4().hex, title=title, created_at=now, updated_at=now)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO threads (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (thread.id, thread.title, now.isoformat(), now.isoformat()),
            )
        return thread

    def list_threads(self, limit: int | None = None) -> list[Thread]:
        """Threads, most recently updated first."""
        rows = self._query(
            "SELECT * FROM threads ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (-1 if limit is None else limit,),
        )
        return [_thread(row) for row in rows]

    def get_thread(self, thread_id: str) -> Thread:
        """The thread with this id, or the only one whose id starts with it.

        Raises:
            InputError: no thread, or several, match.
        """
        if not thread_id.strip():
            raise InputError("No conversation id given; see `assistant threads`.")
        # The id is a prefix, never a pattern: LIKE's wildcards are escaped.
        prefix = thread_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._query(
            "SELECT * FROM threads WHERE id = ? OR id LIKE ? ESCAPE '\\' LIMIT 2",
            (thread_id, prefix + "%"),
        )
        exact = [row for row in rows if row["id"] == thread_id]
        if exact or len(rows) == 1:
            return _thread((exact or rows)[0])
        if not rows:
            raise InputError(f"No conversation has the id {thread_id!r}; see `assistant threads`.")
        raise InputError(f"The id {thread_id!r} matches several conversations; give more of it.")

    def rename_thread(self, thread_id: str, title: str) -> Thread:
        """Give a thread a new title (stripped; empty is refused).

        Raises:
            InputError: the title is empty or the thread does not exist.
        """
        title = " ".join(title.split())
        if not title:
            raise InputError("A conversation title cannot be empty.")
        thread = self.get_thread(thread_id)
        with self._transaction() as db:
            db.execute("UPDATE threads SET title = ? WHERE id = ?", (title, thread.id))
        return self.get_thread(thread.id)

    def delete_thread(self, thread_id: str) -> None:
        """Delete a thread and all its messages."""
        thread = self.get_thread(thread_id)
        with self._transaction() as db:
            db.execute("DELETE FROM threads WHERE id = ?", (thread.id,))

    # Messages --------------------------------------------------------------

    def add_message(
        self,
        thread_id: str,
        role: Role,
        content: str,
        *,
        status: MessageStatus = "complete",
        error: str | None = None,
        backend: str | None = None,
        model: str | None = None,
        memories_used: list[str] | None = None,
        created_at: datetime | None = None,
    ) -> Message:
        """Append a message and commit. The first user message titles an untitled thread.

        ``memories_used``: keys of the memories recalled into a reply's prompt.
        ``created_at``: when it was written (an imported message's own time; a
        naive time is taken as UTC); default now.
        """
        now = _now() if created_at is None else _utc(created_at)
        used = json.dumps(memories_used) if memories_used else None
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO messages (thread_id, role, content, created_at, status, error,"
                " backend, model, memories_used) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (thread_id, role, content, now.isoformat(), status, error, backend, model, used),
            )
            db.execute(
                "UPDATE threads SET updated_at = ?,"
                " backend = COALESCE(?, backend), model = COALESCE(?, model),"
                " title = CASE WHEN title = ? AND ? = 'user' THEN ? ELSE title END"
                " WHERE id = ?",
                (
                    now.isoformat(),
                    backend,
                    model,
                    UNTITLED,
                    role,
                    title_from_message(content),
                    thread_id,
                ),
            )
        assert cursor.lastrowid is not None
        return Message(
            id=cursor.lastrowid,
            thread_id=thread_id,
            role=role,
            content=content,
            created_at=now,
            status=status,
            error=error,
            backend=backend,
            model=model,
            memories_used=tuple(memories_used or ()),
        )

    def update_message(
        self,
        message_id: int,
        content: str,
        *,
        status: MessageStatus,
        error: str | None = None,
        memories_used: list[str] | None = None,
    ) -> Message:
        """Rewrite a message's content, status, error and memories used, and commit
        (a reply saved as it streams: the partial text first, then the whole one).

        Raises:
            StorageError: the database cannot be written.
        """
        used = json.dumps(memories_used) if memories_used else None
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET content = ?, status = ?, error = ?, memories_used = ?"
                " WHERE id = ?",
                (content, status, error, used, message_id),
            )
            db.execute(
                "UPDATE threads SET updated_at = ?"
                " WHERE id = (SELECT thread_id FROM messages WHERE id = ?)",
                (_now().isoformat(), message_id),
            )
        return _message(self._query("SELECT * FROM messages WHERE id = ?", (message_id,))[0])

    def messages(self, thread_id: str) -> list[Message]:
        """All messages of a thread, oldest first."""
        rows = self._query("SELECT * FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [_message(row) for row in rows]

    def set_memories_used(self, message_id: int, keys: list[str]) -> None:
        """Record which memories were recalled into a reply's prompt."""
        with self._transaction() as db:
            db.execute(
                "UPDATE messages SET memories_used = ? WHERE id = ?", (json.dumps(keys), message_id)
            )

    def set_incognito(self, thread_id: str, incognito: bool) -> Thread:
        """Mark a thread private (nothing remembered, nothing recalled) or not.

        Leaving incognito moves the reflection cursor past every message so far:
        what was said in private is never reflected on, not even later.
        """
        thread = self.get_thread(thread_id)
        with self._transaction() as db:
            db.execute("UPDATE threads SET incognito = ? WHERE id = ?", (int(incognito), thread.id))
            if thread.incognito and not incognito:
                db.execute(
                    "UPDATE threads SET reflected_through = MAX(reflected_through,"
                    " (SELECT COALESCE(MAX(id), 0) FROM messages WHERE thread_id = ?))"
                    " WHERE id = ?",
                    (thread.id, thread.id),
                )
        return self.get_thread(thread.id)

    # Reflection ------------------------------------------------------------

    def unreflected(self, thread_id: str) -> list[Message]:
        """The complete messages after the thread's reflection cursor, oldest first."""
        rows = self._query(
            "SELECT m.* FROM messages m JOIN threads t ON t.id = m.thread_id"
            " WHERE m.thread_id = ? AND m.id > t.reflected_through AND m.status = 'complete'"
            " ORDER BY m.id",
            (thread_id,),
        )
        return [_message(row) for row in rows]

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
        now = _now().isoformat()
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
        return _reflection(rows[0])

    def pending_reflection(self, thread_id: str) -> Reflection | None:
        """A reflection whose operations were recorded but not marked applied."""
        rows = self._query(
            "SELECT * FROM reflections WHERE thread_id = ? AND status = 'pending'"
            " ORDER BY created_at LIMIT 1",
            (thread_id,),
        )
        return _reflection(rows[0]) if rows else None

    def finish_reflection(self, reflection_id: str) -> None:
        """Mark a reflection applied and advance its thread's cursor, in one transaction."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT thread_id, through_message FROM reflections WHERE id = ?", (reflection_id,)
            ).fetchone()
            db.execute(
                "UPDATE reflections SET status = 'applied', finished_at = ? WHERE id = ?",
                (_now().isoformat(), reflection_id),
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
        return [_reflection(row) for row in rows]

    def last_reflection(self, thread_id: str) -> Reflection | None:
        """The newest entry of a thread's journal, or ``None``."""
        rows = self._query(
            "SELECT * FROM reflections WHERE thread_id = ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (thread_id,),
        )
        return _reflection(rows[0]) if rows else None

    def applied_reflections(self, limit: int = 20) -> list[Reflection]:
        """The last ``limit`` applied reflections that changed something, of any
        thread, newest first (what the memory pane reviews)."""
        rows = self._query(
            "SELECT * FROM reflections WHERE status = 'applied'"
            " AND json_array_length(operations, '$.changes') > 0"
            " ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (limit,),
        )
        return [_reflection(row) for row in rows]

    def count_messages(self, thread_id: str) -> int:
        """How many messages a thread has."""
        rows = self._query("SELECT COUNT(*) FROM messages WHERE thread_id = ?", (thread_id,))
        return int(rows[0][0])

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
                times = [_utc(when).isoformat() for _, _, when in thread.messages]
                first, last = (min(times), max(times)) if times else (_now().isoformat(),) * 2
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

    # Conversation search (assistant.memory.conversation_search) ---------------

    def messages_after(self, after_id: int, limit: int) -> list[tuple[Message, bool]]:
        """Up to ``limit`` messages with an id above ``after_id``, in every thread,
        oldest first, each with whether its thread is incognito."""
        rows = self._query(
            "SELECT m.*, t.incognito AS private FROM messages m JOIN threads t"
            " ON t.id = m.thread_id WHERE m.id > ? ORDER BY m.id LIMIT ?",
            (after_id, limit),
        )
        return [(_message(row), bool(row["private"])) for row in rows]

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
            messages = [_message(row) for row in rows]
            if not any(m.id == message_id for m in messages):
                continue
            threads = self._query("SELECT * FROM threads WHERE id = ?", (messages[0].thread_id,))
            if threads and not threads[0]["incognito"]:
                found[message_id] = (_thread(threads[0]), messages)
        return found


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration script, one by one (``executescript``
    would commit the transaction they must run in); a trigger's body stays whole."""
    statement = ""
    for piece in script.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                yield statement
            statement = ""


def _thread(row: sqlite3.Row) -> Thread:
    return Thread(
        id=row["id"],
        title=row["title"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        backend=row["backend"],
        model=row["model"],
        reflected_through=row["reflected_through"],
        incognito=bool(row["incognito"]),
    )


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        thread_id=row["thread_id"],
        role=row["role"],
        content=row["content"],
        created_at=datetime.fromisoformat(row["created_at"]),
        status=row["status"],
        error=row["error"],
        backend=row["backend"],
        model=row["model"],
        memories_used=tuple(json.loads(row["memories_used"] or "[]")),
    )


def _reflection(row: sqlite3.Row) -> Reflection:
    return Reflection(
        id=row["id"],
        thread_id=row["thread_id"],
        through_message=row["through_message"],
        status=row["status"],
        operations=row["operations"],
        raw_output=row["raw_output"],
        error=row["error"],
        model_calls=row["model_calls"],
        tokens=row["tokens"],
        created_at=datetime.fromisoformat(row["created_at"]),
    )
