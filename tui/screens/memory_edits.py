"""The memory pane's writes: add and edit (in a form), pin, mute, delete, and
undo (a deletion, or a change of a reflection).

A mixin of :class:`tui.screens.memories.MemoryScreen` (its workers run on that
screen, whose ``Worker.StateChanged`` tells their failures). Every write runs
in a thread worker and updates the copy and the row in place, so the cursor
stays where it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.widgets import TabbedContent

from assistant.formats import terminal_safe
from assistant.memory.schemas import KIND_NAMES
from tui.notices import notify_plain
from tui.screens.dialogs import ConfirmScreen
from tui.screens.memory_form import MemoryFormScreen

if TYPE_CHECKING:
    from textual.app import App
    from textual.worker import Worker

    from assistant.memory.repository import Memories, StoredMemory
    from assistant.reflection.review import ReviewedChange
    from tui.notices import Notifies
    from tui.widgets.memory_browser import MemoryBrowser
    from tui.widgets.memory_changes import MemoryChanges


class MemoryEdits:
    """The pane's actions that write memories, and their undo."""

    if TYPE_CHECKING:  # what the screen gives

        @property
        def app(self) -> App[object]: ...

        memories: Memories
        thread_id: str | None
        browser: MemoryBrowser
        changes: MemoryChanges
        deleted: list[StoredMemory]
        _restoring: dict[Worker[None], StoredMemory]
        _form: MemoryFormScreen | None

        notify = Notifies.notify  # Textual's

        def selected(self) -> StoredMemory | None: ...
        def refresh_keys(self, keys: list[str]) -> object: ...
        def query_one(self, selector: type[TabbedContent]) -> TabbedContent: ...

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
            notify_plain(self, f"{done} {stored.text}", title="Memory")

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
        notify_plain(self, what, title=saved.text[:60])

    def action_delete(self) -> None:
        """Delete the memory under the cursor, after asking; u brings it back."""
        stored = self._need_selection()
        if stored is None:
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self.delete(stored)

        text = terminal_safe(stored.text)
        question = f"Delete this {KIND_NAMES[stored.kind]}?\n\n“{text}”\n\n(u undoes it)"
        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, exit_on_error=False, group="pane-write", name="Deleting the memory")
    def delete(self, stored: StoredMemory) -> None:
        """Delete ``stored`` (it stays on the undo list)."""
        self.memories.delete([stored.key])
        self.app.call_from_thread(self._deleted, stored)

    def _deleted(self, stored: StoredMemory) -> None:
        self.deleted.append(stored)
        self.browser.drop([stored.key])
        notify_plain(self, f"Deleted “{stored.text}”. Press u to undo.", title="Memory deleted")

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
        notify_plain(self, f"Restored “{stored.text}”.", title="Undone")

    @work(thread=True, exit_on_error=False, group="pane-write", name="Undoing the change")
    def undo_reviewed(self, reviewed: ReviewedChange) -> None:
        """Undo a change of a reflection (with its linked supersede or successor)."""
        from assistant.reflection.review import linked, undo

        group = linked(reviewed, self.changes.changes)
        undo(self.memories, [r.change for r in group])
        said = f"{reviewed.verb.capitalize()} “{reviewed.change.text}”"
        self.app.call_from_thread(notify_plain, self, said, title="Undone")
        self.app.call_from_thread(self.refresh_keys, [r.change.key for r in group])
