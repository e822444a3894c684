"""The memory pane: what the assistant remembers, where it came from, what the
last reflections changed, and the means to correct it.

The memories are read in pages by a thread worker (:mod:`assistant.memory.catalog`):
the first hundred show at once, the rest arrive in the background, and the
table holds a window of rows that grows as the user scrolls, so 10,000 memories
open as fast as 100. Filtering and sorting run on the loaded copy; search asks
the store (semantic, with a substring fallback over the loaded copy). Every
write runs in a thread worker and updates the copy and the row in place, so the
cursor stays where it was; so do background reflections (:meth:`MemoryScreen.refresh_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static, TabbedContent, TabPane
from textual.widgets.data_table import ColumnKey
from textual.worker import Worker, WorkerState

from assistant.formats import local_time
from assistant.memory.catalog import SORT_KEYS, MemoryCatalog, SortKey, pages
from assistant.memory.schemas import KIND_NAMES, KINDS, MemoryKind
from tui.screens.dialogs import ConfirmScreen
from tui.screens.memory_form import MemoryFormScreen
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from assistant.memory.repository import Memories, StoredMemory
    from assistant.reflection.review import ReviewedChange

#: Rows the table holds at first, and how many more it takes near its end.
WINDOW = 200
#: The widths of the table's columns but the memory's text (which takes the rest).
FIXED_COLUMNS = {"marks": 2, "kind": 10, "updated": 16, "source": 18}
#: How long typing pauses before the search runs (seconds).
SEARCH_DELAY = 0.25
SORT_NAMES = {
    "updated": "last updated",
    "created": "created",
    "kind": "kind",
    "text": "text",
    "source": "source",
}
STATE_NAMES = {"current": "", "undone": "undone", "changed since": "changed since"}


@dataclass
class OpenSource(Message):
    """The user asked to see the conversation (and message) a memory came from."""

    thread_id: str
    message_id: int | None


def when(moment: datetime) -> str:
    """A time for a column, in local time: ``2026-11-21 14:03``."""
    return local_time(moment)


class MemoryTable(DataTable[str | Text]):
    """The memories, one row each; asks for more rows near its end."""

    class NeedMore(Message):
        """The cursor or the scroll reached the last rows held."""

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new > old and 0 < self.max_scroll_y - 5 <= new:
            self.post_message(self.NeedMore())

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
        if self.row_count > 10 and self.cursor_row >= self.row_count - 10:
            self.post_message(self.NeedMore())


class MemoryScreen(Screen[None]):
    """Browse, search, edit and review memories (F3 from the chat).

    Args:
        memories: the user's memories.
        conversations: the conversation database (titles, the journal).
        thread_id: the conversation on screen in the chat (provenance of additions).
        select: the key of a memory to open the pane on.
    """

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f3", "back", "Back", show=False),
        # Priority, so that the focus moves before the keys typed after it are routed.
        Binding("slash", "focus_search", "Search", show=False, priority=True),
        Binding("k", "cycle_kind", "Kind", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("h", "toggle_history", "History"),
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("p", "pin", "Pin"),
        Binding("m", "mute", "Mute"),
        Binding("d,delete", "delete", "Delete"),
        Binding("u,ctrl+z", "undo", "Undo"),
        Binding("g", "go_to_source", "Source"),
        Binding("c", "changes", "Changes"),
    ]

    def __init__(
        self,
        memories: Memories,
        conversations: ConversationStore,
        *,
        thread_id: str | None = None,
        select: str | None = None,
    ) -> None:
        super().__init__()
        self.memories = memories
        self.conversations = conversations
        self.thread_id = thread_id
        self.catalog = MemoryCatalog()
        self.kind: MemoryKind | None = None
        self.sort: SortKey = "updated"
        self.descending = True
        self.history = False
        self.results: list[StoredMemory] | None = None  # search results, when searching
        self.searched = ""  # the query of ``results``
        self.rows: list[StoredMemory] = []  # what the table lists, in order
        self.shown = 0  # how many of ``rows`` the table holds
        self.deleted: list[StoredMemory] = []  # for undo, the last at the end
        self._restoring: dict[Worker[None], StoredMemory] = {}  # undo in progress
        self.changes: list[ReviewedChange] = []
        self._select = select
        self._search_timer: Timer | None = None
        self._form: MemoryFormScreen | None = None
        self.heading = Static("Memories · loading…", id="memory-heading", markup=False)
        self.search_box = Input(
            placeholder="Search by meaning or by words  ( / )", id="memory-search"
        )
        options = [("All kinds", "all")] + [(f"{KIND_NAMES[k]}s", k) for k in KINDS]
        self.kind_select = Select(options, value="all", allow_blank=False, id="memory-kind")
        self.table = MemoryTable(id="memory-table", cursor_type="row", zebra_stripes=True)
        self.detail_body = Static("", id="detail-body", markup=False)
        self.changes_table: DataTable[str | Text] = DataTable(
            id="changes-table", cursor_type="row", zebra_stripes=True
        )

    def compose(self) -> ComposeResult:
        yield self.heading
        with Horizontal(id="memory-bar"):
            yield self.search_box
            yield self.kind_select
        with TabbedContent(id="memory-tabs"):
            with TabPane("Memories", id="memories-tab"), Vertical():
                yield self.table
                with VerticalScroll(id="memory-detail"):
                    yield self.detail_body
            with TabPane("What changed", id="changes-tab"):
                yield self.changes_table
        yield Footer()

    def on_mount(self) -> None:
        self._columns(self.app.size.width)
        changes = self.changes_table
        for label, key, width in (
            ("When", "when", 16),
            ("What", "what", 9),
            ("Kind", "kind", 10),
            ("Memory", "text", 56),
            ("", "state", 13),
        ):
            changes.add_column(label, key=key, width=width)
        self.table.focus()
        self.load()
        self.load_changes()

    def _columns(self, width: int) -> bool:
        """Lay the table's columns out for a terminal ``width`` wide, the memory's
        text taking what the others leave; ``False`` if they already are."""
        text_width = max(24, width - sum(FIXED_COLUMNS.values()) - 2 * 5 - 3)
        table = self.table
        if table.columns and table.columns[ColumnKey("text")].width == text_width:
            return False
        table.clear(columns=True)
        self.shown = 0
        for label, key in (
            ("", "marks"),
            ("Kind", "kind"),
            ("Memory", "text"),
            ("Updated", "updated"),
            ("Source", "source"),
        ):
            table.add_column(label, key=key, width=FIXED_COLUMNS.get(key, text_width))
        return True

    def on_resize(self) -> None:
        keep = self.selected_key()
        if self._columns(self.app.size.width) and self.rows:
            self.render_rows(keep)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's failure is told here; a memory not restored goes back on
        the undo list (on the UI thread, which owns it)."""
        tell_failure(event)
        if not event.worker.is_finished:
            return
        stored = self._restoring.pop(event.worker, None)
        if stored is not None and event.state != WorkerState.SUCCESS:
            self.deleted.append(stored)

    # Loading ---------------------------------------------------------------

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
        self._heading()

    def _heading(self) -> None:
        total = len(self.catalog)
        active = self.catalog.active
        parts = [f"Memories · {active:,} active"]
        if total > active:
            parts[0] += f", {total - active:,} in history"
        if not self.catalog.complete:
            parts.append(f"loading… ({total:,} so far)")
        if self.results is not None:
            parts.append(f"{len(self.results)} found for “{self.searched}”")
        else:
            kind = f"{KIND_NAMES[self.kind]}s" if self.kind else "all kinds"
            order = SORT_NAMES[self.sort] + (" ↓" if self.descending else " ↑")
            parts.append(f"{kind}{', with history' if self.history else ''}, by {order}")
        self.heading.update("   ".join(parts))

    # The table ---------------------------------------------------------------

    def render_rows(self, keep: str | None = None, *, reach: bool = False) -> None:
        """List the memories of the current filter, sort or search, the cursor on
        ``keep`` when it is among the first rows (anywhere, with ``reach``: the
        table then holds every row up to it)."""
        if self.results is not None:
            rows = [s for s in self.results if self.kind is None or s.kind == self.kind]
        else:
            rows = self.catalog.view(
                kind=self.kind, history=self.history, sort=self.sort, descending=self.descending
            )
        self.rows = rows
        table = self.table
        table.clear()
        self.shown = 0
        index = next((i for i, s in enumerate(rows) if s.key == keep), 0)
        if index >= WINDOW and not reach:
            index = 0
        self._grow(max(WINDOW, index + 1))
        if rows:
            table.move_cursor(row=index, animate=False, scroll=True)
        self._heading()
        self.show_detail()

    def _grow(self, count: int) -> None:
        table = self.table
        for stored in self.rows[self.shown : self.shown + count]:
            table.add_row(*self._cells(stored), key=stored.key)
        self.shown = min(len(self.rows), self.shown + count)

    def _cells(self, stored: StoredMemory) -> list[str | Text]:
        memory = stored.memory
        marks = ("P" if memory.pinned else "") + ("M" if memory.muted else "")
        style = "dim" if not memory.active or memory.muted else ""
        text = Text(" ".join(stored.text.split()), style=style, no_wrap=True, overflow="ellipsis")
        if not memory.active:
            text = Text.assemble(("old ", "italic dim"), text)
        return [
            marks or ("·" if not memory.active else ""),
            KIND_NAMES[stored.kind],
            text,
            when(memory.updated_at),
            self.catalog.source(stored),
        ]

    @on(MemoryTable.NeedMore)
    def _need_more(self) -> None:
        if self.shown < len(self.rows):
            self._grow(WINDOW)

    def selected_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def selected(self) -> StoredMemory | None:
        """The memory under the cursor."""
        key = self.selected_key()
        return self.catalog.get(key) if key else None

    def _replace_row(self, stored: StoredMemory) -> None:
        """Show a changed memory where it is (the cursor does not move)."""
        table = self.table
        if stored.key in table.rows:
            for column, value in zip(
                ("marks", "kind", "text", "updated", "source"), self._cells(stored), strict=True
            ):
                table.update_cell(stored.key, column, value)
        self.rows = [stored if s.key == stored.key else s for s in self.rows]
        if self.results is not None:
            self.results = [stored if s.key == stored.key else s for s in self.results]

    @on(DataTable.RowHighlighted, "#memory-table")
    def _highlighted(self) -> None:
        self.show_detail()

    @on(DataTable.RowSelected, "#memory-table")
    def _row_selected(self) -> None:
        self.action_edit()

    @on(DataTable.HeaderSelected, "#memory-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        sort: SortKey = "updated" if column == "marks" else column  # type: ignore[assignment]
        newest_first = sort in ("updated", "created")
        self.descending = not self.descending if sort == self.sort else newest_first
        self.sort = sort
        self.results = None
        self.search_box.value = ""
        self.render_rows(self.selected_key())

    def show_detail(self) -> None:
        """Every field of the memory under the cursor, where it came from, its history."""
        body = self.detail_body
        stored = self.selected()
        if stored is None:
            empty = "No memory matches." if self.catalog.complete else "Loading…"
            if self.catalog.complete and not len(self.catalog):
                empty = (
                    "Nothing remembered yet. Memories form when a conversation goes quiet, "
                    "or press a to add one."
                )
            body.update(empty)
            return
        body.update(self.detail(stored))

    def detail(self, stored: StoredMemory) -> Text:
        """The detail view of ``stored``."""
        memory = stored.memory
        state = "active" if memory.active else "history"
        marks = [m for m, on in (("pinned", memory.pinned), ("muted", memory.muted)) if on]
        out = Text()
        out.append(f"{KIND_NAMES[stored.kind].upper()} · {' · '.join([state, *marks])}\n", "bold")
        out.append(f"{stored.text}\n")
        newer, older = self.catalog.history_of(stored.key)
        if newer is not None:
            out.append(f"replaced by ({when(newer.memory.updated_at)}): ", "dim")
            out.append(f"{newer.text}\n")
        for old in older:
            out.append(f"replaced ({when(old.memory.updated_at)}): ", "dim")
            out.append(f"{old.text}\n")
        out.append("\n")
        fields = memory.model_dump(
            exclude={
                "kind",
                "provenance",
                "pinned",
                "muted",
                "superseded_by",
                "created_at",
                "updated_at",
                "valid_from",
                "invalid_at",
            }
        )
        rows: list[tuple[str, str]] = [
            (k, str(v)) for k, v in fields.items() if v is not None and str(v) != stored.text
        ]
        rows += [
            ("created", when(memory.created_at)),
            ("updated", when(memory.updated_at)),
            ("valid from", when(memory.valid_from)),
        ]
        if memory.invalid_at is not None:
            rows.append(("invalid at", when(memory.invalid_at)))
        source = self.catalog.source(stored)
        provenance = memory.provenance
        if provenance.message_ids:
            ids = ", ".join(str(i) for i in provenance.message_ids)
            source += f" (message {ids})"
        rows += [("source", source), ("id", stored.key)]
        for name, value in rows:
            out.append(f"{name:<11}", "dim")
            out.append(f"{value}\n")
        if provenance.thread_id and provenance.thread_id in self.catalog.titles:
            out.append("\ng: go to the conversation\n", "dim")
        return out

    # Filter, sort, search ----------------------------------------------------------

    @on(Select.Changed, "#memory-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        kind = None if event.value == "all" else event.value
        if kind != self.kind:
            self.kind = kind  # type: ignore[assignment]
            self.render_rows(self.selected_key())
            if self.results is not None:  # search again within the kind
                self.search(self.searched)

    def action_cycle_kind(self) -> None:
        """All kinds, then facts, experiences, rules."""
        order: list[MemoryKind | None] = [None, *KINDS]
        following = order[(order.index(self.kind) + 1) % len(order)]
        self.kind_select.value = following or "all"

    def action_cycle_sort(self) -> None:
        """Sort by the next column (newest, or A to Z, first)."""
        self.sort = SORT_KEYS[(SORT_KEYS.index(self.sort) + 1) % len(SORT_KEYS)]
        self.descending = self.sort in ("updated", "created")
        self.results = None
        self.search_box.value = ""
        self.render_rows(self.selected_key())

    def action_toggle_history(self) -> None:
        """Show superseded and retired memories too, or not."""
        self.history = not self.history
        self.render_rows(self.selected_key())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``/`` is typed as text where the focus is already in a text field."""
        return not (action == "focus_search" and isinstance(self.focused, Input))

    def action_focus_search(self) -> None:
        """Focus the search box at once: Textual routes each key to the widget
        focused when the key is read, and ``Widget.focus`` waits for the queue,
        so the keys typed right after ``/`` would go to the table."""
        self.set_focus(self.search_box)

    @on(Input.Changed, "#memory-search")
    def _typed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        query = " ".join(event.value.split())
        if not query:
            if self.results is not None:
                self.results, self.searched = None, ""
                self.render_rows(self.selected_key())
            return
        self._search_timer = self.set_timer(SEARCH_DELAY, lambda: self.search(query))

    @on(Input.Submitted, "#memory-search")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        query = " ".join(event.value.split())
        if query and (self.results is None or query != self.searched):
            self.search(query)
        self.table.focus()

    def search(self, query: str) -> None:
        """Semantic search through the store; words the embedder misses (names,
        numbers) are found in the loaded memories (a copy: the worker reads it)."""
        kinds = [self.kind] if self.kind else list(KINDS)
        candidates = list(self.catalog) if self.catalog.complete else None
        self._search(query, kinds, candidates)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="pane-search",
        name="Searching the memories",
    )
    def _search(
        self, query: str, kinds: list[MemoryKind], candidates: list[StoredMemory] | None
    ) -> None:
        from assistant.memory.editing import search

        found = search(self.memories, query, kinds, limit=50, candidates=candidates)
        self.app.call_from_thread(self._found, query, found)

    def _found(self, query: str, found: list[StoredMemory]) -> None:
        if " ".join(self.search_box.value.split()) != query:
            return  # typed on since
        self.catalog.add(s for s in found if s.key not in self.catalog)
        self.results, self.searched = found, query
        self.render_rows()

    # Writes --------------------------------------------------------------------------

    def _need_selection(self) -> StoredMemory | None:
        stored = self.selected()
        if stored is None:
            self.notify("No memory is selected.")
        return stored

    def action_add(self) -> None:
        """Write a memory by hand, in a form."""
        form = MemoryFormScreen(self.memories, self.kind or "semantic", thread_id=self.thread_id)
        self._open_form(form, "Added.")

    def action_edit(self) -> None:
        """Change the memory under the cursor, in a form."""
        if (stored := self._need_selection()) is not None:
            self._open_form(MemoryFormScreen(self.memories, stored=stored), "Saved.")

    def _open_form(self, form: MemoryFormScreen, done: str) -> None:
        def saved(stored: StoredMemory | None) -> None:
            self._form = None
            if stored is None:
                return
            fresh = stored.key not in self.catalog
            self.catalog.add([stored])
            if fresh:
                self.results = None
                self.render_rows(stored.key, reach=True)
            else:
                self._replace_row(stored)
                self.show_detail()
                self._heading()
            self.notify(f"{done} {stored.text}", title="Memory")

        self._form = form
        self.app.push_screen(form, saved)

    def action_pin(self) -> None:
        """Pin the memory under the cursor (recalled into every turn), or unpin it."""
        if (stored := self._need_selection()) is not None:
            self.mark(stored, "pinned", not stored.memory.pinned)

    def action_mute(self) -> None:
        """Mute the memory under the cursor (never recalled), or unmute it."""
        if (stored := self._need_selection()) is not None:
            self.mark(stored, "muted", not stored.memory.muted)

    @work(thread=True, exit_on_error=False, group="pane-write", name="Changing the memory")
    def mark(self, stored: StoredMemory, field: str, on: bool) -> None:
        from assistant.memory.editing import edit

        saved = edit(self.memories, stored.key, {field: on})
        self.app.call_from_thread(self._marked, saved, field, on)

    def _marked(self, saved: StoredMemory, field: str, on: bool) -> None:
        self.catalog.add([saved])
        self._replace_row(saved)
        self.show_detail()
        what = {
            ("pinned", True): "Pinned: recalled into every turn.",
            ("pinned", False): "Unpinned: recalled when relevant.",
            ("muted", True): "Muted: kept, never recalled.",
            ("muted", False): "Unmuted: recalled when relevant.",
        }[(field, on)]
        self.notify(what, title=saved.text[:60])

    def action_delete(self) -> None:
        """Delete the memory under the cursor, after asking; u brings it back."""
        stored = self._need_selection()
        if stored is None:
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.delete(stored)

        question = f"Delete this {KIND_NAMES[stored.kind]}?\n\n“{stored.text}”\n\n(u undoes it)"
        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exit_on_error=False, group="pane-write", name="Deleting the memory")
    def delete(self, stored: StoredMemory) -> None:
        self.memories.delete([stored.key])
        self.app.call_from_thread(self._deleted, stored)

    def _deleted(self, stored: StoredMemory) -> None:
        self.deleted.append(stored)
        self._drop_rows([stored.key])
        self.notify(f"Deleted “{stored.text}”. Press u to undo.", title="Memory deleted")

    def _drop_rows(self, keys: list[str]) -> None:
        table = self.table
        index = table.cursor_row
        for key in keys:
            self.catalog.remove(key)
            if key in table.rows:
                table.remove_row(key)
                self.shown -= 1
        gone = set(keys)
        self.rows = [s for s in self.rows if s.key not in gone]
        if self.results is not None:
            self.results = [s for s in self.results if s.key not in gone]
        if table.row_count:
            table.move_cursor(row=min(index, table.row_count - 1), animate=False)
        self._heading()
        self.show_detail()

    def action_undo(self) -> None:
        """Undo: on "What changed", the change under the cursor; else the last deletion."""
        if self.query_one(TabbedContent).active == "changes-tab":
            self.undo_change()
            return
        if not self.deleted:
            self.notify("Nothing to undo.")
            return
        stored = self.deleted.pop()
        self._restoring[self.restore(stored)] = stored

    @work(thread=True, exit_on_error=False, group="pane-write", name="Restoring the memory")
    def restore(self, stored: StoredMemory) -> None:
        self.memories.put(stored.key, stored.memory)
        self.app.call_from_thread(self._restored, stored)

    def _restored(self, stored: StoredMemory) -> None:
        self.catalog.add([stored])
        self.render_rows(stored.key, reach=True)
        self.notify(f"Restored “{stored.text}”.", title="Undone")

    def action_go_to_source(self) -> None:
        """Open the conversation the memory came from, at its message."""
        stored = self._need_selection()
        if stored is None:
            return
        provenance = stored.memory.provenance
        if provenance.thread_id is None:
            self.notify("This memory was not formed in a conversation.")
            return
        if provenance.thread_id not in self.catalog.titles:
            self.notify("The conversation it came from has been deleted.")
            return
        first = provenance.message_ids[0] if provenance.message_ids else None
        self.post_message(OpenSource(provenance.thread_id, first))

    def action_back(self) -> None:
        """Back to the chat (from the search box: back to the table first)."""
        search = self.search_box
        if search.has_focus:
            self.table.focus()
            return
        self.dismiss()

    # Live updates ---------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="pane-load", name="Reading the changed memories")
    def refresh_keys(self, keys: list[str]) -> None:
        """Read ``keys`` again (a background reflection wrote them) and show them
        without moving the cursor or disturbing a form in progress."""
        got = self.memories.get_many(keys)
        found = {key: got.get(key) for key in dict.fromkeys(keys)}  # None: deleted
        self.app.call_from_thread(self._refreshed, found)

    def _refreshed(self, found: dict[str, StoredMemory | None]) -> None:
        keep = self.selected_key()
        gone = [key for key, stored in found.items() if stored is None and key in self.catalog]
        present = [stored for stored in found.values() if stored is not None]
        self.catalog.add(present)
        if gone:
            self._drop_rows(gone)
        listed = {r.key for r in self.rows}
        new = any(s.key not in listed for s in present)
        if new and self.results is None:
            self.render_rows(keep)
        else:
            for stored in present:
                self._replace_row(stored)
            self._heading()
            self.show_detail()
        form = self._form
        if form is not None and form.stored is not None and form.stored.key in found:
            current = found[form.stored.key]
            if current is not None and current.memory != form.stored.memory:
                form.changed_meanwhile(current)
        self.load_changes()

    # What changed ---------------------------------------------------------------------

    def action_changes(self) -> None:
        """Switch between the memories and what the last reflections changed."""
        tabs = self.query_one(TabbedContent)
        tabs.active = "memories-tab" if tabs.active == "changes-tab" else "changes-tab"
        (self.table if tabs.active == "memories-tab" else self.changes_table).focus()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="pane-changes",
        name="Reading what changed",
    )
    def load_changes(self) -> None:
        """The changes of the last reflections, newest first, with whether each holds."""
        from assistant.reflection.review import recent_changes, state

        changes = recent_changes(self.conversations)
        states = [state(c.change, self.memories.get(c.change.key)) for c in changes]
        self.app.call_from_thread(self._show_changes, changes, states)

    def _show_changes(self, changes: list[ReviewedChange], states: list[str]) -> None:
        table = self.changes_table
        index = table.cursor_row
        table.clear()
        self.changes = changes
        for i, (reviewed, found) in enumerate(zip(changes, states, strict=True)):
            change = reviewed.change
            style = "dim" if found != "current" else ""
            table.add_row(
                when(reviewed.at),
                reviewed.verb,
                KIND_NAMES[change.kind],
                Text(change.text, style=style, no_wrap=True, overflow="ellipsis"),
                STATE_NAMES.get(found, found),
                key=str(i),
            )
        if changes:
            table.move_cursor(row=min(index, len(changes) - 1), animate=False)
        tab = self.query_one(TabbedContent).get_tab("changes-tab")
        tab.label = f"What changed ({len(changes)})" if changes else "What changed"

    @on(DataTable.RowSelected, "#changes-table")
    def _change_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a change: show its memory in the table."""
        reviewed = self.changes[int(str(event.row_key.value))]
        key = reviewed.change.key
        if key not in self.catalog:
            self.notify("That memory has been deleted since.")
            return
        self.query_one(TabbedContent).active = "memories-tab"
        stored = self.catalog.get(key)
        if stored is not None and not stored.memory.active:
            self.history = True
        self.results = None
        self.search_box.value = ""
        self.render_rows(key, reach=True)
        self.table.focus()

    def undo_change(self) -> None:
        table = self.changes_table
        if not self.changes:
            self.notify("Nothing to undo.")
            return
        self.undo_reviewed(self.changes[table.cursor_row])

    @work(thread=True, exit_on_error=False, group="pane-write", name="Undoing the change")
    def undo_reviewed(self, reviewed: ReviewedChange) -> None:
        """Undo a change of a reflection (with its linked supersede or successor)."""
        from assistant.reflection.review import linked, undo

        group = linked(reviewed, self.changes)
        undo(self.memories, [r.change for r in group])
        self.app.call_from_thread(
            self.notify, f"{reviewed.verb.capitalize()} “{reviewed.change.text}”", title="Undone"
        )
        self.app.call_from_thread(self.refresh_keys, [r.change.key for r in group])
