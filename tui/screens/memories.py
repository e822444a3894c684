"""The memory pane: what the assistant remembers, where it came from, what the
last reflections changed, and the means to correct it.

The screen puts three widgets together: the table (:class:`MemoryBrowser`:
loading, windowing, filter, sort, search), the detail view (:class:`MemoryDetail`)
and "What changed" (:class:`MemoryChanges`), which send messages up. It keeps
the writes: every write runs in a thread worker and updates the copy and the
row in place, so the cursor stays where it was; so do background reflections
(:meth:`MemoryScreen.refresh_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from assistant.memory.schemas import KIND_NAMES, KINDS, MemoryKind
from tui.screens.dialogs import ConfirmScreen
from tui.screens.memory_form import MemoryFormScreen
from tui.widgets.memory_browser import MemoryBrowser
from tui.widgets.memory_changes import MemoryChanges
from tui.widgets.memory_detail import MemoryDetail
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from assistant.memory.repository import Memories, StoredMemory
    from assistant.reflection.review import ReviewedChange


@dataclass
class OpenSource(Message):
    """The user asked to see the conversation (and message) a memory came from."""

    thread_id: str
    message_id: int | None


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
        self.browser.lay_out(self.app.size.width)
        self.browser.focus()
        self.browser.load()
        self.changes.load()

    def on_resize(self) -> None:
        self.browser.lay_out(self.app.size.width)

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
        self.heading.update(self.browser.summary())
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

    # Writes --------------------------------------------------------------------------

    def _need_selection(self) -> StoredMemory | None:
        stored = self.selected()
        if stored is None:
            self.notify("No memory is selected.")
        return stored

    def action_add(self) -> None:
        """Write a memory by hand, in a form."""
        kind = self.browser.kind or "semantic"
        self._open_form(MemoryFormScreen(self.memories, kind, thread_id=self.thread_id), "Added.")

    def action_edit(self) -> None:
        """Change the memory under the cursor, in a form."""
        if (stored := self._need_selection()) is not None:
            self._open_form(MemoryFormScreen(self.memories, stored=stored), "Saved.")

    def _open_form(self, form: MemoryFormScreen, done: str) -> None:
        def saved(stored: StoredMemory | None) -> None:
            self._form = None
            if stored is None:
                return
            browser = self.browser
            if stored.key not in browser.catalog:
                browser.catalog.add([stored])
                browser.results = None
                browser.render_rows(stored.key, reach=True)
            else:
                browser.replace(stored)
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
        """Pin or mute ``stored`` (``field``), or not (``on``)."""
        from assistant.memory.editing import edit

        saved = edit(self.memories, stored.key, {field: on})
        self.app.call_from_thread(self._marked, saved, field, on)

    def _marked(self, saved: StoredMemory, field: str, on: bool) -> None:
        self.browser.replace(saved)
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
        """Delete ``stored`` (it stays on the undo list)."""
        self.memories.delete([stored.key])
        self.app.call_from_thread(self._deleted, stored)

    def _deleted(self, stored: StoredMemory) -> None:
        self.deleted.append(stored)
        self.browser.drop([stored.key])
        self.notify(f"Deleted “{stored.text}”. Press u to undo.", title="Memory deleted")

    def action_undo(self) -> None:
        """Undo: on "What changed", the change under the cursor; else the last deletion."""
        if self.query_one(TabbedContent).active == "changes-tab":
            if (reviewed := self.changes.selected()) is None:
                self.notify("Nothing to undo.")
            else:
                self.undo_reviewed(reviewed)
            return
        if not self.deleted:
            self.notify("Nothing to undo.")
            return
        stored = self.deleted.pop()
        self._restoring[self.restore(stored)] = stored

    @work(thread=True, exit_on_error=False, group="pane-write", name="Restoring the memory")
    def restore(self, stored: StoredMemory) -> None:
        """Write a deleted memory back, as it was."""
        self.memories.put(stored.key, stored.memory)
        self.app.call_from_thread(self._restored, stored)

    def _restored(self, stored: StoredMemory) -> None:
        self.browser.catalog.add([stored])
        self.browser.render_rows(stored.key, reach=True)
        self.notify(f"Restored “{stored.text}”.", title="Undone")

    @work(thread=True, exit_on_error=False, group="pane-write", name="Undoing the change")
    def undo_reviewed(self, reviewed: ReviewedChange) -> None:
        """Undo a change of a reflection (with its linked supersede or successor)."""
        from assistant.reflection.review import linked, undo

        group = linked(reviewed, self.changes.changes)
        undo(self.memories, [r.change for r in group])
        self.app.call_from_thread(
            self.notify, f"{reviewed.verb.capitalize()} “{reviewed.change.text}”", title="Undone"
        )
        self.app.call_from_thread(self.refresh_keys, [r.change.key for r in group])

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
