"""The memory pane's table: every memory, one row each, filtered, sorted and searched.

The memories are read in pages by a thread worker (:mod:`assistant.memory.catalog`):
the first hundred show at once, the rest arrive in the background, and the
table holds a window of rows that grows as the user scrolls, so 10,000 memories
open as fast as 100. Filtering and sorting run on the loaded copy; search asks
the store (semantic, above a score threshold, with a substring fallback over the
loaded copy). Every text in a cell is plain :class:`rich.text.Text`, never markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey
from textual.worker import Worker

from assistant.formats import local_time, terminal_safe
from assistant.memory.catalog import SORT_KEYS, MemoryCatalog, SortKey, pages
from assistant.memory.schemas import KIND_NAMES, KINDS, MemoryKind
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from assistant.memory.repository import Memories, StoredMemory

#: Rows the table holds at first, and how many more it takes near its end.
WINDOW = 200
#: The widths of the table's columns but the memory's text (which takes the rest).
FIXED_COLUMNS = {"marks": 2, "kind": 10, "updated": 16, "source": 18}
#: Below this terminal width the source column narrows (80 columns fit, no scrolling).
NARROW = 100
NARROW_SOURCE = 12
#: How long typing pauses before the search runs (seconds).
SEARCH_DELAY = 0.25
SORT_NAMES = {
    "updated": "last updated",
    "created": "created",
    "kind": "kind",
    "text": "text",
    "source": "source",
}
COLUMNS = ("marks", "kind", "text", "updated", "source")


def when(moment: datetime) -> str:
    """A time for a column, in local time: ``2026-11-21 14:03``."""
    return local_time(moment)


class MemoryBrowser(DataTable[str | Text]):
    """The memories of the current filter, sort or search; posts
    :class:`MemoryBrowser.Changed` whenever what it lists changes.

    Args:
        memories: the user's memories (read in a worker).
        conversations: the conversation database (the titles of the sources).
        select: the key of a memory to put the cursor on once loaded.
    """

    class Changed(Message):
        """What the table lists changed: the heading and the detail view follow."""

    class SearchDropped(Message):
        """A sort ended the search: the search box empties."""

    def __init__(
        self, memories: Memories, conversations: ConversationStore, select: str | None = None
    ) -> None:
        super().__init__(id="memory-table", cursor_type="row", zebra_stripes=True)
        self.memories = memories
        self.conversations = conversations
        self.catalog = MemoryCatalog()
        self.kind: MemoryKind | None = None
        self.order: SortKey = "updated"
        self.descending = True
        self.history = False
        self.results: list[StoredMemory] | None = None  # search results, when searching
        self.searched = ""  # the query of ``results``
        self.listed: list[StoredMemory] = []  # what the table lists, in order
        self.shown = 0  # how many of ``rows`` the table holds
        self._select = select
        self._typed = ""  # what the search box holds, spaces folded
        self._search_timer: Timer | None = None

    # Windowing ---------------------------------------------------------------

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new > old and 0 < self.max_scroll_y - 5 <= new:
            self.call_later(self._need_more)

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
        if self.row_count > 10 and self.cursor_row >= self.row_count - 10:
            self.call_later(self._need_more)

    def _need_more(self) -> None:
        """The cursor or the scroll reached the last rows held: hold more."""
        if self.shown < len(self.listed):
            self._grow(WINDOW)

    def lay_out(self, width: int) -> None:
        """Lay the columns out for a terminal ``width`` wide, the memory's text
        taking what the others leave (the rows are drawn again if they change)."""
        fixed = dict(FIXED_COLUMNS)
        if width < NARROW:
            fixed["source"] = NARROW_SOURCE
        text_width = max(16, width - sum(fixed.values()) - 2 * 5 - 3)
        if self.columns and self.columns[ColumnKey("text")].width == text_width:
            return
        keep = self.selected_key()
        self.clear(columns=True)
        self.shown = 0
        for label, key in zip(("", "Kind", "Memory", "Updated", "Source"), COLUMNS, strict=True):
            self.add_column(label, key=key, width=fixed.get(key, text_width))
        if self.listed:
            self.render_rows(keep)

    # Loading ---------------------------------------------------------------

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        tell_failure(event)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="pane-load",
        name="Loading the memories",
    )
    def load(self) -> None:
        """Read every memory, a page at a time (blocking reads: a thread worker)."""
        titles = {t.id: t.title for t in self.conversations.list_threads()}
        first = True
        wanted = self.memories.get(self._select) if self._select else None
        for page in pages(self.memories):
            if first and wanted is not None:
                page = [wanted, *page]
            self.app.call_from_thread(self._loaded, page, titles if first else None, False)
            first = False
        self.app.call_from_thread(self._loaded, [], titles if first else None, True)

    def _loaded(self, page: list[StoredMemory], titles: dict[str, str] | None, done: bool) -> None:
        if titles is not None:
            self.catalog.titles = titles
        fresh = not len(self.catalog)
        self.catalog.add(page)
        self.catalog.complete = done
        if fresh or done:
            select = self._select
            if select and (wanted := self.catalog.get(select)) and not wanted.memory.active:
                self.history = True
            self.render_rows(select or self.selected_key(), reach=bool(select))
            if done:
                self._select = None
        self.post_message(self.Changed())

    def summary(self) -> str:
        """The heading: how many, loading, and the filter, sort or search."""
        total = len(self.catalog)
        active = self.catalog.active
        parts = [f"Memories · {active:,} active"]
        if total > active:
            parts[0] += f", {total - active:,} in history"
        if not self.catalog.complete:
            parts.append(f"loading… ({total:,} so far)")
        if self.results is not None and not self.results:
            parts.append(f"No memory matches “{self.searched}”.")
        elif self.results is not None:
            parts.append(f"{len(self.results)} found for “{self.searched}”")
        else:
            kind = f"{KIND_NAMES[self.kind]}s" if self.kind else "all kinds"
            order = SORT_NAMES[self.order] + (" ↓" if self.descending else " ↑")
            parts.append(f"{kind}{', with history' if self.history else ''}, by {order}")
        return "   ".join(parts)

    # The rows ----------------------------------------------------------------

    def render_rows(self, keep: str | None = None, *, reach: bool = False) -> None:
        """List the memories of the current filter, sort or search, the cursor on
        ``keep`` when it is among the first rows (anywhere, with ``reach``: the
        table then holds every row up to it)."""
        if self.results is not None:
            rows = [s for s in self.results if self.kind is None or s.kind == self.kind]
        else:
            rows = self.catalog.view(
                kind=self.kind, history=self.history, sort=self.order, descending=self.descending
            )
        self.listed = rows
        self.clear()
        self.shown = 0
        index = next((i for i, s in enumerate(rows) if s.key == keep), 0)
        if index >= WINDOW and not reach:
            index = 0
        self._grow(max(WINDOW, index + 1))
        if rows:
            self.move_cursor(row=index, animate=False, scroll=True)
        self.post_message(self.Changed())

    def _grow(self, count: int) -> None:
        for stored in self.listed[self.shown : self.shown + count]:
            self.add_row(*self._cells(stored), key=stored.key)
        self.shown = min(len(self.listed), self.shown + count)

    def _cells(self, stored: StoredMemory) -> list[str | Text]:
        memory = stored.memory
        marks = ("P" if memory.pinned else "") + ("M" if memory.muted else "")
        style = "dim" if not memory.active or memory.muted else ""
        words = terminal_safe(" ".join(stored.text.split()))  # escape bytes drawn as ^[
        text = Text(words, style=style, no_wrap=True, overflow="ellipsis")
        if not memory.active:
            text = Text.assemble(("old ", "italic dim"), text)
        # Text, never a str: a str cell is read as markup, and a title such as
        # "[/x]" would end the app (a conversation's title, a memory's words).
        source = Text(terminal_safe(self.catalog.source(stored)), no_wrap=True, overflow="ellipsis")
        return [
            marks or ("·" if not memory.active else ""),
            KIND_NAMES[stored.kind],
            text,
            when(memory.updated_at),
            source,
        ]

    def selected_key(self) -> str | None:
        """The key of the memory under the cursor."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def selected(self) -> StoredMemory | None:
        """The memory under the cursor."""
        key = self.selected_key()
        return self.catalog.get(key) if key else None

    def replace(self, stored: StoredMemory) -> None:
        """Show a changed memory where it is (the cursor does not move)."""
        self.catalog.add([stored])
        if stored.key in self.rows:
            for column, value in zip(COLUMNS, self._cells(stored), strict=True):
                self.update_cell(stored.key, column, value)
        self.listed = [stored if s.key == stored.key else s for s in self.listed]
        if self.results is not None:
            self.results = [stored if s.key == stored.key else s for s in self.results]
        self.post_message(self.Changed())

    def drop(self, keys: list[str]) -> None:
        """Take deleted memories out (the cursor stays at its row number)."""
        index = self.cursor_row
        for key in keys:
            self.catalog.remove(key)
            if key in self.rows:
                self.remove_row(key)
                self.shown -= 1
        gone = set(keys)
        self.listed = [s for s in self.listed if s.key not in gone]
        if self.results is not None:
            self.results = [s for s in self.results if s.key not in gone]
        if self.row_count:
            self.move_cursor(row=min(index, self.row_count - 1), animate=False)
        self.post_message(self.Changed())

    def show_at(self, key: str) -> None:
        """Put the cursor on ``key``, the search ended, its history shown if it is old."""
        stored = self.catalog.get(key)
        if stored is not None and not stored.memory.active:
            self.history = True
        self.results = None
        self.render_rows(key, reach=True)

    # Filter, sort, search ----------------------------------------------------------

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        sort: SortKey = "updated" if column == "marks" else column  # type: ignore[assignment]
        newest_first = sort in ("updated", "created")
        self.descending = not self.descending if sort == self.order else newest_first
        self.order = sort
        self.results = None
        self.post_message(self.SearchDropped())
        self.render_rows(self.selected_key())

    def cycle_sort(self) -> None:
        """Sort by the next column (newest, or A to Z, first); the search ends."""
        self.order = SORT_KEYS[(SORT_KEYS.index(self.order) + 1) % len(SORT_KEYS)]
        self.descending = self.order in ("updated", "created")
        self.results = None
        self.post_message(self.SearchDropped())
        self.render_rows(self.selected_key())

    def set_kind(self, kind: MemoryKind | None) -> None:
        """List only ``kind`` (``None``: every kind); a search runs again within it."""
        if kind != self.kind:
            self.kind = kind
            self.render_rows(self.selected_key())
            if self.results is not None:
                self.search(self.searched)

    def toggle_history(self) -> None:
        """Show superseded and retired memories too, or not."""
        self.history = not self.history
        self.render_rows(self.selected_key())

    def typed(self, value: str) -> None:
        """The search box now holds ``value``: search once typing pauses."""
        if self._search_timer is not None:
            self._search_timer.stop()
        query = self._typed = " ".join(value.split())
        if not query:
            if self.results is not None:
                self.results, self.searched = None, ""
                self.render_rows(self.selected_key())
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self.search(query))

    def submitted(self, value: str) -> None:
        """Enter in the search box: search now, unless these results are shown."""
        if self._search_timer is not None:
            self._search_timer.stop()
        query = " ".join(value.split())
        if query and (self.results is None or query != self.searched):
            self.search(query)

    def search(self, query: str) -> None:
        """Semantic search through the store, only memories at least the
        ``search_min_score`` setting similar; words the embedder misses (names,
        numbers) are found in the loaded memories (a copy: the worker reads it)."""
        kinds = [self.kind] if self.kind else list(KINDS)
        candidates = list(self.catalog) if self.catalog.complete else None
        settings = getattr(self.app, "settings", None)
        self._search(query, kinds, candidates, getattr(settings, "search_min_score", None))

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="pane-search",
        name="Searching the memories",
    )
    def _search(
        self,
        query: str,
        kinds: list[MemoryKind],
        candidates: list[StoredMemory] | None,
        min_score: float | None,
    ) -> None:
        from assistant.memory.editing import SEARCH_MIN_SCORE, search

        least = SEARCH_MIN_SCORE if min_score is None else min_score
        found = search(
            self.memories, query, kinds, limit=50, candidates=candidates, min_score=least
        )
        self.app.call_from_thread(self._found, query, found)

    def _found(self, query: str, found: list[StoredMemory]) -> None:
        if self._typed != query:
            return  # typed on since
        self.catalog.add(s for s in found if s.key not in self.catalog)
        self.results, self.searched = found, query
        self.render_rows()
