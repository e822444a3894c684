"""The conversation: messages (replies as Markdown) and the multi-line input."""

from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Collapsible, Label, Markdown, Static, TextArea

from assistant.conversations import Message


class MemoryLink(Static, can_focus=True):
    """One memory used by a reply; clicking it (or Enter) opens it in the memory pane."""

    BINDINGS = [Binding("enter", "open", "Open in the memory pane", show=False)]

    @dataclass
    class Clicked(TextualMessage):
        """The user asked to see the memory ``key`` in the pane."""

        key: str

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"• {text}", classes="memory-link", markup=False)
        self.key = key
        self.tooltip = "Open in the memory pane"

    def on_click(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        self.post_message(self.Clicked(self.key))


class PastLink(Static, can_focus=True):
    """One past exchange recalled into a reply (conversation search): its date,
    conversation and words; clicking it (or Enter) opens that conversation."""

    BINDINGS = [Binding("enter", "open", "Open the conversation", show=False)]

    @dataclass
    class Clicked(TextualMessage):
        """The user asked to see the conversation ``thread_id``."""

        thread_id: str

    def __init__(self, thread_id: str, text: str) -> None:
        super().__init__(f"◦ {text}", classes="memory-link past-link", markup=False)
        self.thread_id = thread_id
        self.tooltip = "Open the conversation"

    def on_click(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        self.post_message(self.Clicked(self.thread_id))


def used_title(memories: int, past: int) -> str:
    """ "3 memories used", "1 memory and 2 past messages used"."""
    parts = []
    if memories or not past:
        parts.append(f"{memories} {'memory' if memories == 1 else 'memories'}")
    if past:
        parts.append(f"{past} past {'message' if past == 1 else 'messages'}")
    return " and ".join(parts) + " used"


class MemoriesUsed(Collapsible):
    """Under a reply: "3 memories used", expanding to their texts, each a link
    into the memory pane, and the past exchanges conversation search recalled
    ("and 1 past message"), each a link to its conversation.

    ``texts`` is ``None`` for a saved reply until the app looks them up by ``keys``
    (a saved reply keeps its memories, not its past exchanges).
    """

    def __init__(
        self,
        keys: list[str],
        texts: list[str] | None = None,
        past: list[tuple[str, str]] | None = None,
    ) -> None:
        self.past = past or []
        title = used_title(len(keys), len(self.past))
        super().__init__(Vertical(classes="memory-texts"), title=title)
        self.keys = keys
        self.texts = texts

    def on_mount(self) -> None:
        if self.texts is not None:
            self.show(self.texts)

    def show(self, texts: list[str]) -> None:
        """Fill in the texts of the memories."""
        self.texts = texts
        box = self.query_one(".memory-texts", Vertical)
        box.remove_children()
        box.mount_all(MemoryLink(key, text) for key, text in zip(self.keys, texts, strict=True))
        box.mount_all(PastLink(thread_id, text) for thread_id, text in self.past)


class MessageView(Vertical):
    """One message: who wrote it, the text, and a note when the reply failed or stopped."""

    def __init__(
        self,
        role: str,
        content: str = "",
        author: str | None = None,
        note: str | None = None,
        note_kind: str = "error",
        memory_keys: tuple[str, ...] = (),
        id: str | None = None,
    ) -> None:
        super().__init__(classes=f"message {role}", id=id)
        self.role = role
        self.content = content
        self.author = author or ("You" if role == "user" else "Assistant")
        self.note = note
        self.note_kind = note_kind
        self.memory_keys = memory_keys

    def compose(self) -> ComposeResult:
        yield Label(self.author, classes="author", markup=False)
        if self.role == "user":
            yield Static(self.content, classes="body", markup=False)
        else:
            yield Markdown(self.content, classes="body")
        visible = " visible" if self.note else ""
        yield Label(self.note or "", classes=f"note {self.note_kind}{visible}", markup=False)
        if self.memory_keys:
            yield MemoriesUsed(list(self.memory_keys))

    async def show_memories(
        self, keys: list[str], texts: list[str], past: list[tuple[str, str]] | None = None
    ) -> None:
        """Show the memories (and ``(thread_id, text)`` past exchanges) a reply used,
        replacing any shown."""
        await self.query(MemoriesUsed).remove()
        if keys or past:
            await self.mount(MemoriesUsed(keys, texts, past))

    @property
    def markdown(self) -> Markdown:
        """The body of a reply."""
        return self.query_one(Markdown)

    def set_note(self, text: str, kind: str = "error") -> None:
        """Show ``text`` under the message (``kind``: ``error`` or ``stopped``)."""
        note = self.query_one(".note", Label)
        note.update(text)
        note.set_classes(f"note {kind} visible")

    @classmethod
    def of(cls, message: Message) -> "MessageView":
        """A view of a saved message, with its failure note if it has one."""
        author = f"Assistant · {message.model}" if message.role == "assistant" else None
        note = None if message.status == "complete" else message.error or message.status
        kind = "stopped" if message.status == "cancelled" else "error"
        return cls(
            message.role,
            message.content,
            author,
            note,
            kind,
            message.memories_used,
            id=f"message-{message.id}",
        )


class Composer(TextArea):
    """Multi-line input: Enter sends, Alt+Enter or Ctrl+J adds a line.

    The keys are handled in the widget's own queue, in the order they were typed:
    as priority bindings they would run when the app reads them, ahead of the
    characters still queued for the box, and send a message cut short.
    """

    BINDINGS = [
        Binding("enter", "submit", "Send"),
        Binding("alt+enter,ctrl+j", "newline", "New line", show=False),
    ]
    NEWLINE_KEYS = frozenset({"alt+enter", "ctrl+j", "shift+enter"})

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" or event.key in self.NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            if event.key == "enter":
                self.action_submit()
            else:
                self.action_newline()
            return
        await super()._on_key(event)

    @dataclass
    class Submitted(TextualMessage):
        """The user pressed Enter with this text."""

        text: str

    def action_submit(self) -> None:
        self.post_message(self.Submitted(self.text))

    def take(self, sent: str) -> None:
        """Remove the text ``sent`` from the box, keeping what was typed after
        Enter in the same burst (it reached the box before the app sent)."""
        rest = self.text[len(sent) :] if self.text.startswith(sent) else ""
        self.load_text(rest)
        self.move_cursor(self.document.end)

    def action_newline(self) -> None:
        self.insert("\n")


class ChatLog(VerticalScroll):
    """The messages of one conversation, newest at the bottom."""

    @staticmethod
    def views(messages: list[Message]) -> list[Widget]:
        """The widgets that show ``messages``, or a hint when there are none."""
        if not messages:
            return [Static(EMPTY, classes="empty", markup=False)]
        return [MessageView.of(message) for message in messages]

    async def show(self, messages: list[Message]) -> None:
        """Replace the content with ``messages``."""
        await self.remove_children()
        await self.mount_all(self.views(messages))
        self.scroll_end(animate=False)

    async def add(self, view: MessageView) -> MessageView:
        """Append a message view and scroll to it."""
        await self.query(".empty").remove()
        await self.mount(view)
        self.scroll_end(animate=False)
        return view


EMPTY = (
    "Start typing below. Enter sends, Alt+Enter adds a line.\n"
    "Ctrl+N starts a new conversation, Ctrl+P lists every action."
)
