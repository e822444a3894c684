"""Consolidation: a memory that repeats a known one updates it instead of adding a twin.

Used by reflection and by memories written by hand (``/remember``). Twins are
found by embedding similarity within one kind (cosine >= a threshold, 0.9 by
default: MiniLM scores restatements of one fact around 0.9 and related but
different facts well below) or by equal text; an update keeps the old
memory's key, creation time, validity, pins and mutes (:func:`merge`).

Reflection only sees the memories related to one conversation; the scheduled
:func:`consolidate` goes over the whole store (nightly): twins formed in
different conversations are merged, and history older than the retention period
is deleted.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from langgraph.store.base import PutOp

from assistant.memory.repository import Memories, StoredMemory
from assistant.memory.schemas import KINDS, AnyMemory, MemoryKind, utcnow
from assistant.text import changes_details, content_stems, details

#: Cosine similarity at or above which two memories of one kind are one memory.
MERGE_THRESHOLD = 0.9


def same_text(a: str, b: str) -> bool:
    """Equal up to case, spacing and a final full stop or exclamation mark."""
    return " ".join(a.lower().split()).rstrip(".!") == " ".join(b.lower().split()).rstrip(".!")


def shares_content(a: str, b: str) -> bool:
    """Whether two texts have a content word (Snowball stem) in common."""
    return bool(content_stems(a) & content_stems(b))


def near_duplicate(text: str, others: Iterable[str], min_overlap: float = 0.8) -> bool:
    """Whether ``text`` says (nearly) the same words as one of ``others``: equal
    text, or content stems overlapping by ``min_overlap`` (Jaccard) or more."""
    stems = content_stems(text)
    for other in others:
        theirs = content_stems(other)
        union = stems | theirs
        if same_text(text, other) or (union and len(stems & theirs) / len(union) >= min_overlap):
            return True
    return False


def find_twin(
    memories: Memories,
    memory: AnyMemory,
    *,
    threshold: float = MERGE_THRESHOLD,
    exclude: Collection[str] = (),
) -> StoredMemory | None:
    """The known active memory of ``memory``'s kind that it repeats, if any.

    Args:
        threshold: cosine similarity from which the nearest memory is a twin.
        exclude: keys that may not be returned (already changed elsewhere).
    """
    kinds: list[MemoryKind] = [memory.kind]
    for found in memories.similar(memory.render(), kinds, limit=1):
        near = (found.score or 0.0) >= threshold
        if found.key not in exclude and (near or same_text(found.text, memory.render())):
            return found
    return None


#: Cosine similarity from which a memory may hold the old value of a changed fact.
SLOT_THRESHOLD = 0.55
#: Stems of what a person has one of at a time: a new value replaces the old.
_SINGLE_VALUED = frozenset(
    """live move work job employ role title manag boss partner wife husband girlfriend
    boyfriend phone car address name age studi school univers major doctor dentist
    salari rent flat apart home hometown""".split()  # noqa: SIM905
)


def find_replaced(
    memories: Memories,
    memory: AnyMemory,
    *,
    threshold: float = SLOT_THRESHOLD,
    exclude: Collection[str] = (),
) -> StoredMemory | None:
    """The known active memory whose value ``memory`` changes, if any: same kind,
    about something a person has one of at a time (where they live or work, their
    manager, phone, partner, ...), the same words but for its names and numbers,
    which differ ("The user works at Hollmann." -> "The user works at Nordlicht.").
    Such a change supersedes the old fact (kept as history); "likes Rome" and
    "likes Paris" both hold, and are no change.

    Args:
        threshold: the least cosine similarity of a candidate.
        exclude: keys that may not be returned (already changed elsewhere).
    """
    text = memory.render()
    shape = _shape(text)
    if not shape & _SINGLE_VALUED:
        return None
    for found in memories.similar(text, [memory.kind], limit=3):
        if found.key in exclude or (found.score or 0.0) < threshold:
            continue
        if _shape(found.text) == shape and changes_details(found.text, text):
            return found
    return None


def _shape(text: str) -> set[str]:
    """The content stems of ``text`` without its names, numbers and dates
    ("(since 2026-05-01)")."""
    text = re.sub(r"\s*\([^)]*\)", "", text)
    return content_stems(text) - content_stems(" ".join(details(text)))


def merge(old: AnyMemory, new: AnyMemory, now: datetime) -> AnyMemory:
    """``old`` with ``new``'s content: same key, creation and validity, pins and mutes;
    provenance joins the message ids when both come from one thread."""
    content = new.model_dump(
        exclude={"provenance", "created_at", "updated_at", "valid_from", "pinned", "muted"}
    )
    provenance = new.provenance
    if old.provenance.thread_id == new.provenance.thread_id:
        ids = tuple(dict.fromkeys(old.provenance.message_ids + new.provenance.message_ids))
        provenance = new.provenance.model_copy(update={"message_ids": ids})
    return old.model_copy(update={**content, "provenance": provenance, "updated_at": now})


@dataclass(frozen=True, slots=True)
class ConsolidationReport:
    """What :func:`consolidate` did: twins merged, old history deleted."""

    merged: int = 0
    retired: int = 0

    @property
    def summary(self) -> str:
        """One line: "merged 2, retired 1", or "nothing to do"."""
        parts = [
            f"{verb} {n}" for verb, n in (("merged", self.merged), ("retired", self.retired)) if n
        ]
        return ", ".join(parts) or "nothing to do"


def consolidate(
    memories: Memories,
    *,
    threshold: float = MERGE_THRESHOLD,
    retention: timedelta | None = None,
    now: datetime | None = None,
    batch: int = 64,
) -> ConsolidationReport:
    """Consolidate the whole store, in one all-or-nothing store batch.

    - **Merge twins across conversations**: two active memories of one kind with
      cosine similarity >= ``threshold`` (or equal text) become one. The older
      keeps its key and takes the more recent content (:func:`merge`; pinned or
      muted if either was); the other is superseded by it (``invalid_at``,
      ``superseded_by``), so it stays in history.
    - **Retire old history**: a superseded or invalidated memory whose
      ``invalid_at`` is more than ``retention`` ago is deleted (``None``: kept).

    Args:
        batch: how many memories are searched for twins per store batch.

    Raises:
        StorageError: the store cannot be read or written (nothing is written).
    """
    now = now or utcnow()
    ops: list[PutOp] = []
    merged = retired = 0
    for kind in KINDS:
        everything = list(memories.every(kind))
        if retention is not None:
            for old in everything:
                if old.memory.invalid_at is not None and old.memory.invalid_at < now - retention:
                    ops.append(PutOp(memories.namespace_of(kind), old.key, None))
                    retired += 1
        active = sorted(
            (m for m in everything if m.memory.active), key=lambda m: m.memory.created_at
        )
        current = {m.key: m.memory for m in active}
        gone: set[str] = set()
        touched: set[str] = set()
        for start in range(0, len(active), batch):
            chunk = [m for m in active[start : start + batch] if m.key not in gone]
            answers = memories.similar_each([m.text for m in chunk], [kind], limit=4)
            for mine, answer in zip(chunk, answers, strict=True):
                for other in answer:
                    if mine.key in gone:
                        break
                    if other.key == mine.key or other.key in gone or other.key not in current:
                        continue
                    if (other.score or 0.0) < threshold and not same_text(other.text, mine.text):
                        continue
                    keeper, loser = sorted(
                        (mine.key, other.key), key=lambda k: current[k].created_at
                    )
                    kept, lost = current[keeper], current[loser]
                    newer = lost if lost.updated_at > kept.updated_at else kept
                    marks = {
                        "pinned": kept.pinned or lost.pinned,
                        "muted": kept.muted or lost.muted,
                    }
                    current[keeper] = merge(kept, newer, now).model_copy(update=marks)
                    current[loser] = lost.model_copy(
                        update={"invalid_at": now, "superseded_by": keeper, "updated_at": now}
                    )
                    gone.add(loser)
                    touched.update((keeper, loser))
                    merged += 1
        ops.extend(memories.put_op(key, current[key]) for key in sorted(touched))
    if ops:
        memories.store.batch(ops)
    return ConsolidationReport(merged, retired)
