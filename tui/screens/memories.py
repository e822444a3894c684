"""The memory pane: what the assistant remembers, where it came from, what the
last reflections changed, and the means to correct it.

The screen puts three widgets together: the table (:class:`MemoryBrowser`:
loading, windowing, filter, sort, search), the detail view (:class:`MemoryDetail`)
and "What changed" (:class:`MemoryChanges`), which send messages up. The writes
are its mixin :class:`tui.screens.memory_edits.MemoryEdits`; background
reflections update the rows in place (:meth:`MemoryScreen.refresh_keys`). It fits
80x24: breakpoint classes (``-short``, ``-narrow``) in ``app.tcss``, and a
footer that leaves some keys out when narrow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from assistant.formats import terminal_safe
from assistant.memory.schemas import KIND_NAMES, KINDS, MemoryKind
from tui.screens.memory_edits import MemoryEdits
from tui.widgets.memory_browser import MemoryBrowser
from tui.widgets.memory_changes import MemoryChanges
from tui.widgets.memory_detail import MemoryDetail
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from assistant.memory.repository import Memories, StoredMemory
    from tui.screens.memory_form import MemoryFormScreen


#: Under this many columns the footer leaves out the command palette's key and
#: those of :data:`NARROW_FOOTER_OMITS`, so that what it shows fits 80 columns whole.
NARROW = 100
#: The actions whose keys a narrow footer leaves out: they still work, the key
#: panel of the command palette lists them, a click on a column's header sorts,
#: and the detail view says "g: go to the conversation".
NARROW_FOOTER_OMITS = {"cycle_sort", "toggle_history", "go_to_source"}


@dataclass
class OpenSource(Message):
    """The user asked to see the conversation (and message) a memory came from."""

    thread_id: str
    message_id: int | None


class MemoryScreen(MemoryEdits, Screen[None]):
    """Browse, search, edit and review memories (F3 from the chat).

    Args:
        memories: the user's memories.
        conversations: the conversation database (titles, the journal).
        thread_id: the conversation on screen in the chat (provenance of additions).
        select: the key of a memory to open the pane on.
    """

    #: Under 30 rows the screen is ``-short``: the search bar loses its borders
    #: and the detail view shrinks, so that the table keeps 10 rows or more.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    #: Under :data:`NARROW` columns the screen is ``-narrow``: the footer's keys
    #: are closer together, and some are left out (:attr:`active_bindings`).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (NARROW, "-wide")]

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
        self.deleted: list[StoredMemory] = []  # for undo, the last at the end
        self._restoring: dict[Worker[None], StoredMemory] = {}  # undo in progress
        self._form: MemoryFormScreen | None = None
        self.heading = Static("Memories · loading…", id="memory-heading", markup=False)
        self.search_box = Input(
            placeholder="Search by meaning or by words  ( / )", id="memory-search"
        )
        options = [("All kinds", "all")] + [(f"{KIND_NAMES[k]}s", k) for k in KINDS]
        self.kind_select = Select(options, value="all", allow_blank=False, id="memory-kind")
        self.browser = MemoryBrowser(memories, conversations, select)
        self.detail = MemoryDetail()
        self.changes = MemoryChanges(memories, conversations)

    def compose(self) -> ComposeResult:
        yield self.heading
        with Horizontal(id="memory-bar"):
            yield self.search_box
            yield self.kind_select
        with TabbedContent(id="memory-tabs"):
            with TabPane("Memories", id="memories-tab"), Vertical():
                yield self.browser
                yield self.detail
            with TabPane("What changed", id="changes-tab"):
                yield self.changes
        yield Footer()

    def on_mount(self) -> None:
        self._fit()
        self.browser.focus()
        self.browser.load()
        self.changes.load()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Lay the table and the footer out for the terminal's width (the rest
        follows the screen's breakpoint classes, in ``app.tcss``)."""
        width = self.app.size.width
        self.browser.lay_out(width)
        footer = self.query_one(Footer)
        wide = width >= NARROW
        if footer.show_command_palette != wide:
            footer.show_command_palette = wide  # Ctrl+P works all the same
            self.refresh_bindings()

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The screen's bindings, those of :data:`NARROW_FOOTER_OMITS` not shown in
        the footer under :data:`NARROW` columns (they still work)."""
        bindings = super().active_bindings
        if self.app.size.width >= NARROW:
            return bindings
        return {
            key: active._replace(binding=replace(active.binding, show=False))
            if active.binding.action in NARROW_FOOTER_OMITS
            else active
            for key, active in bindings.items()
        }

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

    # What the widgets say ------------------------------------------------------------

    @on(MemoryBrowser.Changed)
    def _listed(self) -> None:
        self.heading.update(terminal_safe(self.browser.summary()))  # quotes the search
        self._show_detail()

    @on(DataTable.RowHighlighted, "#memory-table")
    def _show_detail(self) -> None:
        self.detail.show(self.browser.selected(), self.browser.catalog)

    @on(MemoryBrowser.SearchDropped)
    def _search_dropped(self) -> None:
        self.search_box.value = ""

    @on(DataTable.RowSelected, "#memory-table")
    def _row_selected(self) -> None:
        self.action_edit()

    @on(MemoryChanges.Loaded)
    def _changes_loaded(self, event: MemoryChanges.Loaded) -> None:
        tab = self.query_one(TabbedContent).get_tab("changes-tab")
        tab.label = f"What changed ({event.count})" if event.count else "What changed"

    @on(MemoryChanges.Chosen)
    def _change_chosen(self, event: MemoryChanges.Chosen) -> None:
        """Enter on a change: show its memory in the table."""
        if event.key not in self.browser.catalog:
            self.notify("That memory has been deleted since.")
            return
        self.query_one(TabbedContent).active = "memories-tab"
        self.search_box.value = ""
        self.browser.show_at(event.key)
        self.browser.focus()

    def selected_key(self) -> str | None:
        """The key of the memory under the table's cursor."""
        return self.browser.selected_key()

    def selected(self) -> StoredMemory | None:
        """The memory under the table's cursor."""
        return self.browser.selected()

    # Filter, sort, search ----------------------------------------------------------

    @on(Select.Changed, "#memory-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self.browser.set_kind(None if event.value == "all" else event.value)  # type: ignore[arg-type]

    def action_cycle_kind(self) -> None:
        """All kinds, then facts, experiences, rules."""
        order: list[MemoryKind | None] = [None, *KINDS]
        following = order[(order.index(self.browser.kind) + 1) % len(order)]
        self.kind_select.value = following or "all"

    def action_cycle_sort(self) -> None:
        """Sort by the next column (newest, or A to Z, first)."""
        self.browser.cycle_sort()

    def action_toggle_history(self) -> None:
        """Show superseded and retired memories too, or not."""
        self.browser.toggle_history()

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
        self.browser.typed(event.value)

    @on(Input.Submitted, "#memory-search")
    def _submitted(self, event: Input.Submitted) -> None:
        self.browser.submitted(event.value)
        self.browser.focus()

    def action_go_to_source(self) -> None:
        """Open the conversation the memory came from, at its message."""
        stored = self._need_selection()
        if stored is None:
            return
        provenance = stored.memory.provenance
        if provenance.thread_id is None:
            self.notify("This memory was not formed in a conversation.")
            return
        if provenance.thread_id not in self.browser.catalog.titles:
            self.notify("The conversation it came from has been deleted.")
            return
        first = provenance.message_ids[0] if provenance.message_ids else None
        self.post_message(OpenSource(provenance.thread_id, first))

    def action_back(self) -> None:
        """Back to the chat (from the search box: back to the table first)."""
        if self.search_box.has_focus:
            self.browser.focus()
            return
        self.dismiss()

    def action_changes(self) -> None:
        """Switch between the memories and what the last reflections changed."""
        tabs = self.query_one(TabbedContent)
        tabs.active = "memories-tab" if tabs.active == "changes-tab" else "changes-tab"
        (self.browser if tabs.active == "memories-tab" else self.changes).focus()

    # Live updates ---------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="pane-load", name="Reading the changed memories")
    def refresh_keys(self, keys: list[str]) -> None:
        """Read ``keys`` again (a background reflection wrote them) and show them
        without moving the cursor or disturbing a form in progress."""
        got = self.memories.get_many(keys)
        found = {key: got.get(key) for key in dict.fromkeys(keys)}  # None: deleted
        self.app.call_from_thread(self._refreshed, found)

    def _refreshed(self, found: dict[str, StoredMemory | None]) -> None:
        browser = self.browser
        keep = browser.selected_key()
        gone = [key for key, stored in found.items() if stored is None and key in browser.catalog]
        present = [stored for stored in found.values() if stored is not None]
        browser.catalog.add(present)
        if gone:
            browser.drop(gone)
        listed = {r.key for r in browser.listed}
        if any(s.key not in listed for s in present) and browser.results is None:
            browser.render_rows(keep)
        else:
            for stored in present:
                browser.replace(stored)
        form = self._form
        if form is not None and form.stored is not None and form.stored.key in found:
            current = found[form.stored.key]
            if current is not None and current.memory != form.stored.memory:
                form.changed_meanwhile(current)
        self.changes.load()
