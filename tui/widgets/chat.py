"""The conversation: messages (replies as Markdown) and the multi-line input."""

import asyncio
import contextlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Collapsible, Label, Markdown, Static, TextArea

from assistant.conversations import Message
from assistant.formats import terminal_safe


class MemoryLink(Static, can_focus=True):
    """One memory used by a reply; clicking it (or Enter) opens it in the memory pane."""

    BINDINGS = [Binding("enter", "open", "Open in the memory pane", show=False)]

    @dataclass
    class Clicked(TextualMessage):
        """The user asked to see the memory ``key`` in the pane."""

        key: str

    def __init__(self, key: str, text: str) -> None:
        super().__init__(f"• {terminal_safe(text)}", classes="memory-link", markup=False)
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
        super().__init__(f"◦ {terminal_safe(text)}", classes="memory-link past-link", markup=False)
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


#: An opening code fence (CommonMark): up to 3 spaces, then 3 or more backticks
#: (with no backtick in the info string after them) or 3 or more tildes.
_OPENING = re.compile(r"^ {0,3}(?P<fence>`{3,}(?=[^`]*$)|~{3,})")


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence``: up to 3 spaces, the
    same character at least as many times, nothing else."""
    bare = line.strip()
    indent = len(line) - len(line.lstrip(" "))
    return indent <= 3 and bare.startswith(fence) and set(bare) == {fence[0]}


def fenced_parts(text: str) -> list[tuple[str, str]]:
    """A user's message cut into ``("text", words)`` and ``("code", block)`` parts.

    A block is a fenced code block as Markdown, fences included (a fence left open
    runs to the end, as in CommonMark, and is closed here). The words between
    blocks are kept as typed, less the blank lines next to a fence. A message with
    no fence is one ``("text", text)`` part. Only fences are read as Markdown:
    ``*``, ``#``, ``_`` or ``<`` in what people type stay their own characters.
    """
    parts: list[tuple[str, str]] = []
    lines: list[str] = []  # of the words, or of the block once ``fence`` is set
    fence = ""

    def end_part() -> None:
        chunk = "".join(lines).strip("\n")
        if fence:
            parts.append(("code", chunk))
        elif chunk.strip():
            parts.append(("text", chunk))
        lines.clear()

    for line in text.splitlines(keepends=True):
        if fence:
            lines.append(line)
            if _closes(line, fence):
                end_part()
                fence = ""
        elif match := _OPENING.match(line):
            end_part()
            fence = match["fence"]
            lines.append(line)
        else:
            lines.append(line)
    if fence:  # left open: closed at the end
        lines.append(fence if lines[-1].endswith("\n") else "\n" + fence)
    end_part()
    return parts if any(kind == "code" for kind, _ in parts) else [("text", text)]


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
        content = terminal_safe(self.content)  # escape bytes shown, never sent on
        if self.role != "user":
            yield Markdown(content, classes="body")
        elif (parts := fenced_parts(content)) == [("text", content)]:
            yield Static(content, classes="body", markup=False)
        else:  # the fenced blocks as code (highlighted), the rest as typed
            yield Vertical(
                *(
                    Markdown(part, classes="code") if kind == "code" else Static(part, markup=False)
                    for kind, part in parts
                ),
                classes="body",
            )
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


class _Key(StrEnum):
    """Keys Textual's input parser does not name (see :func:`recognise_alt_enter`)."""

    ALT_ENTER = "alt+enter"


#: What terminals send for Alt+Enter without the kitty keyboard protocol: ESC CR
#: (tmux with or without ``extended-keys``, xterm, VTE, Konsole, Windows Terminal).
ALT_ENTER = "\x1b\r"


