"""The list of conversations, most recent first; it collapses (Ctrl+B on the
chat screen) so that the chat takes the whole width of a small terminal."""

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from assistant.conversations import Thread
from assistant.formats import local_time, terminal_safe


def shown_title(title: str) -> str:
    """A conversation's title as the sidebar shows it: on one line (runs of
    whitespace, new lines included, as one space) and without the control
    characters a terminal would act on (:func:`assistant.formats.terminal_safe`)."""
    return terminal_safe(" ".join(title.split()))


class ThreadItem(ListItem):
    """One conversation in the sidebar: its title on one line, cut with an
    ellipsis where the sidebar is narrower (the tooltip has it whole)."""

    def __init__(self, thread: Thread) -> None:
        title = shown_title(thread.title)
        super().__init__(
            Label(title, markup=False, classes="title"),
            id=f"thread-{thread.id}",
            classes="incognito" if thread.incognito else "",
        )
        self.thread = thread
        tip = f"{title}\nLast message {local_time(thread.updated_at)}"
        if thread.incognito:
            tip += "\nIncognito: nothing in it is remembered"
        self.tooltip = Text(tip)  # plain text: a title is never read as markup


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

    @property
    def collapsed(self) -> bool:
        """Whether the list is hidden (the CSS class ``collapsed``)."""
        return self.has_class("collapsed")

    def toggle_collapsed(self) -> None:
        """Hide the list, the chat taking its width, or show it again.

        A list that had the focus hands it on first, to the next widget of the
        screen's focus chain (the chat), so that no key goes to a hidden widget.
        """
        if not self.collapsed and self.has_focus_within:
            self.screen.focus_next()
        self.toggle_class("collapsed")

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
