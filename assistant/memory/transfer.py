"""Export and import of memories (``assistant memories export`` / ``import``).

The JSON Lines format is one memory per line: ``{"id": KEY, ...value}``, where
the value is what the store keeps (every field of the pydantic model, its
``kind``, and the rendered ``text``). It round-trips: exporting a store and
importing the file into an empty one gives the same memories under the same
keys. Markdown is for reading (grouped by kind, history last); it is not read
back.

An import is validated whole before anything is written (a bad line names its
number and what is wrong, and nothing changes; control characters in its text
are removed, and the report says so), merges duplicates (a memory already in
the store, or one that repeats a known memory of its kind, updates that memory
instead of adding a twin), and is written in chunks of lines, one store batch
each: linear in time, bounded in memory, with progress.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from assistant.errors import InputError
from assistant.memory.consolidation import MERGE_THRESHOLD, merge, same_text
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
    ``unchanged`` (already there as they are), and ``cleaned``: lines whose text
    held control characters, which were removed."""

    added: int = 0
    merged: int = 0
    unchanged: int = 0
    cleaned: int = 0

    @property
    def summary(self) -> str:
        """One line: "added 3, merged 1, unchanged 2" (and what was cleaned)."""
        text = f"added {self.added}, merged {self.merged}, unchanged {self.unchanged}"
        if self.cleaned:
            text += f"; control characters removed from {self.cleaned} lines"
        return text


#: C0 and C1 control characters (and DEL), except tab and newline: bytes that a
#: terminal obeys (ECMA-48) and that no memory needs.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: How deeply a line's JSON may nest; an export nests three levels.
MAX_DEPTH = 32
#: Lines written per store batch: bounds memory, and one embedder call each.
CHUNK = 256

Progress = Callable[[int, int], None]
"""Called with ``(lines done, lines in all)`` as an import goes."""


