"""Memories the user writes, changes or removes by hand (``/remember``,
``/forget``, the memory pane, ``assistant memories``).

``remember`` infers the kind from the words: a behaviour request ("from now on,
answer in metric", "never use emoji") is a procedural rule, anything else a
semantic fact; a ``rule:`` or ``fact:`` prefix says it outright. It
consolidates like reflection does: a restatement of a known memory updates it,
and a changed fact (another name, number or day: "on Friday" over "on Monday")
supersedes it, which stays in history.

``find_to_forget`` lists the memories a few words describe, superseded and
retired versions included: what the user then confirms is deleted for good
(``Memories.delete``), so no copy stays in history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from assistant.errors import InputError
from assistant.memory.consolidation import MERGE_THRESHOLD, find_twin, merge, same_text
from assistant.memory.repository import Memories, StoredMemory, new_key
from assistant.memory.schemas import (
    KINDS,
    MAX_FIELD_CHARS,
    MODELS,
    AnyMemory,
    MemoryKind,
    ProceduralMemory,
    Provenance,
    SemanticMemory,
    utcnow,
    validation_problems,
)
from assistant.memory.statements import behaviour_request, first_person, users_statement
from assistant.text import changes_details, split_sentences

#: Prefixes that name the kind of a memory written by hand.
KIND_PREFIXES = {"rule:": "procedural", "fact:": "semantic"}
#: Cosine similarity from which a memory matches what the user asks to forget.
FORGET_MIN_SCORE = 0.5
#: The least cosine similarity of a memory a search lists by meaning alone (the
#: ``search_min_score`` setting). Measured with the bundled MiniLM on 12 memories
#: (8 facts, 2 rules, 2 experiences), 30 queries each about one of them ("pet
#: animal", "what do I do for work", "holiday plan") and 20 about none of them
#: ("xyzzy", "bitcoin price", "chess openings"): the memory a query is about scored
#: 0.23 to 0.65 (median 0.39), the best memory for an unrelated query 0.10 to 0.27
#: (median 0.15). At 0.25, 29 of the 30 memories are found (the one lost: "travel"
#: for a trip plan to Lyon, 0.23), 1 of the 20 unrelated queries lists anything
#: ("sushi": the user is vegetarian and eats no fish, 0.27), and 5 of the 330 other
#: memories the 30 queries could list are listed; at 0.30, 24 of 30 and 0 of 20.
#: Recall's threshold is the same (``Recall.min_score``).
SEARCH_MIN_SCORE = 0.25


@dataclass(frozen=True, slots=True)
class Remembered:
    """What ``remember`` did: ``created`` a memory, ``updated`` its twin, or found
    it ``known`` already (nothing written). A created memory that changes a fact
    of a known one ``replaced`` it: the old one, now superseded, kept as history."""

    key: str
    memory: AnyMemory
    status: Literal["created", "updated", "known"]
    replaced: StoredMemory | None = None


def memory_from_text(text: str, *, thread_id: str | None = None) -> AnyMemory:
    """The memory the user means by ``text`` (see the module for the kind).

    Raises:
        InputError: the text is empty or longer than ``MAX_FIELD_CHARS``.
    """
    text = " ".join(text.split())
    kind = None
    for prefix, named in KIND_PREFIXES.items():
        if text.lower().startswith(prefix):
            text, kind = text[len(prefix) :].strip(), named
    if not text:
        raise InputError("Nothing to remember: write what to remember after /remember.")
    if len(text) > MAX_FIELD_CHARS:
        raise InputError(
            f"That is {len(text):,} characters; a memory holds at most {MAX_FIELD_CHARS:,}. "
            "Say it shorter, or as several memories."
        )
    provenance = Provenance(source="user", thread_id=thread_id)
    sentence = text if text[-1] in ".!?" else f"{text}."
    request = behaviour_request(text)
    if kind == "procedural" or (kind is None and request):
        rule = request or sentence[0].upper() + sentence[1:]
        return ProceduralMemory(rule=rule, provenance=provenance)
    fact = users_statement(sentence) if first_person(sentence) else sentence
    return SemanticMemory(
        subject="the user", fact=fact[0].upper() + fact[1:], provenance=provenance
    )


def remember(
    memories: Memories,
    text: str,
    *,
    thread_id: str | None = None,
    merge_threshold: float = MERGE_THRESHOLD,
) -> Remembered:
    """Save what the user typed as a memory at once (blocking: embeds, writes).

    Args:
        memories: where to save it.
        text: the user's words, optionally prefixed with ``rule:`` or ``fact:``.
        thread_id: the conversation it was typed in, for provenance.
        merge_threshold: cosine similarity from which a known memory of the same
            kind is the same memory (it is updated, not twinned).

    Raises:
        InputError: nothing to remember, or too long.
        StorageError: the store cannot be written.
    """
    memory = memory_from_text(text, thread_id=thread_id)
    return save(memories, memory, merge_threshold=merge_threshold)


def asks_for_rules(text: str) -> list[str]:
    """The rules ``text`` asks for ("From now on, answer briefly." -> "Answer
    briefly."), one per sentence that is a behaviour request."""
    return [r for sentence in split_sentences(text) if (r := behaviour_request(sentence))]


def remember_requests(
    memories: Memories, text: str, *, thread_id: str, message_id: int
) -> list[Remembered]:
    """Save at once the rules a chat message asks for ("From now on, answer
    briefly."), so that the very next reply follows them; a restated rule updates
    its twin. The later reflection finds them known. Blocking (embeds, writes).

    Raises:
        StorageError: the store cannot be written.
    """
    provenance = Provenance(source="reflection", thread_id=thread_id, message_ids=(message_id,))
    rules = asks_for_rules(text)
    return [save(memories, ProceduralMemory(rule=r, provenance=provenance)) for r in rules]


def save(
    memories: Memories, memory: AnyMemory, *, merge_threshold: float = MERGE_THRESHOLD
) -> Remembered:
    """Write ``memory``, or update its twin (cosine >= ``merge_threshold``, same
    kind), or nothing when the twin says the same already; when ``memory``
    changes a name, number or day of its twin, it supersedes the twin (one batch:
    the twin gets ``invalid_at`` and ``superseded_by``).

    Raises:
        StorageError: the store cannot be written.
    """
    twin = find_twin(memories, memory, threshold=merge_threshold)
    if twin is not None and same_text(twin.text, memory.render()):
        return Remembered(twin.key, twin.memory, "known")
    if twin is not None and changes_details(twin.text, memory.render()):
        key, now = new_key(), utcnow()
        old = twin.memory.model_copy(
            update={"invalid_at": now, "superseded_by": key, "updated_at": now}
        )
        memories.store.batch([memories.put_op(twin.key, old), memories.put_op(key, memory)])
        return Remembered(key, memory, "created", StoredMemory(twin.key, old))
    if twin is not None:
        merged = merge(twin.memory, memory, utcnow())
        memories.put(twin.key, merged)
        return Remembered(twin.key, merged, "updated")
    key = new_key()
    memories.put(key, memory)
    return Remembered(key, memory, "created")


def find_to_forget(
    memories: Memories, text: str, *, limit: int = 8, min_score: float = FORGET_MIN_SCORE
) -> list[StoredMemory]:
    """The memories that ``text`` describes, best first: those whose words contain
    it (any case), then those at least ``min_score`` similar (cosine), active or not.

    Raises:
        InputError: ``text`` is empty.
        StorageError: the store cannot be read.
    """
    query = " ".join(text.split())
    if not query:
        raise InputError("Forget what? Write a few words of the memory after /forget.")
    found = memories.similar(query, KINDS, limit=limit, active_only=False)
    found.sort(key=lambda s: (query.lower() not in s.text.lower(), -(s.score or 0.0)))
    return [s for s in found if query.lower() in s.text.lower() or (s.score or 0) >= min_score]


def resolve(memories: Memories, key: str) -> StoredMemory:
    """The memory with ``key``, or the one memory whose key starts with it (as
    listings show 8 characters).

    Raises:
        InputError: no memory has that key, or several start with it.
        StorageError: the store cannot be read.
    """
    key = key.strip()
    if not key:
        raise InputError("Give a memory id (see `assistant memories list`).")
    if (found := memories.get(key)) is not None:
        return found
    matches = [m for kind in KINDS for m in memories.every(kind) if m.key.startswith(key)]
    if not matches:
        raise InputError(f"No memory has the id {key!r}; `assistant memories list` shows them.")
    if len(matches) > 1:
        raise InputError(
            f"{len(matches)} memories have ids starting with {key!r}; give more of it."
        )
    return matches[0]


class EditConflict(InputError):
    """The memory changed (a background reflection, another window) since the
    editor read it; ``current`` is the newer version."""

    def __init__(self, current: StoredMemory) -> None:
        when = current.memory.updated_at.astimezone().strftime("%H:%M:%S")
        super().__init__(
            f"This memory was changed at {when}, after you started editing it: "
            f"it now reads “{current.text}”."
        )
        self.current = current


def create(
    memories: Memories,
    kind: MemoryKind,
    fields: dict[str, object],
    *,
    thread_id: str | None = None,
) -> StoredMemory:
    """Add a memory written by hand in a form, validated by the schema of ``kind``.

    Args:
        fields: its content (see :func:`content_fields`), optionally ``pinned``
            and ``muted``; ``None`` leaves an optional field empty.
        thread_id: the conversation it was written in, for provenance.

    Raises:
        InputError: a missing, unknown or invalid field (the message gives the
            field and the reason); nothing is written.
        StorageError: the store cannot be written.
    """
    from pydantic import ValidationError

    provenance = Provenance(source="user", thread_id=thread_id)
    values = {k: v for k, v in fields.items() if v is not None}
    try:
        memory = MODELS[kind].model_validate({**values, "provenance": provenance})
    except ValidationError as exc:
        raise InputError(f"Not saved: {validation_problems(exc)}.") from exc
    key = new_key()
    memories.put(key, memory)
    return StoredMemory(key, memory)


def edit(
    memories: Memories,
    key: str,
    changes: dict[str, object],
    *,
    expected: datetime | None = None,
) -> StoredMemory:
    """Change fields of a memory, validated by its pydantic schema; ``updated_at``
    is set to now. Nothing is written when a change is invalid.

    Args:
        changes: field name to new value, e.g. ``{"fact": "...", "pinned": True}``;
            ``kind``, ``provenance`` and ``created_at`` cannot change.
        expected: the ``updated_at`` of the version the user edited; when the
            stored one differs, nothing is written (optimistic concurrency).

    Raises:
        EditConflict: the memory changed since ``expected``.
        InputError: no such memory, a field it does not have, or an invalid value
            (the message gives the field and the reason).
        StorageError: the store cannot be written.
    """
    from pydantic import ValidationError

    stored = resolve(memories, key)
    if expected is not None and stored.memory.updated_at != expected:
        raise EditConflict(stored)
    fixed = {"kind", "provenance", "created_at", "text"} & changes.keys()
    if fixed:
        raise InputError(f"{', '.join(sorted(fixed))} cannot be edited.")
    unknown = changes.keys() - type(stored.memory).model_fields.keys()
    if unknown:
        allowed = ", ".join(sorted(type(stored.memory).model_fields.keys() - {"kind"}))
        raise InputError(
            f"A {stored.kind} memory has no field {', '.join(sorted(unknown))} (it has {allowed})."
        )
    value = stored.memory.model_dump() | changes | {"updated_at": utcnow()}
    try:
        memory = type(stored.memory).model_validate(value)
    except ValidationError as exc:
        raise InputError(f"Not saved: {validation_problems(exc)}.") from exc
    memories.put(stored.key, memory)
    return StoredMemory(stored.key, memory)


def search(
    memories: Memories,
    query: str,
    kinds: Sequence[MemoryKind] = KINDS,
    *,
    limit: int = 20,
    candidates: Iterable[StoredMemory] | None = None,
    min_score: float = SEARCH_MIN_SCORE,
) -> list[StoredMemory]:
    """Memories for a search box (the pane's ``/``, ``assistant memories search``),
    active or not: those whose text contains ``query`` (any case) first, then the
    semantically nearest at least ``min_score`` similar (cosine), best first. When
    none of them contains it, every memory's text is scanned for it (the fallback
    for names and numbers that embeddings miss). A query nothing is about finds
    nothing: an empty list.

    Args:
        limit: the most memories returned.
        candidates: the memories the fallback scans (a browser's loaded copy);
            ``None`` reads them from the store.
        min_score: the least cosine similarity of a memory found by meaning alone
            (see :data:`SEARCH_MIN_SCORE`; a text match is listed whatever its score).

    Returns:
        The memories, each with its ``score`` (``None`` for one found by its words
        by the fallback scan).

    Raises:
        InputError: ``query`` is empty.
        StorageError: the store cannot be read.
    """
    query = " ".join(query.split())
    if not query:
        raise InputError("Search for what? Give a few words.")
    needle = query.lower()
    found = [
        s
        for s in memories.similar(query, kinds, limit=limit, active_only=False)
        if needle in s.text.lower() or (s.score or 0.0) >= min_score
    ]
    if not any(needle in s.text.lower() for s in found):
        seen = {s.key for s in found}
        if candidates is None:
            candidates = (s for kind in kinds for s in memories.every(kind))
        found.extend(
            s
            for s in candidates
            if s.kind in kinds and needle in s.text.lower() and s.key not in seen
        )
    found.sort(key=lambda s: (needle not in s.text.lower(), -(s.score or 0.0)))
    return found[:limit]
