"""The records of the conversation database: threads, messages, reflections,
and how a row becomes one. Re-exported by :mod:`assistant.conversations`."""

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

#: The note of a reply saved while it is written (``cancelled`` until it ends; it
#: stays so when the process was killed).
INTERRUPTED = "Interrupted while it was written (the app ended)."

Role = Literal["user", "assistant"]
MessageStatus = Literal["complete", "cancelled", "error"]


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


def now_utc() -> datetime:
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
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


def thread_of(row: sqlite3.Row) -> Thread:
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


def message_of(row: sqlite3.Row) -> Message:
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


def reflection_of(row: sqlite3.Row) -> Reflection:
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