def recognise_alt_enter() -> None:
    """Make Textual report ESC CR as the key ``alt+enter``; idempotent.

    Textual 8 reads ESC CR as plain ``enter``: its parser waits ``ESCDELAY``
    (100 ms), then drops the Alt of any key in its table of sequences
    (``_xterm_parser._sequence_to_key_events``), so Alt+Enter under tmux sent the
    message. An entry in that table (upstream: Textualize/textual#6577) makes it
    ``alt+enter`` at once. Pressing Esc and then Enter within ``ESCDELAY`` reads the
    same way, as it does in every terminal program that uses ESC as Meta.
    """
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    table = cast("dict[str, object]", ANSI_SEQUENCES_KEYS)
    table.setdefault(ALT_ENTER, (_Key.ALT_ENTER,))


class Composer(TextArea):
    """Multi-line input: Enter sends; Ctrl+J adds a line, and so do Alt+Enter and
    Shift+Enter where the terminal tells them from Enter.

    Ctrl+J (LF) works in every terminal. Alt+Enter arrives as ESC CR in tmux, xterm,
    VTE, Konsole and Windows Terminal (:func:`recognise_alt_enter`), or as CSI 13;3u
    in terminals speaking the kitty keyboard protocol (kitty, WezTerm, foot,
    Ghostty); macOS Terminal sends plain Enter for it unless Option is set to act as
    Meta. Shift+Enter is told apart only with the kitty protocol (CSI 13;2u): tmux
    3.3 sends it only to programs that ask for ``modifyOtherKeys``, which Textual
    does not; elsewhere it is plain Enter, and sends.

    The keys are handled in the widget's own queue, in the order they were typed:
    as priority bindings they would run when the app reads them, ahead of the
    characters still queued for the box, and send a message cut short. Enter
    posts :class:`Submitted` to the screen and waits (at most
    :attr:`HANDLING_TIMEOUT`) until the screen has handled it before it reads the
    next key: the screen takes the text out of the box (:meth:`take`) or leaves
    it there, refused, and the next Enter sends what is in the box then. Without
    the wait, a burst of "text, Enter, more text, Enter" sent the first text twice
    (the second Enter read a box the screen had not yet taken the first text
    from). A paste (bracketed: one event) is inserted as it came; its line ends
    (CR from tmux, CRLF) become newlines.
    """

    BINDINGS = [
        Binding("enter", "submit", "Send"),
        Binding("ctrl+j,alt+enter,shift+enter", "newline", "New line", show=False),
    ]
    NEWLINE_KEYS = frozenset({"alt+enter", "ctrl+j", "shift+enter"})
    HANDLING_TIMEOUT = 2.0
    """Seconds Enter waits for the screen to handle the text sent before it."""

    def on_mount(self) -> None:
        recognise_alt_enter()
        self._handled = asyncio.Event()
        self._handled.set()

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" or event.key in self.NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            if event.key == "enter":
                await self._submit()
            else:
                self.action_newline()
            return
        await super()._on_key(event)

    async def _submit(self) -> None:
        """Post the text to the screen, and wait until the screen has handled it."""
        self.action_submit()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._handled.wait(), self.HANDLING_TIMEOUT)

    @dataclass
    class Submitted(TextualMessage):
        """The user pressed Enter with this text."""

        text: str

    def action_submit(self) -> None:
        """Send the text to the screen: straight to its queue, followed there by a
        callback that says it has been handled (a message bubbling up would reach
        the screen after the callback)."""
        self._handled.clear()
        screen = self.screen
        screen.post_message(self.Submitted(self.text))
        if not screen.call_later(self._handled.set):
            self._handled.set()

    def take(self, sent: str) -> None:
        """Remove the text ``sent`` from the start of the box, keeping what was
        typed after Enter (it reached the box before the message was saved). A box
        that no longer starts with ``sent`` (edited meanwhile) is left as it is:
        better a line to delete than a lost one."""
        if not self.text.startswith(sent):
            return
        self.load_text(self.text[len(sent) :])
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
    "Start typing below. Enter sends; Ctrl+J adds a line (Alt+Enter too, in most terminals).\n"
    "Ctrl+N starts a new conversation, Ctrl+P lists every action."
)
