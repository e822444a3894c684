"""The list of conversations, most recent first."""

from dataclasses import dataclass

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from assistant.conversations import Thread
from assistant.formats import local_time


class ThreadItem(ListItem):
    """One conversation in the sidebar."""

    def __init__(self, thread: Thread) -> None:
        super().__init__(
            Label(thread.title, markup=False),
            id=f"thread-{thread.id}",
            classes="incognito" if thread.incognito else "",
        )
        self.thread = thread
        self.tooltip = f"Last message {local_time(thread.updated_at)}"
        if thread.incognito:
            self.tooltip += "\nIncognito: nothing in it is remembered"


class ThreadList(ListView):
    """Conversations; picking one posts :class:`ThreadList.Opened`."""

    BINDINGS = [
        Binding("delete", "screen.delete_thread", "Delete", show=False),
        Binding("r", "screen.rename_thread", "Rename", show=False),
    ]

    @dataclass
    class Opened(Message):
        """The user picked a conversation."""

        thread_id: str

    async def show(self, threads: list[Thread], current: str | None) -> None:
        """Replace the items with ``threads`` and highlight ``current``."""
        await self.clear()
        await self.extend(ThreadItem(thread) for thread in threads)
        self.highlight(current)

    def highlight(self, thread_id: str | None) -> None:
        """Highlight the item of ``thread_id``; none for ``None`` or an unknown id."""
        ids = [item.thread.id for item in self.query(ThreadItem)]
        self.index = ids.index(thread_id) if thread_id in ids else None

    @on(ListView.Selected)
    def _opened(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, ThreadItem):
            self.post_message(self.Opened(event.item.thread.id))
