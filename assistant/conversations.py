"""Threads and messages in SQLite, the source of truth for every conversation.

Schema upgrades are numbered steps keyed by ``PRAGMA user_version``, in the
manner of LangGraph's SQLite store ``MIGRATIONS`` and oterm's ``store/upgrades``.
The database runs in WAL mode with a busy timeout, so a TUI and a CLI process can
use one data directory at the same time. Every write commits before it returns:
a user's message is on disk before any model is called.
"""

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from assistant.conversation_journal import ReflectionJournal
from assistant.conversation_queries import HistoryQueries
from assistant.conversation_records import (
    INTERRUPTED,
    TITLE_CHARS,
    UNTITLED,
    ImportedThread,
    Message,
    MessageStatus,
    Reflection,
    Role,
    Thread,
    as_utc,
    message_of,
    now_utc,
    thread_of,
    title_from_message,
)
from assistant.errors import InputError, StorageError
from assistant.paths import ensure_private_dir

__all__ = [
    "INTERRUPTED",
    "MIGRATIONS",
    "TITLE_CHARS",
    "UNTITLED",
    "ConversationStore",
    "ImportedThread",
    "Message",
    "MessageStatus",
    "Reflection",
    "Role",
    "Thread",
    "title_from_message",
]

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


class ConversationStore(ReflectionJournal, HistoryQueries):
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
            self._wal()
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise self._storage_error(exc) from exc
        except OSError as exc:
            raise StorageError(
                f"Cannot open the conversation database {path}: {exc.strerror or exc}. "
                "Fix its permissions or choose another --data-dir."
            ) from exc

    def _wal(self) -> None:
        """Switch to WAL. On a new file opened by several processes at once the
        switch can fail at once with "database is locked" (SQLite does not always
        call the busy handler for it): it is tried again for up to the busy timeout."""
        deadline = time.monotonic() + 5.0
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

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
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite has rolled back already after some errors (a full disk);
                    # a ROLLBACK then would hide the real error behind its own.
                    if self._db.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            self._db.execute("ROLLBACK")
                    raise
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
        now = now_utc()
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
        return [thread_of(row) for row in rows]

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
            return thread_of((exact or rows)[0])
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
        now = now_utc() if created_at is None else as_utc(created_at)
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
                (now_utc().isoformat(), message_id),
            )
        return message_of(self._query("SELECT * FROM messages WHERE id = ?", (message_id,))[0])

    def messages(self, thread_id: str) -> list[Message]:
        """All messages of a thread, oldest first."""
        rows = self._query("SELECT * FROM messages WHERE thread_id = ? ORDER BY id", (thread_id,))
        return [message_of(row) for row in rows]

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

    def count_messages(self, thread_id: str) -> int:
        """How many messages a thread has."""
        rows = self._query("SELECT COUNT(*) FROM messages WHERE thread_id = ?", (thread_id,))
        return int(rows[0][0])


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
