"""The chat screen: conversations on the left, the chat on the right.

Streaming a reply runs in an async worker, so the screen stays responsive while
the model writes; reads and writes of memories run in thread workers, and every
worker's failure is told by one ``Worker.StateChanged`` handler. The user's
message leaves the box once it is saved (a failed save keeps it there). Around
the conversation and its replies, mixins hold the rest: the commands on memories
(:mod:`tui.screens.chat_commands`), the status line and the start-up notice
(:mod:`tui.screens.chat_status`), the messages sent while the model loads
(:mod:`tui.screens.chat_queue`) and where typing goes (:mod:`tui.screens.chat_focus`).
"""

from collections.abc import Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Markdown
from textual.worker import Worker, WorkerState

from assistant.commands import Command, parse_command
from assistant.errors import AssistantError, StorageError
from assistant.formats import local_time, terminal_safe
from tui.messages import ReflectionDone
from tui.notices import notify_plain
from tui.screens.chat_commands import MemoryCommands
from tui.screens.chat_focus import TypingFocus
from tui.screens.chat_queue import Turn, Waiting, WaitingMessages
from tui.screens.chat_status import ChatStatus
from tui.screens.dialogs import ConfirmScreen, PromptScreen
from tui.widgets.chat import ChatLog, Composer, MemoriesUsed, MemoryLink, MessageView, PastLink
from tui.widgets.sidebar import ThreadItem, ThreadList
from tui.widgets.status import StartupNotice, StatusBar
from tui.workers import tell_failure

if TYPE_CHECKING:
    from assistant.conversations import ConversationStore, Message
    from assistant.memory.recall import RecalledExchange
    from tui.app import AssistantApp


