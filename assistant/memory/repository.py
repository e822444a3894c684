"""The user's memories in a LangGraph ``BaseStore``, one namespace per kind.

``Memories`` is the one place that knows where memories live: under the
configured namespace (``("memories", "<user_id>")``) each kind has its own
namespace, ``(..., "semantic")``, ``(..., "episodic")`` and ``(..., "procedural")``.
That keeps the always-recalled procedural memories one short listing away and
lets similarity search skip them. Keys are random UUIDs, unique across kinds, so
a memory is known by its key alone.

The store is shared with other LangGraph apps and LangMem's tools
(docs/sharing.md), so an item in these namespaces may hold a value this app did
not write (a LangMem ``{"kind": "Memory", "content": {...}}``, anything else):
every read skips it with a warning, logged once per item, and counts it in
:attr:`Memories.foreign`; it is never fatal.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from langgraph.store.base import BaseStore, GetOp, Item, PutOp, SearchItem, SearchOp
from pydantic import ValidationError

from assistant.memory.schemas import KINDS, AnyMemory, MemoryKind, from_value

log = logging.getLogger(__name__)
#: How many procedural (or pinned) memories a listing reads at most.
LISTING_LIMIT = 500


@dataclass(frozen=True, slots=True)
class StoredMemory:
    """A memory with its key, as read from the store (``score``: similarity, if searched)."""

    key: str
    memory: AnyMemory
    score: float | None = None

    @property
    def kind(self) -> MemoryKind:
        return self.memory.kind

    @property
    def text(self) -> str:
        return self.memory.render()


def new_key() -> str:
    """A fresh memory key (a UUID4 in hex)."""
    return uuid.uuid4().hex


class Memories:
    """Read and write memories of one user.

    Args:
        store: any LangGraph ``BaseStore`` (``ChromaStore``, ``InMemoryStore``) whose
            index embeds the ``text`` field.
        namespace: the user's namespace, e.g. ``("memories", "me")``.
    """

    def __init__(self, store: BaseStore, namespace: tuple[str, ...]) -> None:
        self.store = store
        self.namespace = tuple(namespace)
        self.foreign: dict[tuple[tuple[str, ...], str], str] = {}
        """Items met in the user's namespaces that are not memories of this app:
        ``(namespace, key)`` to why (what a pane can show as foreign)."""

    def close(self) -> None:
        """Close the store, if it has anything to close."""
        close = getattr(self.store, "close", None)
        if close is not None:
            close()

    def namespace_of(self, kind: MemoryKind) -> tuple[str, ...]:
        """The namespace that holds memories of ``kind``."""
        return (*self.namespace, kind)

    def _read(self, item: Item, score: float | None = None) -> StoredMemory | None:
        """The memory an item holds, or ``None`` for a value this app did not write
        (logged once, kept in :attr:`foreign`)."""
        try:
            return StoredMemory(item.key, from_value(item.value), score)
        except (ValidationError, TypeError, AttributeError) as exc:
            where = (tuple(item.namespace), item.key)
            if where not in self.foreign:
                reason = _why_foreign(item.value, exc)
                self.foreign[where] = reason
                log.warning(
                    "skipped item %s in namespace %s: not a memory of this app (%s)",
                    item.key,
                    "/".join(item.namespace),
                    reason,
                )
            return None

    def _read_all(self, items: Iterable[Item]) -> list[StoredMemory]:
        return [m for item in items if (m := self._read(item, getattr(item, "score", None)))]

    def get(self, key: str) -> StoredMemory | None:
        """The memory with ``key``, of whatever kind, or ``None``."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, StoredMemory]:
        """The memories with these keys that exist, by key, in one store batch (a
        key is looked for in every kind's namespace)."""
        wanted = list(dict.fromkeys(keys))
        ops = [GetOp(self.namespace_of(kind), key) for key in wanted for kind in KINDS]
        found: dict[str, StoredMemory] = {}
        for item in self.store.batch(ops) if ops else []:
            stored = self._read(item) if isinstance(item, Item) else None
            if stored is not None and item.key not in found:
                found[item.key] = stored
        return found

    def put_op(self, key: str, memory: AnyMemory) -> PutOp:
        """The store operation that writes ``memory`` under ``key``."""
        return PutOp(self.namespace_of(memory.kind), key, memory.to_value())

    def put(self, key: str, memory: AnyMemory) -> None:
        """Write one memory (its text is embedded)."""
        self.store.batch([self.put_op(key, memory)])

    def delete_op(self, key: str, kind: MemoryKind) -> PutOp:
        """The store operation that deletes the memory ``key`` of ``kind``."""
        return PutOp(self.namespace_of(kind), key, None)

    def delete(self, keys: Iterable[str]) -> int:
        """Delete memories for good (all kinds); returns how many existed."""
        found = list(self.get_many(keys).values())
        ops = [self.delete_op(s.key, s.kind) for s in found]
        if ops:
            self.store.batch(ops)
        return len(found)

    def listing(
        self, kind: MemoryKind, *, limit: int = LISTING_LIMIT, offset: int = 0
    ) -> list[StoredMemory]:
        """Memories of ``kind`` in storage order (active or not); items that are no
        memories of this app are left out, so a page may be shorter than ``limit``."""
        return self._read_all(self._items(kind, limit, offset))

    def page(
        self, kind: MemoryKind, *, limit: int = LISTING_LIMIT, offset: int = 0
    ) -> tuple[list[StoredMemory], int]:
        """:meth:`listing` and how many items it read (foreign ones included): the
        next page starts that many items on, and fewer than ``limit`` means the end."""
        items = self._items(kind, limit, offset)
        return self._read_all(items), len(items)

    def _items(self, kind: MemoryKind, limit: int, offset: int) -> list[SearchItem]:
        return self.store.search(self.namespace_of(kind), limit=limit, offset=offset)

    def every(self, kind: MemoryKind, *, page: int = LISTING_LIMIT) -> Iterator[StoredMemory]:
        """All memories of ``kind`` (active or not), read ``page`` items at a time."""
        offset = 0
        while items := self._items(kind, page, offset):
            yield from self._read_all(items)
            offset += len(items)
            if len(items) < page:
                return

    def pinned(self, kind: MemoryKind) -> list[StoredMemory]:
        """Pinned memories of ``kind`` (reads the whole namespace)."""
        items = self.store.search(
            self.namespace_of(kind), filter={"pinned": True}, limit=LISTING_LIMIT
        )
        return self._read_all(items)

    def similar(
        self,
        query: str,
        kinds: Sequence[MemoryKind] = KINDS,
        *,
        limit: int = 8,
        active_only: bool = True,
    ) -> list[StoredMemory]:
        """The memories nearest to ``query`` (cosine similarity), best first.

        Reads ``limit`` per kind (twice that when inactive ones are dropped), then
        merges; items without a score (no vector) are left out.
        """
        return self.similar_each([query], kinds, limit=limit, active_only=active_only)[0]

    def similar_each(
        self,
        queries: Sequence[str],
        kinds: Sequence[MemoryKind] = KINDS,
        *,
        limit: int = 8,
        active_only: bool = True,
    ) -> list[list[StoredMemory]]:
        """:meth:`similar` for each query, in one store batch (one embedding per query)."""
        want = limit * 2 if active_only else limit
        ops = [
            SearchOp(self.namespace_of(kind), query=query, limit=want)
            for query in queries
            for kind in kinds
        ]
        results = self.store.batch(ops)
        answers: list[list[StoredMemory]] = []
        for i in range(len(queries)):
            found = self._read_all(
                item
                for items in results[i * len(kinds) : (i + 1) * len(kinds)]
                for item in cast(list[SearchItem], items)
                if item.score is not None
            )
            if active_only:
                found = [s for s in found if s.memory.active]
            found.sort(key=lambda s: s.score or 0.0, reverse=True)
            answers.append(found[:limit])
        return answers

    def nearest(
        self,
        queries: Iterable[str],
        kinds: Sequence[MemoryKind] = KINDS,
        *,
        limit: int = 8,
        min_score: float = 0.0,
    ) -> list[StoredMemory]:
        """Active memories near any of ``queries``: :meth:`similar` for each query
        (``limit`` each), at least ``min_score``, each memory once with its best
        score, best first. One store batch: each query is embedded once."""
        best: dict[str, StoredMemory] = {}
        for answer in self.similar_each(list(queries), kinds, limit=limit):
            for found in answer:
                score = found.score or 0.0
                held = best.get(found.key)
                if score >= min_score and (held is None or score > (held.score or 0.0)):
                    best[found.key] = found
        return sorted(best.values(), key=lambda s: s.score or 0.0, reverse=True)


def _why_foreign(value: object, error: Exception) -> str:
    """A short reason a value is not one of our memories."""
    if isinstance(value, dict):
        kind = value.get("kind")
        if kind == "Memory" and isinstance(value.get("content"), dict):
            return "a LangMem memory"
        if kind not in KINDS:
            return f"kind {kind!r}" if kind is not None else "no kind"
    if isinstance(error, ValidationError):
        return f"{error.error_count()} invalid fields"
    return type(error).__name__
