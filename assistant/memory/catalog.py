"""The memories a browser shows (the TUI's memory pane): read from the store in
pages, kept in memory, then filtered and sorted there, so that a keystroke
never waits on the store.

Reading 10,000 memories from embedded Chroma takes about half a second
(docs/benchmarks.md), so :func:`pages` hands out a small first page at once and
the rest in large ones; a browser shows the first page while the rest loads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from assistant.memory.schemas import KINDS, AnyMemory, MemoryKind

if TYPE_CHECKING:  # LangGraph's store is not on the way to the TUI's first screen
    from assistant.memory.repository import Memories, StoredMemory

SortKey = Literal["updated", "created", "kind", "text", "source"]
SORT_KEYS: tuple[SortKey, ...] = ("updated", "created", "kind", "text", "source")
#: The first page: about two screens of rows, read in well under 200 ms.
FIRST_PAGE = 100
#: Later pages: large, since each Chroma read has a fixed cost.
PAGE = 2_000


def pages(
    memories: Memories, *, first: int = FIRST_PAGE, page: int = PAGE
) -> Iterator[list[StoredMemory]]:
    """Every memory (all kinds, history included), ``first`` of them in the first
    page and ``page`` in each later one (blocking reads).

    Raises:
        StorageError: the store cannot be read.
    """
    size = first
    for kind in KINDS:
        offset = 0
        while True:
            found, read = memories.page(kind, limit=size, offset=offset)
            if found:
                yield found
            offset += read
            if read < size:
                break
            size = page


def source_label(memory: AnyMemory, titles: Mapping[str, str]) -> str:
    """Where a memory came from, for a column: ``chat · <title>``, ``you``,
    ``you · <title>`` or ``import`` (``titles``: thread id to title)."""
    provenance = memory.provenance
    if provenance.source == "import":
        return "import"
    title = titles.get(provenance.thread_id or "")
    if provenance.thread_id and title is None:
        title = "(deleted conversation)"
    if provenance.source == "reflection":
        return f"chat · {title}"
    return f"you · {title}" if title else "you"


class MemoryCatalog:
    """An in-memory copy of the store's memories, by key, for browsing.

    Args:
        titles: thread id to conversation title, for the source column.
    """

    def __init__(self, titles: Mapping[str, str] | None = None) -> None:
        self._rows: dict[str, StoredMemory] = {}
        self._active: set[str] = set()
        self.titles: dict[str, str] = dict(titles or {})
        self.complete = False
        """Whether every page has been read."""

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __iter__(self) -> Iterator[StoredMemory]:
        return iter(self._rows.values())

    def get(self, key: str) -> StoredMemory | None:
        return self._rows.get(key)

    def add(self, found: Iterable[StoredMemory]) -> None:
        """Add or replace memories (by key)."""
        for stored in found:
            self._rows[stored.key] = stored
            if stored.memory.active:
                self._active.add(stored.key)
            else:
                self._active.discard(stored.key)

    def remove(self, key: str) -> None:
        self._rows.pop(key, None)
        self._active.discard(key)

    @property
    def active(self) -> int:
        """How many of the memories hold now (neither superseded nor retired)."""
        return len(self._active)

    def source(self, stored: StoredMemory) -> str:
        return source_label(stored.memory, self.titles)

    def view(
        self,
        *,
        kind: MemoryKind | None = None,
        history: bool = False,
        sort: SortKey = "updated",
        descending: bool = True,
    ) -> list[StoredMemory]:
        """The memories to list: of ``kind`` (``None``: all), active only unless
        ``history``, sorted by ``sort`` (ties: newest update first)."""
        rows = [
            s
            for s in self._rows.values()
            if (kind is None or s.kind == kind) and (history or s.memory.active)
        ]
        if sort == "updated":
            rows.sort(key=lambda s: s.memory.updated_at, reverse=descending)
            return rows
        rows.sort(key=lambda s: s.memory.updated_at, reverse=True)
        if sort == "created":
            rows.sort(key=lambda s: s.memory.created_at, reverse=descending)
        elif sort == "kind":
            rows.sort(key=lambda s: KINDS.index(s.kind), reverse=descending)
        elif sort == "text":
            rows.sort(key=lambda s: s.text.casefold(), reverse=descending)
        else:
            rows.sort(key=lambda s: self.source(s).casefold(), reverse=descending)
        return rows

    def history_of(self, key: str) -> tuple[StoredMemory | None, list[StoredMemory]]:
        """The memory that superseded ``key`` (or ``None``), and those it superseded."""
        stored = self._rows.get(key)
        if stored is None:
            return None, []
        successor = stored.memory.superseded_by
        newer = self._rows.get(successor) if successor else None
        older = [s for s in self._rows.values() if s.memory.superseded_by == key]
        older.sort(key=lambda s: s.memory.updated_at, reverse=True)
        return newer, older
