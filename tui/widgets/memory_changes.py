"""The memory pane's "What changed": the changes of the last reflections, newest
first, each with whether it still holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker

from assistant.formats import terminal_safe
from assistant.memory.schemas import KIND_NAMES
from tui.widgets.memory_browser import when
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore
    from assistant.memory.repository import Memories
    from assistant.reflection.review import ReviewedChange

STATE_NAMES = {"current": "", "undone": "undone", "changed since": "changed since"}


class MemoryChanges(DataTable[str | Text]):
    """One row per change; posts :class:`Loaded` after each reading and
    :class:`Chosen` on Enter. Every cell is a ``Text`` (a string cell would be
    read as markup), the memory's text made safe for a terminal.

    Args:
        memories: the user's memories (whether each change still holds).
        conversations: the conversation database (the reflection journal).
    """

    @dataclass
    class Loaded(Message):
        """The changes were read again: ``count`` of them."""

        count: int

    @dataclass
    class Chosen(Message):
        """Enter on a change: show the memory ``key`` in the table."""

        key: str

    def __init__(self, memories: Memories, conversations: ConversationStore) -> None:
        super().__init__(id="changes-table", cursor_type="row", zebra_stripes=True)
        self.memories = memories
        self.conversations = conversations
        self.changes: list[ReviewedChange] = []

    def on_mount(self) -> None:
        for label, key, width in (
            ("When", "when", 16),
            ("What", "what", 9),
            ("Kind", "kind", 10),
            ("Memory", "text", 56),
            ("", "state", 13),
        ):
            self.add_column(label, key=key, width=width)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        tell_failure(event)

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="pane-changes",
        name="Reading what changed",
    )
    def load(self) -> None:
        """The changes of the last reflections, newest first, with whether each holds."""
        from assistant.reflection.review import recent_changes, state

        changes = recent_changes(self.conversations)
        states = [state(c.change, self.memories.get(c.change.key)) for c in changes]
        self.app.call_from_thread(self._show, changes, states)

    def _show(self, changes: list[ReviewedChange], states: list[str]) -> None:
        index = self.cursor_row
        self.clear()
        self.changes = changes
        for i, (reviewed, found) in enumerate(zip(changes, states, strict=True)):
            change = reviewed.change
            style = "dim" if found != "current" else ""
            self.add_row(
                when(reviewed.at),
                reviewed.verb,
                KIND_NAMES[change.kind],
                Text(terminal_safe(change.text), style=style, no_wrap=True, overflow="ellipsis"),
                STATE_NAMES.get(found, found),
                key=str(i),
            )
        if changes:
            self.move_cursor(row=min(index, len(changes) - 1), animate=False)
        self.post_message(self.Loaded(len(changes)))

    def selected(self) -> ReviewedChange | None:
        """The change under the cursor."""
        return self.changes[self.cursor_row] if self.changes else None

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        reviewed = self.changes[int(str(event.row_key.value))]
        self.post_message(self.Chosen(reviewed.change.key))