def _clean(value: Any) -> tuple[Any, bool]:
    """``value`` with control characters removed from every string; whether any were."""
    if isinstance(value, str):
        cleaned = _CONTROL.sub("", value)
        return cleaned, cleaned != value
    if isinstance(value, dict):
        pairs = [(_clean(k), _clean(v)) for k, v in value.items()]
        changed = any(k[1] or v[1] for k, v in pairs)
        return {k[0]: v[0] for k, v in pairs}, changed
    if isinstance(value, list):
        items = [_clean(v) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    return value, False


def _depth(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return True


def parse_line(number: int, line: str) -> tuple[str | None, AnyMemory, bool] | None:
    """One line of a JSON Lines export: ``(id or None, memory, cleaned)``, or ``None``
    for a blank line. ``cleaned``: control characters were removed from its text.

    Raises:
        InputError: the line is not JSON, too deeply nested, not an object, or
            not a valid memory (the message names the line).
    """
    if not line.strip():
        return None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"Line {number} is not JSON ({exc.msg}); nothing imported.") from exc
    except RecursionError as exc:
        raise InputError(
            f"Line {number} is nested too deeply to be a memory; nothing imported."
        ) from exc
    if not isinstance(value, dict):
        raise InputError(f"Line {number} is not a JSON object; nothing imported.")
    if not _depth(value, MAX_DEPTH):
        raise InputError(
            f"Line {number} is nested more than {MAX_DEPTH} levels deep, which no memory is; "
            "nothing imported."
        )
    value, cleaned = _clean(value)
    key = value.pop("id", None)
    if key is not None and (not isinstance(key, str) or not key.strip()):
        raise InputError(f"Line {number}: the id {key!r} is not a string; nothing imported.")
    try:
        memory = from_value(value)
    except ValidationError as exc:
        raise InputError(
            f"Line {number} is not a valid memory ({validation_problems(exc)}); nothing imported."
        ) from exc
    return key, memory, cleaned


def parse_lines(lines: Iterable[str]) -> list[tuple[str, AnyMemory]]:
    """Read a JSON Lines export: ``(key, memory)`` per non-blank line (a line
    without an id gets a new key).

    Raises:
        InputError: the first bad line, by number, with what is wrong with it.
    """
    return [(key, memory) for _, key, memory, _ in _checked(lines)]


def _checked(lines: Iterable[str]) -> Iterator[tuple[int, str, AnyMemory, bool]]:
    """``(line number, key, memory, cleaned)`` per memory line, each id new."""
    keys: set[str] = set()
    for number, line in enumerate(lines, start=1):
        parsed = parse_line(number, line)
        if parsed is None:
            continue
        key, memory, cleaned = parsed
        if key is None:
            key = new_key()
        elif key in keys:
            raise InputError(
                f"Line {number}: the id {key!r} is not a new string; nothing imported."
            )
        keys.add(key)
        yield number, key, memory, cleaned


def import_lines(
    memories: Memories,
    lines: Iterable[str],
    *,
    merge_threshold: float = MERGE_THRESHOLD,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> ImportReport:
    """Import a JSON Lines export into ``memories`` (see the module).

    Every line is checked first, and nothing is written when one is bad. Then the
    lines are written ``chunk`` at a time, each chunk in one store batch, so time
    grows linearly with the file and memory stays bounded (the file is read
    twice when ``lines`` can be iterated twice, e.g. :class:`FileLines`). An
    interrupted import leaves the chunks written so far; running it again
    finds them ``unchanged``.

    A line whose id is in the store already is ``unchanged`` when equal, else the
    more recently updated version is kept (``merged``). An active memory that
    repeats a known active one of its kind (cosine >= ``merge_threshold``, or the
    same text, in the store or earlier in the file) updates it (:func:`merge`).

    Args:
        progress: called with ``(lines done, lines in all)`` after each chunk.

    Raises:
        InputError: a bad line (nothing written).
        StorageError: the store cannot be read or written.
    """
    if iter(lines) is lines:  # a one-shot iterator: keep it for the second pass
        lines = list(lines)
    total = 0
    for number, _, _, _ in _checked(lines):
        total = number
    importer = _Importer(memories, merge_threshold)
    pending: list[tuple[int, str, AnyMemory, bool]] = []
    for entry in _checked(lines):
        pending.append(entry)
        if len(pending) >= chunk:
            importer.write(pending)
            pending = []
            if progress is not None:
                progress(entry[0], total)
    if pending:
        importer.write(pending)
    if progress is not None:
        progress(total, total)
    return importer.report()


class FileLines:
    """The lines of a UTF-8 text file, read afresh on each iteration (so an import
    can check a file whole before writing, without holding it in memory).

    Raises (when iterated):
        InputError: the file cannot be read, or is not UTF-8.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[str]:
        try:
            with self.path.open(encoding="utf-8") as handle:
                yield from handle
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise InputError(f"Cannot read {self.path}: {reason}.") from exc


class _Importer:
    """Writes checked lines chunk by chunk, consolidating with the store."""

    def __init__(self, memories: Memories, threshold: float) -> None:
        self.memories = memories
        self.threshold = threshold
        self.counts = {"added": 0, "merged": 0, "unchanged": 0, "cleaned": 0}
        # Active memories of the file by kind and text, to find twins written in
        # an earlier chunk by their words alone.
        self.texts: dict[tuple[str, str], str] = {}

    def report(self) -> ImportReport:
        return ImportReport(**self.counts)

    def write(self, entries: list[tuple[int, str, AnyMemory, bool]]) -> None:
        memories, counts = self.memories, self.counts
        counts["cleaned"] += sum(1 for *_, cleaned in entries if cleaned)
        stored = memories.get_many(key for _, key, _, _ in entries)
        planned: dict[str, AnyMemory] = {}
        fresh: list[tuple[str, AnyMemory]] = []
        for _, key, memory, _ in entries:
            known = planned.get(key) or ((s := stored.get(key)) and s.memory)
            if not known:
                fresh.append((key, memory))
            elif known.to_value() == memory.to_value():
                counts["unchanged"] += 1
            else:
                counts["merged"] += 1
                planned[key] = memory if memory.updated_at > known.updated_at else known
        twins = self._twins([m for _, m in fresh if m.active])
        for key, memory in fresh:
            twin_key = self._text_twin(memory)
            if twin_key is None and memory.active and id(memory) in twins:
                twin_key = twins[id(memory)].key
            if twin_key is None:
                planned[key] = memory
                counts["added"] += 1
                self._remember(key, memory)
                continue
            twin = planned.get(twin_key) or twins[id(memory)].memory
            if same_text(twin.render(), memory.render()):
                counts["unchanged"] += 1
            else:
                planned[twin_key] = merge(twin, memory, utcnow())
                counts["merged"] += 1
                self._remember(twin_key, planned[twin_key])
        if planned:
            memories.store.batch([memories.put_op(k, m) for k, m in planned.items()])

    def _remember(self, key: str, memory: AnyMemory) -> None:
        if memory.active:
            self.texts[(memory.kind, _norm(memory.render()))] = key

    def _text_twin(self, memory: AnyMemory) -> str | None:
        return self.texts.get((memory.kind, _norm(memory.render()))) if memory.active else None

    def _twins(self, fresh: list[AnyMemory]) -> dict[int, StoredMemory]:
        """The stored twin of each memory (by ``id()``), if it has one: one search
        batch per kind for the whole chunk."""
        twins: dict[int, StoredMemory] = {}
        for kind in KINDS:
            mine = [m for m in fresh if m.kind == kind]
            if not mine:
                continue
            answers = self.memories.similar_each([m.render() for m in mine], [kind], limit=1)
            for memory, answer in zip(mine, answers, strict=True):
                for found in answer:
                    near = (found.score or 0.0) >= self.threshold
                    if near or same_text(found.text, memory.render()):
                        twins[id(memory)] = found
        return twins


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".!")
