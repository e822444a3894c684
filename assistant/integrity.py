"""Integrity of the data files: a damaged database never reads as an empty one.

Two checks, both without a model or the store's own code:

- **What the app expects to find.** SQLite makes a new, empty database in place
  of a 0-byte or missing file, so a lost ``conversations.sqlite3`` would open as
  "0 conversations". Once the database has been made, its schema version
  (``PRAGMA user_version``, at least 1) is recorded in
  ``conversations.manifest.json`` beside it (written atomically, and only when
  the version changes); a database that is then missing, 0 bytes or back at
  version 0 is refused with what happened and how to restore
  (:func:`expect_conversations`). The memory store has its own
  (:mod:`assistant.store.sentinel`).
- **Damaged pages.** :func:`integrity_problem` runs SQLite's ``PRAGMA
  integrity_check`` (https://sqlite.org/pragma.html#pragma_integrity_check), a
  full read of the file: ``assistant doctor`` runs it on the conversation, memory
  and job databases.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from assistant.errors import StorageError

#: How many of ``integrity_check``'s lines a problem quotes.
QUOTED_LINES = 3


class DataLostError(StorageError):
    """A database does not hold what the app recorded it held."""


def manifest_path(database: Path) -> Path:
    """Where the conversation database's expectations are kept."""
    return database.with_name("conversations.manifest.json")


def schema_version(database: Path) -> int:
    """``PRAGMA user_version`` of ``database``, read-only (0 for a new or empty file).

    Raises:
        sqlite3.DatabaseError: the file is not a database.
    """
    with _read_only(database) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def expect_conversations(database: Path) -> None:
    """Refuse a conversation database that lost what its manifest records.

    Call before opening it (``ConversationStore`` would make a new one in place).

    Raises:
        DataLostError: it is missing, 0 bytes, or has no schema though it had.
    """
    expected = _expected_schema(database)
    if expected < 1:
        return
    hint = (
        f"Nothing was changed. Restore {database.name} from a backup; to start afresh on "
        f"purpose, move it away and delete {manifest_path(database)}."
    )
    if not database.exists():
        raise DataLostError(
            f"The conversation database {database} is missing: it held your conversations "
            f"(schema {expected}). {hint}"
        )
    if database.stat().st_size == 0:
        raise DataLostError(
            f"The conversation database {database} is empty (0 bytes): it held your "
            f"conversations (schema {expected}). {hint}"
        )
    try:
        found = schema_version(database)
    except sqlite3.DatabaseError:
        return  # damaged, not lost: opening it says so
    if found == 0:
        raise DataLostError(
            f"The conversation database {database} holds no conversations and no tables, but "
            f"it held your conversations (schema {expected}). {hint}"
        )


def record_conversations(database: Path) -> None:
    """Record the database's schema version in its manifest (when it changed).
    Failures to write are ignored: the check is a safety net, not a lock."""
    try:
        version = schema_version(database)
    except sqlite3.DatabaseError:
        return
    if version < 1 or version == _expected_schema(database):
        return
    path = manifest_path(database)
    tmp = path.with_suffix(".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            json.dump({"schema": version}, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError:
        pass


def integrity_problem(database: Path) -> str | None:
    """What ``PRAGMA integrity_check`` finds wrong with ``database``, in one line,
    or ``None`` when it is sound (or does not exist yet)."""
    if not database.exists():
        return None
    try:
        with _read_only(database) as db:
            rows = [str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return f"{database} cannot be read as a database ({exc})"
    if rows == ["ok"]:
        return None
    quoted = "; ".join(rows[:QUOTED_LINES]) + (" ..." if len(rows) > QUOTED_LINES else "")
    return f"{database} is damaged (SQLite integrity_check: {quoted})"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (the job store), else ``None``."""
    prefix = "sqlite:///"
    return Path(url[len(prefix) :]) if url.startswith(prefix) else None


def _expected_schema(database: Path) -> int:
    try:
        data = json.loads(manifest_path(database).read_text(encoding="utf-8"))
        return int(data.get("schema", 0)) if isinstance(data, dict) else 0
    except (OSError, ValueError, TypeError):
        return 0


def _read_only(database: Path) -> closing[sqlite3.Connection]:
    """A read-only SQLite connection, closed at the end of a ``with``."""
    return closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True))
