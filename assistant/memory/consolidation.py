"""Consolidation: a memory that repeats a known one updates it instead of adding a twin.

Used by reflection and by memories written by hand (``/remember``). Twins are
found by embedding similarity within one kind (cosine >= a threshold, 0.9 by
default: MiniLM scores restatements of one fact around 0.9 and related but
different facts well below) or by equal text; an update keeps the old
memory's key, creation time, validity, pins and mutes (:func:`merge`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from assistant.memory.memories import Memories, StoredMemory
from assistant.memory.operations import content_stems
from assistant.memory.schemas import AnyMemory, MemoryKind

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