class ChatScreen(MemoryCommands, ChatStatus, WaitingMessages, TypingFocus, Screen[None]):
    """The conversations and the chat; the app's first screen. Its keys are off
    while another screen (the memory pane, a dialog) is on top. The footer shows
    the keys that fit in 80 columns; every action is in the palette (Ctrl+P)."""

    BINDINGS = [
        Binding("ctrl+n", "new_thread", "New"),  # in typing order, not ahead of keys
        Binding("f2", "rename_thread", "Rename", show=False),
        Binding("f8", "delete_thread", "Delete", show=False),
        Binding("f4", "toggle_incognito", "Incognito"),
        Binding("f3", "memories", "Memories"),
        Binding("f5", "reflect", "Reflect", show=False),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar"),
        Binding("escape", "stop_reply", "Stop reply", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.thread_id: str | None = None
        self.new_thread_incognito = False  # for the conversation not saved yet
        self._private: dict[str, bool] = {}  # incognito, read once per thread
        self._turn: Turn | None = None  # the message being sent, and its reply
        self._waiting: list[Waiting] = []  # sent before the model was ready
        self._notice_lines: list[str] = []  # the start-up notice above the chat

    @property
    def assistant(self) -> "AssistantApp":
        """The app, with its parts (session, memories, scheduler)."""
        return cast("AssistantApp", self.app)

    @property
    def store(self) -> "ConversationStore":
        """The conversation database."""
        return self.assistant.store

    def compose(self) -> ComposeResult:
        # The first screen is complete in one pass: the latest conversation is open.
        threads = self.store.list_threads()
        self.thread_id = threads[0].id if threads else None
        messages = self.store.messages(self.thread_id) if self.thread_id else []
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            items = [ThreadItem(thread) for thread in threads]
            yield ThreadList(*items, id="sidebar", initial_index=0 if items else None)
            with Vertical(id="chat"):
                yield StartupNotice(id="notice", markup=False)
                yield ChatLog(*ChatLog.views(messages), id="log")
                yield Composer(id="composer", placeholder="Message (Enter sends)")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ChatLog).scroll_end(animate=False)
        self.query_one(Composer).focus()
        self._start_clock()
        self.set_interval(1.0, self._tick)

    @on(ReflectionDone)
    def _reflection_done(self, event: ReflectionDone) -> None:
        """Say how a reflection went (it then bubbles to the app, which refreshes
        the memory pane)."""
        self._show_state()
        self.tell_reflection(event)

    # Conversations ---------------------------------------------------------

    async def open_thread(self, thread_id: str | None) -> None:
        """Show ``thread_id`` (or an empty new conversation) and highlight it in the
        sidebar; messages waiting for the model go back to the box."""
        self.take_back_waiting("Not sent: another conversation was opened.")
        self.thread_id = thread_id
        self.new_thread_incognito = False
        self.status_bar.due = None
        if self.assistant.scheduler is not None:
            self.read_due(thread_id)
        messages = self.store.messages(thread_id) if thread_id else []
        await self.query_one(ChatLog).show(messages)
        self.query_one(ThreadList).highlight(thread_id)
        self._show_state()

    async def refresh_threads(self) -> None:
        await self.query_one(ThreadList).show(self.store.list_threads(), self.thread_id)

    async def show_message(self, thread_id: str, message_id: int | None) -> None:
        """Open ``thread_id`` at ``message_id``, highlighted a few seconds (the
        source of a memory)."""
        await self.open_thread(thread_id)
        if message_id is None:
            return
        views = self.query(f"#message-{message_id}")
        if not views:
            self.notify("That message has been deleted since.")
            return
        view = views.first()
        self.query_one(ChatLog).scroll_to_widget(view, animate=False, top=True)
        view.add_class("found")
        self.set_timer(4, lambda: view.remove_class("found"))

    @on(ThreadList.Opened)
    async def _thread_opened(self, event: ThreadList.Opened) -> None:
        if event.thread_id != self.thread_id:
            await self.open_thread(event.thread_id)
        self.query_one(Composer).focus()

    async def action_new_thread(self) -> None:
        """Start a conversation; it is saved when its first message is sent."""
        await self.open_thread(None)
        self.query_one(Composer).focus()

    def action_rename_thread(self) -> None:
        if self.thread_id is None:
            self.notify("Send a message first: this conversation is not saved yet.")
            return
        thread = self.store.get_thread(self.thread_id)

        async def rename(title: str | None) -> None:
            if title is None:
                return
            try:
                self.store.rename_thread(thread.id, title)
            except AssistantError as exc:
                notify_plain(self, str(exc), severity="error")
            await self.refresh_threads()

        self.app.push_screen(PromptScreen("Rename the conversation:", thread.title), rename)

    def action_delete_thread(self) -> None:
        if self.thread_id is None:
            return
        if self._replying:
            self.notify("A reply is being written: press Esc to stop it first.")
            return
        thread = self.store.get_thread(self.thread_id)

        async def delete(confirmed: bool | None) -> None:
            if not confirmed:
                return
            self.assistant.runtime.delete_thread(thread.id)  # and from conversation search
            notify_plain(self, f"Deleted “{thread.title}”.")
            await self.refresh_threads()
            remaining = self.store.list_threads(limit=1)
            await self.open_thread(remaining[0].id if remaining else None)

        question = f"Delete “{thread.title}” and all its messages? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question), delete)

    # Replies ---------------------------------------------------------------

    @property
    def _replying(self) -> bool:
        return any(w.group == "reply" and w.is_running for w in self.workers)

    @on(Composer.Submitted)
    async def send(self, event: Composer.Submitted) -> None:
        """Send the composer's text in the current conversation, or run its command;
        before the model is ready, the message waits for it in the log."""
        try:
            parsed = parse_command(event.text)
        except AssistantError as exc:
            notify_plain(self, str(exc), severity="error")
            return
        if isinstance(parsed, Command):
            if await self.run_command(parsed):
                self.query_one(Composer).take(event.text)
            return
        if problem := self.assistant.backend_error:
            self.notify(f"{problem} Your text stays in the box.", severity="warning", markup=False)
            return
        if self.assistant.session is None or self._waiting:
            await self.queue_message(event.text, parsed)
            return
        if self._replying:
            self.notify("Wait for the reply to finish, or press Esc to stop it.")
            return
        self.start_turn(parsed, typed=event.text, waiting=None)

    def start_turn(self, text: str, *, typed: str | None, waiting: MessageView | None) -> bool:
        """Send ``text``: the reply is streamed in a worker, which takes ``typed``
        out of the box (or replaces the ``waiting`` view) once the message is
        saved. ``False``: refused (empty, too long, the new conversation could not
        be saved), said, and nothing sent."""
        session = self.assistant.session
        assert session is not None
        try:
            text = session.check_message(text)
            thread_id = self._save_new_thread()
        except AssistantError as exc:
            lost = "Nothing was saved: " if isinstance(exc, StorageError) else ""
            self.notify(f"{lost}{exc}", severity="error", markup=False)
            return False
        self._turn = turn = Turn(thread_id, text, typed, waiting)
        self._show_state()  # thinking…, until the first token
        self.stream_reply(turn)
        return True

    def _save_new_thread(self) -> str:
        """The current thread's id, saving the new conversation first if need be.

        Raises:
            StorageError: the database cannot be written.
        """
        if self.thread_id is None:
            thread = self.store.create_thread()
            if self.new_thread_incognito:
                self.store.set_incognito(thread.id, True)
            self.thread_id, self.new_thread_incognito = thread.id, False
        return self.thread_id

    async def _show_turn(self, turn: Turn, saved: "Message", model: str) -> MessageView:
        """The message is saved: out of the box, into the log (where it waited,
        if it did), with the view of ``model``'s reply under it, returned."""
        log = self.query_one(ChatLog)
        user = MessageView("user", saved.content, id=f"message-{saved.id}")
        turn.reply = reply = MessageView("assistant", author=f"Assistant · {model}")
        if turn.typed is not None:
            self.query_one(Composer).take(turn.typed)
        if turn.waiting is not None and turn.waiting.is_attached:
            await log.mount(user, before=turn.waiting)
            await turn.waiting.remove()
            await log.mount(reply, after=user)
        elif turn.thread_id == self.thread_id:  # else another conversation is open
            await log.add(user)
            await log.add(reply)
        log.scroll_end(animate=False)
        return reply

    @work(exclusive=True, group="reply", exit_on_error=False, name="The reply")
    async def stream_reply(self, turn: Turn) -> None:
        from assistant.session import (
            MemoriesRecalled,
            ReplyFinished,
            ReplyToken,
            RulesSaved,
            UserMessageSaved,
        )

        session = self.assistant.session
        assert session is not None
        chat = self.query_one(ChatLog)
        view: MessageView | None = None
        stream = None
        finished = None
        try:
            async with aclosing(session.send(turn.thread_id, turn.text)) as events:
                async for event in events:
                    if isinstance(event, UserMessageSaved):
                        turn.saved = True
                        view = await self._show_turn(turn, event.message, session.choice.model)
                        if view.is_attached:
                            stream = Markdown.get_stream(view.markdown)
                        await self.refresh_threads()
                    elif view is None:
                        continue
                    elif isinstance(event, RulesSaved):
                        saved = " ".join(event.rules)
                        self.notify(
                            f"{saved} (applies from this reply on)",
                            title="Rule saved",
                            markup=False,
                        )
                    elif isinstance(event, MemoriesRecalled):
                        if event.error:
                            self.notify(event.error, title="No memories this turn", timeout=10)
                        used, past = event.context.memories, event.context.exchanges
                        if (used or past) and view.is_attached:
                            await view.show_memories(
                                [m.key for m in used], [m.text for m in used], past_links(past)
                            )
                    elif isinstance(event, ReplyToken):
                        if not turn.started:
                            turn.started = True
                            self._show_state()
                        if stream is not None and view.is_attached:
                            await stream.write(terminal_safe(event.text))
                            chat.scroll_end(animate=False)
                    elif isinstance(event, ReplyFinished):
                        finished = event.message
        except StorageError as exc:
            if turn.saved:
                raise
            self.give_back(turn, f"Nothing was saved: {exc}", "error")  # a full disk
            return
        finally:
            if stream is not None:
                await stream.stop()
        if finished is not None and finished.error and view is not None and view.is_attached:
            # Stopped by the repetition guard: show the reply as saved, loop cut off.
            await view.markdown.update(terminal_safe(finished.content))
            view.set_note(finished.error, "stopped")

    def action_stop_reply(self) -> None:
        """Stop the reply being written (what was written so far is kept), and
        take the messages waiting for the model back into the box."""
        self.take_back_waiting("Not sent.")
        self.workers.cancel_group(self, "reply")

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's failure is told here (titled by its name); a reply's end
        also leaves a note under it, schedules the reflection, and sends the next
        waiting message."""
        problem = tell_failure(event)
        if event.worker.group != "reply" or not event.worker.is_finished:
            if problem is not None:
                self._show_state()
            return
        turn, self._turn = self._turn, None
        view = turn.reply if turn is not None else None
        if view is not None and not view.is_attached:  # another conversation is open
            view = None
        if self.assistant.scheduler is not None and turn is not None and turn.saved:
            self.schedule_reflection(turn.thread_id)  # whatever the reply's fate
        self._show_state()
        if turn is not None and not (turn.saved or turn.given_back):
            self.give_back(turn, "Not sent.")  # stopped, or failed, before it was saved
        if event.state == WorkerState.CANCELLED and view is not None:
            view.set_note("Stopped. The partial reply is saved.", "stopped")
        elif problem is not None and view is not None:
            view.set_note(problem)
        if event.state != WorkerState.CANCELLED:
            self.send_waiting()

    @on(MemoriesUsed.Expanded)
    def _memories_expanded(self, event: MemoriesUsed.Expanded) -> None:
        """A saved reply's memories are looked up when first shown; typing goes on
        in the box."""
        self.focus_composer()
        widget = event.collapsible
        if isinstance(widget, MemoriesUsed) and widget.texts is None:
            self.look_up_memories(widget)

    @work(thread=True, exit_on_error=False, group="memories", name="Looking up the memories used")
    def look_up_memories(self, widget: MemoriesUsed) -> None:
        """Read the texts of a reply's memories (Chroma blocks: off the event loop)."""
        memories = self.assistant.memories
        texts = []
        for key in widget.keys:
            found = memories.get(key) if memories else None
            texts.append(found.text if found else "(deleted since)")
        self.app.call_from_thread(widget.show, texts)

    @on(PastLink.Clicked)
    async def _past_clicked(self, event: PastLink.Clicked) -> None:
        event.stop()
        await self.open_thread(event.thread_id)
        self.focus_composer()

    @on(MemoryLink.Clicked)
    def _memory_clicked(self, event: MemoryLink.Clicked) -> None:
        self.action_memories(select=event.key)

    def action_toggle_sidebar(self) -> None:
        """Hide the conversations, the chat taking their width (80 columns), or show them."""
        toggle = getattr(self.query_one(ThreadList), "toggle_collapsed", None)
        if toggle is not None:  # tui/widgets/sidebar.py gives it
            toggle()

    # Incognito ---------------------------------------------------------------

    @property
    def incognito(self) -> bool:
        """Whether the conversation on screen is private."""
        if self.thread_id is None:
            return self.new_thread_incognito
        if self.thread_id not in self._private:  # not every second (the status line)
            self._private[self.thread_id] = self.store.get_thread(self.thread_id).incognito
        return self._private[self.thread_id]

    def action_toggle_incognito(self) -> None:
        """Make the conversation on screen private (nothing in it remembered, no
        memories recalled into it), or not."""
        private = not self.incognito
        try:
            if self.thread_id is None:
                self.new_thread_incognito = private
            else:
                self.assistant.runtime.set_incognito(self.thread_id, private)
                self._private[self.thread_id] = private
        except AssistantError as exc:
            notify_plain(self, str(exc), severity="error")
            return
        if private:
            self.notify(
                "Nothing said here is remembered, and no memories are recalled into it.",
                title="Incognito",
            )
        else:
            self.notify(
                "Memories are recalled again; what was said in private stays forgotten.",
                title="Incognito off",
            )
        self._show_state()
        self.call_later(self.refresh_threads)


def past_links(exchanges: "Sequence[RecalledExchange]") -> list[tuple[str, str]]:
    """``(thread_id, "2026-03-10 · Title: the words")`` for each past exchange."""
    links = []
    for recalled in exchanges:
        exchange = recalled.exchange
        match = next(m for m in exchange.messages if m.id == exchange.message_id)
        words = " ".join(match.content.split())
        words = words if len(words) <= 80 else words[:79].rsplit(" ", 1)[0] + "…"
        when = local_time(exchange.when)[:10]
        links.append((exchange.thread.id, f"{when} · {exchange.thread.title}: {words}"))
    return links
