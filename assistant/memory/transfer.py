"""Export and import of memories (``assistant memories export`` / ``import``).

The JSON Lines format is one memory per line: ``{"id": KEY, ...value}``, where
the value is what the store keeps (every field of the pydantic model, its
``kind``, and the rendered ``text``). It round-trips: exporting a store and
importing the file into an empty one gives the same memories under the same
keys. Markdown is for reading (grouped by kind, history last); it is not read
back.

An import is validated whole before anything is written (a bad line names its
number and what is wrong, and nothing changes), merges duplicates (a memory
already in the store, or one that repeats a known memory of its kind, updates
that memory instead of adding a twin), and is written in one store batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from assistant.errors import InputError
from assistant.memory.consolidation import MERGE_THRESHOLD, find_twin, merge, same_text
from assistant.memory.repository import Memories, StoredMemory, new_key
from assistant.memory.schemas import KINDS, AnyMemory, from_value, utcnow, validation_problems

ExportFormat = Literal["jsonl", "markdown"]
HEADINGS = {
    "semantic": "Facts (semantic)",
    "episodic": "Experiences (episodic)",
    "procedural": "Rules (procedural)",
}


def stored_memories(memories: Memories) -> list[StoredMemory]:
    """Every memory, by kind, then oldest first."""
    return [
        m
        for kind in KINDS
        for m in sorted(memories.every(kind), key=lambda m: (m.memory.created_at, m.key))
    ]


def export_lines(everything: list[StoredMemory], fmt: ExportFormat = "jsonl") -> Iterator[str]:
    """The export of ``everything`` (:func:`stored_memories`), line by line (no
    line ends)."""
    if fmt == "jsonl":
        for stored in everything:
            yield json.dumps({"id": stored.key, **stored.memory.to_value()}, ensure_ascii=False)
        return
    yield f"# Memories (exported {utcnow().date().isoformat()}, {len(everything)} in all)"
    for kind in KINDS:
        active = [m for m in everything if m.kind == kind and m.memory.active]
        yield ""
        yield f"## {HEADINGS[kind]}"
        yield ""
        yield from (_markdown_item(m) for m in active) if active else ["_none_"]
    history = [m for m in everything if not m.memory.active]
    if history:
        yield ""
        yield "## History (superseded or retired)"
        yield ""
        yield from (_markdown_item(m) for m in history)


def _markdown_item(stored: StoredMemory) -> str:
    memory = stored.memory
    source = {"reflection": "from a conversation", "user": "typed", "import": "imported"}
    notes = [f"id {stored.key[:8]}", source[memory.provenance.source]]
    notes.append(f"updated {memory.updated_at.date().isoformat()}")
    notes += [mark for mark in ("pinned", "muted") if getattr(memory, mark)]
    if memory.superseded_by:
        notes.append(f"superseded by {memory.superseded_by[:8]}")
    elif memory.invalid_at:
        notes.append(f"retired {memory.invalid_at.date().isoformat()}")
    return f"- {memory.render()} _({'; '.join(notes)})_"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: memories ``added``, ``merged`` into one already known,
    and ``unchanged`` (already there as they are)."""

    added: int = 0
    merged: int = 0
    unchanged: int = 0

    @property
    def summary(self) -> str:
        """One line: "added 3, merged 1, unchanged 2"."""
        return f"added {self.added}, merged {self.merged}, unchanged {self.unchanged}"


def parse_lines(lines: Iterable[str]) -> list[tuple[str, AnyMemory]]:
    """Read a JSON Lines export: ``(key, memory)`` per non-blank line.

    Raises:
        InputError: the first bad line, by number, with what is wrong with it.
    """
    parsed: list[tuple[str, AnyMemory]] = []
    keys: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"Line {number} is not JSON ({exc.msg}); nothing imported.") from exc
        if not isinstance(value, dict):
            raise InputError(f"Line {number} is not a JSON object; nothing imported.")
        key = value.pop("id", None) or new_key()
        if not isinstance(key, str) or key in keys:
            raise InputError(
                f"Line {number}: the id {key!r} is not a new string; nothing imported."
            )
        try:
            memory = from_value(value)
        except ValidationError as exc:
            raise InputError(
                f"Line {number} is not a valid memory ({validation_problems(exc)}); "
                "nothing imported."
            ) from exc
        keys.add(key)
        parsed.append((key, memory))
    return parsed


def import_lines(
    memories: Memories, lines: Iterable[str], *, merge_threshold: float = MERGE_THRESHOLD
) -> ImportReport:
    """Import a JSON Lines export into ``memories``, all or nothing (see the module).

    A line whose id is in the store already is ``unchanged`` when equal, else the
    more recently updated version is kept (``merged``). An active memory that
    repeats a known active one of its kind (cosine >= ``merge_threshold``, or the
    same text, in the store or earlier in the file) updates it (:func:`merge`).

    Raises:
        InputError: a bad line (nothing written).
        StorageError: the store cannot be read or written (nothing written).
    """
    planned: dict[str, AnyMemory] = {}
    added = merged = unchanged = 0
    for key, memory in parse_lines(lines):
        known = planned.get(key) or ((s := memories.get(key)) and s.memory)
        if known:
            if known.to_value() == memory.to_value():
                unchanged += 1
            else:
                merged += 1
                planned[key] = memory if memory.updated_at > known.updated_at else known
            continue
        twin_key = _twin(memories, memory, planned, merge_threshold) if memory.active else None
        if twin_key is None:
            planned[key] = memory
            added += 1
            continue
        twin = planned.get(twin_key) or memories.get(twin_key).memory  # type: ignore[union-attr]
        if same_text(twin.render(), memory.render()):
            unchanged += 1
        else:
            planned[twin_key] = merge(twin, memory, utcnow())
            merged += 1
    if planned:
        memories.store.batch([memories.put_op(k, m) for k, m in planned.items()])
    return ImportReport(added, merged, unchanged)


def _twin(
    memories: Memories, memory: AnyMemory, planned: dict[str, AnyMemory], threshold: float
) -> str | None:
    for key, other in planned.items():
        if (
            other.kind == memory.kind
            and other.active
            and same_text(other.render(), memory.render())
        ):
            return key
    found = find_twin(memories, memory, threshold=threshold)
    return found.key if found is not None else None
