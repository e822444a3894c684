"""Conversation history in and out: ChatGPT's data export and JSON Lines.

``assistant import FILE`` reads either format, validated whole before anything
is written (a bad line or conversation is named and nothing changes), keeping
every message's own time; ``assistant threads export`` writes the JSON Lines
form, one message per line::

    {"thread": ID, "title": ..., "role": "user"|"assistant", "content": ...,
     "timestamp": ISO-8601 or epoch seconds, "incognito": false}

(``title`` and ``incognito`` are optional, so a plain ``{thread, role, content,
timestamp}`` file imports too). ChatGPT's ``conversations.json`` is a list of
conversations whose messages form a tree (``mapping``: node -> message, parent,
children); the branch shown last (``current_node`` up to the root) is the
conversation, as ChatGPT's own viewer shows it. Thread ids are stable for a
source (ours kept as they are, others derived with UUID5 from the source's
id), so importing a file twice adds nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.conversations import ConversationStore, ImportedThread, Role
from assistant.errors import InputError
from assistant.formats import validation_problems

Format = Literal["chatgpt", "jsonl"]
FORMATS: tuple[Format, ...] = ("chatgpt", "jsonl")

_SOURCE = uuid.UUID("6f1c2a52-6d55-4c1e-9a43-5b0d1f3e7a10")  # the namespace of derived ids
_OUR_ID = re.compile(r"^[0-9a-f]{32}$")


class HistoryLine(BaseModel):
    """One message of a JSON Lines history file."""

    model_config = ConfigDict(extra="ignore")

    thread: str
    role: Role
    content: str
    timestamp: datetime
    title: str | None = None
    incognito: bool = False


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: conversations and messages read, and added."""

    conversations: int
    messages: int
    new_conversations: int
    new_messages: int
    thread_ids: tuple[str, ...]

    @property
    def summary(self) -> str:
        if not self.new_messages:
            return f"nothing new: its {self.messages} messages are here already"
        return (
            f"{self.new_messages} of {self.messages} messages added, "
            f"{self.new_conversations} new conversations of {self.conversations}"
        )


def detect_format(text: str) -> Format:
    """``chatgpt`` for a JSON array (``conversations.json``), else ``jsonl``."""
    return "chatgpt" if text.lstrip().startswith("[") else "jsonl"


def read_history(text: str, fmt: Format | None = None) -> list[ImportedThread]:
    """The conversations in ``text``, checked whole.

    Raises:
        InputError: the file is not in the format, or a line or conversation is
            malformed (named in the message); nothing has been written.
    """
    fmt = fmt or detect_format(text)
    threads = _read_chatgpt(text) if fmt == "chatgpt" else _read_jsonl(text)
    if not threads:
        raise InputError("The file holds no conversations.")
    return threads


def import_history(
    conversations: ConversationStore, text: str, fmt: Format | None = None
) -> ImportReport:
    """Read ``text`` (:func:`read_history`) and add its conversations in one
    transaction (all or nothing).

    Raises:
        InputError: as :func:`read_history`.
        StorageError: the database could not be written (nothing was).
    """
    threads = read_history(text, fmt)
    created, added = conversations.import_threads(threads)
    return ImportReport(
        len(threads),
        sum(len(t.messages) for t in threads),
        created,
        added,
        tuple(t.id for t in threads),
    )


def export_history(conversations: ConversationStore) -> Iterator[str]:
    """Every conversation as JSON Lines (one message per line, oldest thread first)."""
    for thread in reversed(conversations.list_threads()):
        for message in conversations.messages(thread.id):
            if not message.content.strip():
                continue
            yield json.dumps(
                {
                    "thread": thread.id,
                    "title": thread.title,
                    "role": message.role,
                    "content": message.content,
                    "timestamp": message.created_at.isoformat(),
                    "incognito": thread.incognito,
                },
                ensure_ascii=False,
            )


# reading --------------------------------------------------------------------------------


def _loads(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{where}: the JSON is nested too deeply to read.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not JSON ({exc.msg} at column {exc.colno}).") from None


def _thread_id(source: str, fmt: Format) -> str:
    if fmt == "jsonl" and _OUR_ID.match(source):
        return source  # our own export: the same conversation, wherever it goes
    return uuid.uuid5(_SOURCE, f"{fmt}:{source}").hex


def _read_jsonl(text: str) -> list[ImportedThread]:
    grouped: dict[str, list[HistoryLine]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        raw = _loads(line, f"Line {number}")
        if not isinstance(raw, dict):
            raise InputError(f"Line {number}: each line must be a JSON object.")
        try:
            grouped.setdefault(str(raw.get("thread")), []).append(HistoryLine.model_validate(raw))
        except ValidationError as exc:
            raise InputError(f"Line {number}: {validation_problems(exc)}.") from None
    threads = []
    for source, lines in grouped.items():
        lines.sort(key=lambda m: _utc(m.timestamp))
        title = next((m.title for m in lines if m.title), None) or _title(lines[0].content)
        messages = tuple((m.role, m.content, _utc(m.timestamp)) for m in lines)
        threads.append(
            ImportedThread(_thread_id(source, "jsonl"), title, messages, lines[0].incognito)
        )
    return threads


def _read_chatgpt(text: str) -> list[ImportedThread]:
    data = _loads(text, "conversations.json")
    if not isinstance(data, list):
        raise InputError("A ChatGPT export (conversations.json) is a JSON list of conversations.")
    threads = []
    for number, conversation in enumerate(data, 1):
        where = f"Conversation {number}"
        if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
            raise InputError(f"{where}: not a ChatGPT conversation (it has no 'mapping').")
        source = str(conversation.get("conversation_id") or conversation.get("id") or number)
        started = _epoch(conversation.get("create_time"), where) or datetime.now(UTC)
        messages = list(_branch(conversation, where, started))
        if messages:
            title = str(conversation.get("title") or "").strip() or _title(messages[0][1])
            threads.append(ImportedThread(_thread_id(source, "chatgpt"), title, tuple(messages)))
    return threads


def _branch(
    conversation: dict[str, Any], where: str, started: datetime
) -> Iterable[tuple[Role, str, datetime]]:
    """The messages of the branch ChatGPT showed last, oldest first."""
    mapping: dict[str, Any] = conversation["mapping"]
    node_id = conversation.get("current_node")
    if node_id not in mapping:  # no current node: the last leaf
        leaves = [k for k, v in mapping.items() if isinstance(v, dict) and not v.get("children")]
        node_id = leaves[-1] if leaves else None
    chain: list[dict[str, Any]] = []
    seen: set[str] = set()
    while node_id is not None and node_id in mapping and node_id not in seen:
        seen.add(node_id)
        node = mapping[node_id]
        if not isinstance(node, dict):
            raise InputError(f"{where}: node {node_id!r} is not an object.")
        chain.append(node)
        node_id = node.get("parent")
    when = started
    for node in reversed(chain):
        message = node.get("message")
        if not isinstance(message, dict):
            continue
        role = (message.get("author") or {}).get("role")
        content = message.get("content") or {}
        parts = content.get("parts") if isinstance(content, dict) else None
        text = "\n".join(p for p in parts or [] if isinstance(p, str)).strip()
        if role not in ("user", "assistant") or not text:
            continue  # system prompts, tools, images
        when = _epoch(message.get("create_time"), where) or when
        yield role, text, when


def _epoch(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InputError(f"{where}: {value!r} is not a time.") from None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _title(text: str) -> str:
    from assistant.conversations import title_from_message

    return title_from_message(text)
